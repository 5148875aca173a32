"""Meter(attribution="process") standalone: the estimated CPU energy of a window is the TDP times
the CPU time this Python process and its descendants used in it (checked against the process's
own CPU clocks), over the machine's logical CPUs; a CPU hog outside the process tree adds
nothing to it, while the machine's figure of the same window counts the hog; greentrain's
meter children are not part of the tree; every figure says whose it is."""
import os
import signal
import subprocess
import sys
import time

import pytest

import greentrain

TDP_W = 40.0


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def children_cpu_s():
    t = os.times()
    return t.children_user + t.children_system


@pytest.fixture
def outside_hog():
    """A CPU-bound process that is not a descendant of this one (its parent exits at once, so
    it is re-parented): only the machine's figures may see it."""
    pid = int(subprocess.run(
        ["sh", "-c", f"{sys.executable} -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
        capture_output=True, text=True, check=True).stdout)
    time.sleep(0.2)
    yield pid
    os.kill(pid, signal.SIGKILL)


def cpu_j(m):
    return m.components["cpu"]


def test_process_attribution_charges_the_tree_not_the_machine(no_gpu, outside_hog):
    options = dict(gpus="none", cpu_tdp_w=TDP_W, ram_watts=6, interval_ms=20)
    tick_j = TDP_W * 2 / os.sysconf("SC_CLK_TCK") / os.cpu_count()  # two clock ticks of CPU
    # Two meters at once: the machine's meter, a child of this process too, is greentrain's
    # overhead and never part of the tree the other one meters.
    with greentrain.Meter(attribution="process", **options) as meter, \
            greentrain.Meter(attribution="machine", **options) as whole:
        assert meter.ready["attribution"] == "process" and meter.ready["root_pid"] == os.getpid()
        # Asleep beside the hog: the tree uses (almost) no CPU; the machine runs the hog.
        with meter.window("idle") as idle, whole.window("idle") as machine:
            time.sleep(0.6)
        # Busy itself, and in a child process: both are the tree's.
        cpu0, children0 = time.process_time(), children_cpu_s()
        with meter.window("work") as work:
            busy(0.4)
            subprocess.run([sys.executable, "-c", "import time\nend = time.perf_counter() + 0.3"
                            "\nwhile time.perf_counter() < end: pass"], check=True)
        tree_cpu_s = time.process_time() - cpu0 + children_cpu_s() - children0
    idle, work, machine = idle.result, work.result, machine.result
    assert idle.attribution == {"cpu": "process", "ram": "process"}
    assert machine.attribution == {"cpu": "machine", "ram": "machine"}
    assert cpu_j(idle) <= tick_j
    assert cpu_j(machine) >= TDP_W * 0.5 * machine.duration_s / os.cpu_count()
    # TDP x the tree's CPU seconds (as this process counts them: its own, and the child it
    # reaped) / logical CPUs.
    expected = TDP_W * tree_cpu_s / os.cpu_count()
    assert cpu_j(work) == pytest.approx(expected, abs=2 * tick_j + 0.05 * expected)
    details = {d["component"]: d for d in work.details}
    assert details["cpu"]["machine_energy_j"] >= cpu_j(work)
    assert "process-tree CPU-seconds" in work.sources["cpu"]


def test_attribution_is_checked_before_anything_starts(no_gpu, binary):
    with pytest.raises(greentrain.GreentrainError, match="attribution 'all'"):
        greentrain.Meter(attribution="all")
    done = subprocess.run([binary, "meter", "--serve", "--root-pid", "999999999"],
                          capture_output=True, text=True, input="")
    assert done.returncode == 2
    assert "--root-pid" in done.stderr
