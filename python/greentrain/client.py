"""The standalone client: starts `greentrain meter --serve` as a child and talks to it over
its stdin/stdout pipes with the line protocol documented in python/README.md.

Window queries (replies.py) are written without waiting; a reader thread takes the replies and
hands each to the Pending object of its query, so a training loop never blocks on the meter
and the pipes can never fill up. The child leaves when this process dies,
even by SIGKILL: its stdin then reaches end-of-file, and it also watches its parent process
id (for the case where a forked child of ours still holds the pipe). It runs in its own
session so a terminal's Ctrl-C reaches only the Python process, which may still want to end
its windows."""
import collections
import json
import os
import subprocess
import threading

from .errors import GreentrainError
from .replies import Replies, query_line

PROTOCOL = 2


def _strip_prefix(line):
    return line[len("greentrain: "):] if line.startswith("greentrain: ") else line


class MeterProcess:
    """One `greentrain meter --serve` child."""

    def __init__(self, binary, options):
        argv = [binary, "meter", "--serve", *options]
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, close_fds=True,
                                          start_new_session=True)
        except OSError as e:
            raise GreentrainError(f"cannot start '{binary}': {e.strerror}") from None
        self._stderr = collections.deque(maxlen=20)
        self._err_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_thread.start()
        first = self._proc.stdout.readline().decode("utf-8", "replace")
        if not first.startswith("ready "):
            code = self._proc.wait()
            self._err_thread.join(5)
            raise GreentrainError(self._last_error(first), code)
        self.ready = json.loads(first[len("ready "):])
        if self.ready.get("protocol") != PROTOCOL:
            self.close()
            raise GreentrainError(
                f"{binary} speaks meter protocol {self.ready.get('protocol')}, this package "
                f"speaks {PROTOCOL}: use the greentrain built with this package")
        self._lock = threading.Lock()
        self._replies = Replies()
        self._closed = False
        self._stdin = self._proc.stdin.fileno()
        self._owner = os.getpid()  # a forked child (a DataLoader worker) must not use the pipe
        self._reader = threading.Thread(target=self._read_replies, daemon=True)
        self._reader.start()

    def _read_stderr(self):
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line:
                self._stderr.append(line)

    def _last_error(self, stdout_line=""):
        if self._stderr:
            return _strip_prefix(self._stderr[-1])
        if stdout_line.startswith("error "):
            return stdout_line[len("error "):].strip()
        code = self._proc.poll()
        return f"the greentrain meter exited (code {code}) without a message"

    def _read_replies(self):
        for raw in self._proc.stdout:
            self._replies.dispatch(raw.decode("utf-8", "replace").rstrip("\n"))
        code = self._proc.wait()
        self._err_thread.join(5)
        with self._lock:
            self._closed = True
        self._replies.close(self._last_error(), code)

    def query(self, name, t0, t1):
        """Asks for the window NAME over [t0, t1] (time.monotonic() seconds); returns the
        Pending of its answer."""
        self.check_owner()
        query_id, pending = self._replies.new()
        with self._lock:
            if self._closed:
                self._replies.forget(query_id)
                raise GreentrainError(f"the greentrain meter has exited: {self._last_error()}")
            try:
                os.write(self._stdin, (query_line(query_id, name, t0, t1) + "\n").encode())
            except OSError:
                self._replies.forget(query_id)
                self._closed = True
                raise GreentrainError(
                    f"the greentrain meter has exited: {self._last_error()}") from None
        return pending

    def check_owner(self):
        """Refuses a forked child (a DataLoader worker): the meter answers its parent only."""
        if os.getpid() != self._owner:
            raise GreentrainError(f"this Meter belongs to process {self._owner}; a forked "
                                  "child cannot use it (make a Meter in the child)")

    @property
    def pid(self):
        return self._proc.pid

    def close(self, timeout=10):
        """Asks the child to quit and waits for it (kills it after `timeout` seconds)."""
        if os.getpid() != getattr(self, "_owner", os.getpid()):
            return  # a forked copy: the meter belongs to the parent
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(b"quit\n")
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        reader = getattr(self, "_reader", None)
        if reader is not None and reader is not threading.current_thread():
            reader.join(5)
