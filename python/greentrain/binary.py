"""Finds the greentrain executable the package talks to.

Order: the GREENTRAIN_BIN environment variable (an explicit choice), then the binary inside
the package (`greentrain/bin/greentrain`, carried by the platform wheel `make wheel` builds),
then `greentrain` on PATH, then the build folder of the source tree this package sits in
(python/greentrain -> ../../build/greentrain), so `PYTHONPATH=python` works straight after a
build."""
import os
import shutil

from .errors import GreentrainError

HERE = os.path.dirname(os.path.abspath(__file__))


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def packaged_binary():
    """The greentrain binary inside the installed package, or None (a pure install)."""
    path = os.path.join(HERE, "bin", "greentrain")
    return path if _executable(path) else None


def find_binary():
    explicit = os.environ.get("GREENTRAIN_BIN")
    if explicit:
        if not _executable(explicit):
            raise GreentrainError(f"GREENTRAIN_BIN={explicit}: not an executable file")
        return explicit
    packaged = packaged_binary()
    if packaged:
        return packaged
    on_path = shutil.which("greentrain")
    if on_path:
        return on_path
    built = os.path.join(HERE, os.pardir, os.pardir, "build", "greentrain")
    if _executable(built):
        return os.path.normpath(built)
    raise GreentrainError(
        "cannot find the greentrain executable: put it on PATH or set GREENTRAIN_BIN (or "
        "install the platform wheel, which carries it)")
