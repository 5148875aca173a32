"""Validation shared by both modes: window and metric names, metric values.

Window names become phase names and database columns (`<name>_energy_j`), so they follow the
mark channel's rule: a letter, then letters, digits or '_', at most 64 characters."""
import math
import re

from .errors import GreentrainError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def check_name(name, what="window"):
    if not isinstance(name, str) or not _NAME.match(name):
        raise GreentrainError(
            f"{what} name {name!r}: expected a letter, then letters, digits or _ "
            "(at most 64)")
    return name


def check_metric(name, value):
    check_name(name, "metric")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GreentrainError(f"metric {name}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise GreentrainError(f"metric {name}: {value!r} is not a finite number")
    return number
