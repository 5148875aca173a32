"""Inside a metered run (GREENTRAIN_MARK_FD set) the package writes the mark-channel lines and
starts no meter process."""
import os

import pytest

import greentrain

from conftest import python_child


def read_all(fd):
    chunks = []
    while True:
        data = os.read(fd, 65536)
        if not data:
            return b"".join(chunks).decode()
        chunks.append(data)


def test_channel_mode_writes_marks_and_starts_no_meter(no_gpu):
    r, w = os.pipe()
    os.set_inheritable(w, True)
    env = dict(os.environ, GREENTRAIN_MARK_FD=str(w), GREENTRAIN_BIN="/nonexistent/greentrain")
    code = (
        "import greentrain, time\n"
        "m = greentrain.Meter(country='XYZ')\n"   # the run's options apply: no error here
        "assert m.in_metered_run and m.pid is None\n"
        "for i in range(2):\n"
        "    with greentrain.window('epoch') as e: time.sleep(0.05)\n"
        "greentrain.metric('test_accuracy', 0.883)\n"
        "assert e.result.in_metered_run and e.result.energy_j is None\n"
        "assert e.result.duration_s >= 0.05\n"
        "m.begin_window('train')\n"
        "try:\n"
        "    m.begin_window('epoch')\n"
        "except greentrain.GreentrainError as err:\n"
        "    print(err)\n"
        "m.end_window('train')\n")
    done = python_child(code, env=env, pass_fds=(w,))
    os.close(w)
    lines = read_all(r).splitlines()
    os.close(r)
    assert done.returncode == 0, done.stderr
    assert lines == ["phase epoch begin", "phase epoch end", "phase epoch begin",
                     "phase epoch end", "metric test_accuracy=0.883", "phase train begin",
                     "phase train end"]
    # Phases split a run: a nested window is refused before anything is written.
    assert done.stdout.strip() == (
        "window epoch: window train is still open; inside a metered run windows become the "
        "run's phases, which cannot nest or overlap")


def test_bad_mark_fd_is_one_line(no_gpu, monkeypatch):
    monkeypatch.setenv("GREENTRAIN_MARK_FD", "987")
    with pytest.raises(greentrain.GreentrainError,
                       match=r"GREENTRAIN_MARK_FD=987: not an open file descriptor"):
        greentrain.Meter()
    monkeypatch.setenv("GREENTRAIN_MARK_FD", "x")
    with pytest.raises(greentrain.GreentrainError, match="not a number"):
        greentrain.Meter()
