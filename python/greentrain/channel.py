"""The mark-channel writer: inside a metered run (`greentrain measure`, an experiment's
command workload) the run hands its child an inherited pipe named by GREENTRAIN_MARK_FD, and
lines written there (`phase NAME begin`, `phase NAME end`, `metric NAME=VALUE`) are acted on
at once by the run's meter. Nothing is metered in this process."""
import os
import stat

from .errors import GreentrainError


class MarkChannel:
    def __init__(self, fd_text):
        try:
            self.fd = int(fd_text)
            mode = os.fstat(self.fd).st_mode
        except (ValueError, OSError) as e:
            why = e.strerror if isinstance(e, OSError) else "not a number"
            raise GreentrainError(
                f"GREENTRAIN_MARK_FD={fd_text}: not an open file descriptor ({why})") from None
        if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)
                or stat.S_ISCHR(mode)):
            raise GreentrainError(f"GREENTRAIN_MARK_FD={fd_text}: not a pipe or file")

    def write(self, line):
        # One write() of less than PIPE_BUF bytes: atomic, never interleaved with other writers.
        try:
            os.write(self.fd, (line + "\n").encode())
        except OSError as e:
            raise GreentrainError(
                f"GREENTRAIN_MARK_FD={self.fd}: cannot write the mark ({e.strerror}); "
                "has the metered run ended?") from None
