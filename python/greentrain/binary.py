"""Finds the greentrain executable the package talks to.

Order: the GREENTRAIN_BIN environment variable, then `greentrain` on PATH, then the build
folder of the source tree this package sits in (python/greentrain -> ../../build/greentrain),
so `PYTHONPATH=python` works straight after a build."""
import os
import shutil

from .errors import GreentrainError


def find_binary():
    explicit = os.environ.get("GREENTRAIN_BIN")
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise GreentrainError(f"GREENTRAIN_BIN={explicit}: not an executable file")
        return explicit
    on_path = shutil.which("greentrain")
    if on_path:
        return on_path
    here = os.path.dirname(os.path.abspath(__file__))
    built = os.path.join(here, os.pardir, os.pardir, "build", "greentrain")
    if os.path.isfile(built) and os.access(built, os.X_OK):
        return os.path.normpath(built)
    raise GreentrainError(
        "cannot find the greentrain executable: put it on PATH or set GREENTRAIN_BIN")
