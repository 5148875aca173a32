"""A window around a CPU loop agrees with `greentrain measure` of the same loop run as its own
process: the same meters (CPU and RAM estimates on this machine), so the same work must cost
about the same energy at the same power. The measured process also starts an interpreter,
so the comparison is per second of work and the tolerance leaves room for a shared machine."""
import json
import sys

import pytest

import greentrain

LOOP = """
import time
def work(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x
"""


def test_cpu_loop_window_matches_measure(no_gpu, binary, tmp_path):
    import subprocess
    script = tmp_path / "work.py"
    script.write_text(LOOP + "work(1.5)\n")
    out = tmp_path / "m.json"
    opts = ["--gpus", "none", "--cpu-tdp", "40", "--ram-watts", "6", "--interval-ms", "50",
            "--attribution", "machine"]
    done = subprocess.run([binary, "measure", *opts, "--json", str(out), "--",
                           sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    measured = json.loads(out.read_text())

    namespace = {}
    exec(LOOP, namespace)
    with greentrain.Meter(gpus="none", cpu_tdp_w=40, ram_watts=6, interval_ms=50,
                          attribution="machine") as meter:
        with meter.window("work") as w:
            namespace["work"](1.5)
    m = w.result
    assert m.duration_s == pytest.approx(1.5, abs=0.1)
    # RAM: the same fixed 6 W model in both, so energy/duration agrees closely.
    assert m.components["ram"] / m.duration_s == pytest.approx(
        measured["ram_energy_j"] / measured["duration_s"], rel=0.01)
    # CPU: one busy core of the machine in both cases; the estimate follows the machine's
    # utilisation, which other processes also move.
    window_cpu_w = m.components["cpu"] / m.duration_s
    measure_cpu_w = measured["cpu_energy_j"] / measured["duration_s"]
    assert window_cpu_w == pytest.approx(measure_cpu_w, rel=0.25)
    assert m.energy_j == pytest.approx(measured["energy_j"] * m.duration_s /
                                       measured["duration_s"], rel=0.25)
    sources = {c["component"]: f"{c['source']}: {c['model']}" for c in measured["components"]}
    assert m.sources == sources
