"""The channel to an enclosing metered run (`greentrain measure`, an experiment's command
workload). The run hands its child two inherited pipes: GREENTRAIN_MARK_FD, where lines
(`phase NAME begin T`, `phase NAME end T`, `metric NAME=VALUE`) become the run's phases and
metrics, and GREENTRAIN_REPLY_FD, where the run answers window queries (replies.py) with the
same figures `greentrain meter --serve` gives standalone. Nothing is metered in this process;
the reply pipe is read by a thread started with the first query, so a script that never reads a
Measurement's energy never asks."""
import os
import stat
import threading

from .errors import GreentrainError
from .replies import Replies, query_line

# Longest wait for the run's answer: it comes once the meters have read past the window's end
# (a GPU counter updates about every 100 ms; a wall meter may take seconds).
ANSWER_TIMEOUT_S = 60


def _open_fd(variable, text):
    try:
        fd = int(text)
        mode = os.fstat(fd).st_mode
    except (ValueError, OSError) as e:
        why = e.strerror if isinstance(e, OSError) else "not a number"
        raise GreentrainError(f"{variable}={text}: not an open file descriptor ({why})") from None
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)
            or stat.S_ISCHR(mode)):
        raise GreentrainError(f"{variable}={text}: not a pipe or file")
    return fd


class RunChannel:
    """The mark and reply pipes of the metered run this process runs in."""

    answer_timeout_s = ANSWER_TIMEOUT_S

    def __init__(self, mark_fd_text, reply_fd_text=None):
        self.fd = _open_fd("GREENTRAIN_MARK_FD", mark_fd_text)
        self._reply_fd = None if not reply_fd_text else _open_fd("GREENTRAIN_REPLY_FD",
                                                                 reply_fd_text)
        self._replies = Replies()
        self._reader = None
        self._lock = threading.Lock()
        self._owner = os.getpid()

    def write(self, line):
        # One write() of less than PIPE_BUF bytes: atomic, never interleaved with other writers.
        try:
            os.write(self.fd, (line + "\n").encode())
        except OSError as e:
            raise GreentrainError(
                f"GREENTRAIN_MARK_FD={self.fd}: cannot write the mark ({e.strerror}); "
                "has the metered run ended?") from None

    def query(self, name, t0, t1):
        """Asks the run for the window's figures; returns the Pending of its answer."""
        if self._reply_fd is None:
            raise GreentrainError(
                "this metered run answers no window queries (GREENTRAIN_REPLY_FD is not set: a "
                "greentrain older than this package?); the window's energy is in the run's "
                "phases")
        if os.getpid() != self._owner:
            raise GreentrainError(f"this Meter belongs to process {self._owner}; a forked "
                                  "child cannot read its answers (make a Meter in the child)")
        with self._lock:
            if self._reader is None:
                self._reader = threading.Thread(target=self._read_replies, daemon=True,
                                                name="greentrain-replies")
                self._reader.start()
        query_id, pending = self._replies.new()
        try:
            self.write(query_line(query_id, name, t0, t1))
        except GreentrainError:
            self._replies.forget(query_id)
            raise
        return pending

    def _read_replies(self):
        buffered = b""
        while True:
            try:
                chunk = os.read(self._reply_fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for raw in lines:
                self._replies.dispatch(raw.decode("utf-8", "replace"))
        self._replies.close("the metered run has ended: its answer can no longer come")
