"""runs(db): an experiment's runs table, exactly what `greentrain export` writes (one row per
run, factor and metric columns, empty = no value), read through the greentrain executable so
there is one definition of the table. A pandas DataFrame when pandas is importable, else a
list of dicts with numbers as int/float and empty cells as None."""
import csv
import io
import os
import subprocess

from .binary import find_binary
from .errors import GreentrainError


def _value(text):
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def export_csv(db, experiment=None, binary=None):
    """The CSV text of `greentrain export --db DB --csv - [--experiment NAME]`."""
    argv = [binary or find_binary(), "export", "--db", os.fspath(db), "--csv", "-"]
    if experiment:
        argv += ["--experiment", experiment]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        message = lines[-1] if lines else f"greentrain export exited {done.returncode}"
        if message.startswith("greentrain: "):
            message = message[len("greentrain: "):]
        raise GreentrainError(message, done.returncode)
    return done.stdout.decode("utf-8")


def runs(db="greentrain.db", experiment=None, binary=None, as_pandas=None):
    """The runs table of `db` (of `experiment` when the database holds several).

    as_pandas: None = a DataFrame when pandas is importable; False = list of dicts."""
    text = export_csv(db, experiment, binary)
    if as_pandas is not False:
        try:
            import pandas
        except ImportError:
            if as_pandas:
                raise
        else:
            return pandas.read_csv(io.StringIO(text))
    return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
