"""Window queries and their answers, the same over both channels the package talks to.

A window is asked for with one line, `window ID NAME T0 T1` (T0 and T1 the window's instants in
seconds on CLOCK_MONOTONIC, which time.monotonic() reads), and answered with `window ID {json}`
or `window ID error MESSAGE`: by a `greentrain meter --serve` child standalone, by the metered
run itself inside `greentrain measure` or an experiment. Replies find their query by ID, so the
order in which they arrive does not matter. IDs start with this process's id, so a reply meant
for another process of the same run is recognised and left alone."""
import itertools
import json
import os
import threading

from .errors import GreentrainError
from .measurement import Pending


def query_line(query_id, name, t0, t1):
    return f"window {query_id} {name} {t0:.9f} {t1:.9f}"


class Replies:
    """The queries waiting for their answer, by ID."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting = {}
        self._ids = itertools.count(1)
        self._closed = None  # (message, exit code) once no answer can come any more

    def new(self):
        """A fresh query ID and the Pending its answer will fill."""
        with self._lock:
            if self._closed is not None:
                raise GreentrainError(*self._closed)
            query_id = f"{os.getpid()}.{next(self._ids)}"
            pending = Pending()
            self._waiting[query_id] = pending
            return query_id, pending

    def forget(self, query_id):
        with self._lock:
            self._waiting.pop(query_id, None)

    def dispatch(self, line):
        """Hands one reply line to its query; False when the line is not a window reply."""
        if not line.startswith("window "):
            return False
        query_id, _, rest = line[len("window "):].partition(" ")
        with self._lock:
            pending = self._waiting.pop(query_id, None)
        if pending is None:
            return True  # another process's answer, or one given up on
        if rest.startswith("error "):
            pending.fail(rest[len("error "):])
        else:
            try:
                pending.set(json.loads(rest))
            except ValueError:
                pending.fail(f"the greentrain meter sent an unreadable answer: {rest[:80]}")
        return True

    def close(self, message, exit_code=None):
        """No more answers will come: every waiting query fails with `message`."""
        with self._lock:
            self._closed = (message, exit_code)
            left = list(self._waiting.values())
            self._waiting.clear()
        for pending in left:
            pending.fail(message, exit_code)
