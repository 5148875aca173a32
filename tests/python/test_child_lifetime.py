"""The meter child must not outlive the Python process that started it, even when that
process is killed with SIGKILL, and even when a forked child of it still holds the pipe."""
import os
import signal
import subprocess
import sys
import time

import pytest


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid, seconds=5):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("fork_holder", [False, True], ids=["alone", "forked-child-holds-pipe"])
def test_sigkill_leaves_no_meter(no_gpu, fork_holder):
    code = (
        "import os, sys, time, greentrain\n"
        "m = greentrain.Meter()\n"
        "m.begin_window('train')\n"
        f"if {fork_holder} and os.fork() == 0:\n"
        "    time.sleep(30); os._exit(0)\n"
        "print(m.pid, flush=True)\n"
        "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        meter_pid = int(child.stdout.readline())
        assert alive(meter_pid)
        with open(f"/proc/{meter_pid}/cmdline") as f:
            assert f.read().split("\0")[1:3] == ["meter", "--serve"]
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert wait_gone(meter_pid), "the meter process outlived the killed Python process"
    finally:
        os.killpg(child.pid, signal.SIGKILL) if child.poll() is None else None
        try:
            os.killpg(child.pid, signal.SIGKILL)  # the forked sleeper, if any
        except ProcessLookupError:
            pass


def test_close_stops_the_meter(no_gpu):
    import greentrain
    meter = greentrain.Meter()
    pid = meter.pid
    meter.close()
    assert wait_gone(pid, 2)


def test_forked_child_cannot_use_or_stop_the_meter(no_gpu):
    import greentrain
    meter = greentrain.Meter()
    meter.begin_window("parent")
    time.sleep(0.1)
    pid = os.fork()
    if pid == 0:  # the child: using the meter is refused, closing it leaves it running
        code = 1
        try:
            meter.begin_window("child")
        except greentrain.GreentrainError as e:
            code = 0 if "belongs to process" in str(e) else 2
        meter.close()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert alive(meter.pid)
    assert meter.end_window("parent").duration_s >= 0.1
    meter.close()
