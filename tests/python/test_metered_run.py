"""Inside a metered run the package's windows arrive as the run's phases: in `greentrain
measure --json`, and in an experiment's database (checked through `export` and runs()),
with the fake GPU's counter differences as their energy and metrics through the channel."""
import json
import subprocess
import sys

import pytest

import greentrain

SCRIPT = """
import time, greentrain
meter = greentrain.Meter()
assert meter.in_metered_run and meter.pid is None
with meter.window("setup"):
    time.sleep(0.1)
for epoch in range(3):
    with meter.window("epoch"):
        time.sleep(0.2)
meter.metric("test_accuracy", 0.875)
"""


def write_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return script


def test_measure_shows_windows_as_phases(fake_gpu, binary, tmp_path):
    out = tmp_path / "m.json"
    done = subprocess.run([binary, "measure", "--json", str(out), "--", sys.executable,
                           str(write_script(tmp_path))], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    j = json.loads(out.read_text())
    assert [(p["name"], p["occurrence"]) for p in j["phases"]] == [
        ("setup", 1), ("epoch", 1), ("epoch", 2), ("epoch", 3)]
    # The run dates a mark when it reads it (on a loaded machine that can lag the call), and
    # reads the fake counter there: each phase's energy is the counter's difference.
    for p in j["phases"]:
        assert p["gpu_energy_j"] == pytest.approx(fake_gpu * p["duration_s"], rel=0.05, abs=0.5)
    assert sum(p["duration_s"] for p in j["phases"]) <= j["duration_s"]
    assert sum(p["duration_s"] for p in j["phases"] if p["name"] == "epoch") > 0.3
    assert j["metrics"]["test_accuracy"] == 0.875


PLAN = """
name = "metered"
[workload]
kind = "command"
command = "{python} {script}"
[factors]
lr = [1, 2]
[design]
repeats = 2
warmup_runs = 0
"""


def test_experiment_database_has_the_phases(fake_gpu, binary, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.replace("{python}", sys.executable)
                    .replace("{script}", str(write_script(tmp_path))))
    db = tmp_path / "m.db"
    done = subprocess.run([binary, "experiment", "run", str(plan), "--db", str(db)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = greentrain.runs(db, as_pandas=False)
    assert len(rows) == 4
    for row in rows:
        assert row["status"] == "ok", done.stdout + done.stderr
        assert row["test_accuracy"] == 0.875
        # Three epochs of 0.2 s: the phase columns sum the occurrences.
        assert 0.3 < row["epoch_duration_s"] < row["duration_s"]
        assert row["epoch_energy_j"] >= fake_gpu * row["epoch_duration_s"] * 0.95
        assert row["epoch_energy_j"] < row["energy_j"]
        assert row["setup_duration_s"] < row["duration_s"]
    exported = subprocess.run([binary, "export", "--db", str(db), "--csv", "-"],
                              capture_output=True, text=True, check=True).stdout
    header = exported.splitlines()[0].split(",")
    assert {"epoch_energy_j", "epoch_duration_s", "setup_energy_j"} <= set(header)
    # The report analyses the phases' energy beside the whole runs'.
    md = tmp_path / "report.md"
    done = subprocess.run([binary, "report", "--db", str(db), "--md", str(md)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Versus the benchmark: epoch_energy_j" in md.read_text()
