"""One script, three places: standalone, under `greentrain measure`, and as an experiment's
command workload. It nests an epoch window in a training window, reports a metric per epoch and
reads every field of every Measurement: the same structure of results comes back everywhere,
with no None energy; inside a metered run each window's figures are the phase's (the run
answers with the code that makes its phases), the epochs are the sub-phases train/epoch with
their metrics in the database, and export sums them into epoch_energy_j."""
import json
import sqlite3
import subprocess
import sys

import pytest

import greentrain

from conftest import counter_tolerance, run_tolerance

SCRIPT = """
import json, sys, time, greentrain
meter = greentrain.Meter()
greentrain.set_default_meter(meter)
epochs = []
with greentrain.window("train") as train:
    for epoch in range(3):
        with greentrain.window("epoch") as w:
            end, x = time.monotonic() + 0.15, 0
            while time.monotonic() < end:
                x += 1
            greentrain.metric("val_accuracy", 0.5 + 0.1 * epoch)
        epochs.append(w.result)
greentrain.metric("test_accuracy", 0.8)
windows = [m.to_dict() for m in epochs + [train.result]]
with open(sys.argv[1], "w") as f:
    json.dump({"in_metered_run": meter.in_metered_run, "windows": windows}, f)
"""

FIELDS = {"name", "path", "parent", "duration_s", "metrics", "in_metered_run", "energy_j",
          "net_energy_j", "co2e_g", "wall_energy_j", "uncertainty_j", "components", "sources",
          "attribution", "details", "notes"}


def run_script(tmp_path, *prefix, out="w.json"):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    done = subprocess.run([*prefix, sys.executable, str(script), str(tmp_path / out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((tmp_path / out).read_text())


def check_structure(result, metered):
    assert result["in_metered_run"] is metered
    windows = result["windows"]
    assert [w["path"] for w in windows] == ["train/epoch"] * 3 + ["train"]
    assert [w["parent"] for w in windows] == ["train"] * 3 + [""]
    assert [w["metrics"] for w in windows] == [
        {"val_accuracy": 0.5}, {"val_accuracy": 0.6}, {"val_accuracy": 0.7}, {}]
    for w in windows:
        assert set(w) == FIELDS
        for key in ("duration_s", "energy_j", "co2e_g", "uncertainty_j"):
            assert w[key] is not None and w[key] >= 0, (key, w)
        assert set(w["components"]) == {"gpu:0", "cpu", "ram"}
        assert w["attribution"] == {"gpu:0": "machine", "cpu": "process", "ram": "process"}
        assert w["sources"]["gpu:0"].startswith("measured: nvml-energy-counter")
        # The fake GPU draws 250 W: a window's energy follows its duration.
        expected = 250 * w["duration_s"]
        assert w["components"]["gpu:0"] == pytest.approx(
            expected, abs=counter_tolerance(w, expected, 0.05))
    epochs, train = windows[:3], windows[3]
    assert sum(e["energy_j"] for e in epochs) < train["energy_j"]
    assert sum(e["duration_s"] for e in epochs) < train["duration_s"]
    return windows


def test_standalone(fake_gpu, tmp_path):
    check_structure(run_script(tmp_path), metered=False)


def test_under_measure_windows_are_the_phases(fake_gpu, binary, tmp_path):
    out = tmp_path / "m.json"
    windows = check_structure(run_script(tmp_path, binary, "measure", "--json", str(out), "--"),
                              metered=True)
    j = json.loads(out.read_text())
    phases = {(p["parent"], p["name"], p["occurrence"]): p for p in j["phases"]}
    assert sorted(phases) == [("", "train", 1), ("train", "epoch", 1), ("train", "epoch", 2),
                              ("train", "epoch", 3)]
    keys = [("train", "epoch", 1), ("train", "epoch", 2), ("train", "epoch", 3), ("", "train", 1)]
    for w, key in zip(windows, keys):
        p = phases[key]
        tolerance = run_tolerance(w["uncertainty_j"], p["energy_j"], p["uncertainty_j"])
        assert w["duration_s"] == pytest.approx(p["duration_s"], abs=1e-6)
        assert w["energy_j"] == pytest.approx(p["energy_j"], abs=tolerance)
        assert w["co2e_g"] == pytest.approx(p["co2e_g"], rel=tolerance / p["energy_j"])
        assert w["components"]["cpu"] == pytest.approx(p["cpu_energy_j"], rel=1e-6)
        assert w["metrics"] == p["metrics"]
    assert j["phase_metrics"]["epoch_energy_j"] == [p["energy_j"] for p in j["phases"]
                                                    if p["name"] == "epoch"]
    assert j["metrics"] == {"val_accuracy": 0.7, "test_accuracy": 0.8}
    assert not [n for n in j["notes"] if "mark" in n or "phase" in n], j["notes"]


PLAN = """
name = "same-script"
[workload]
kind = "command"
command = "{python} {script} {out}/w{run_id}.json"
[factors]
lr = [1]
[design]
repeats = 2
warmup_runs = 0
"""


def test_as_an_experiment_the_epochs_are_sub_phases(fake_gpu, binary, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.replace("{python}", sys.executable).replace("{script}", str(script))
                    .replace("{out}", str(tmp_path)))
    db = tmp_path / "e.db"
    done = subprocess.run([binary, "experiment", "run", str(plan), "--db", str(db)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = greentrain.runs(db, as_pandas=False)
    assert [r["status"] for r in rows] == ["ok", "ok"], done.stdout + done.stderr
    con = sqlite3.connect(db)
    for row in rows:
        windows = check_structure(json.loads((tmp_path / f"w{row['run_id']}.json").read_text()),
                                  metered=True)
        phases = con.execute(
            "SELECT parent, name, occurrence, energy_j, metrics, uncertainty_j FROM run_phases "
            "WHERE run_id = ? ORDER BY parent, name, occurrence", (row["run_id"],)).fetchall()
        assert [p[:3] for p in phases] == [("", "train", 1), ("train", "epoch", 1),
                                           ("train", "epoch", 2), ("train", "epoch", 3)]
        assert [json.loads(p[4]) for p in phases[1:]] == [w["metrics"] for w in windows[:3]]
        for p, w in zip(phases[1:] + phases[:1], windows):
            assert w["energy_j"] == pytest.approx(
                p[3], abs=run_tolerance(w["uncertainty_j"], p[3], p[5]))
        # The runs table sums the epochs under the leaf name.
        assert row["epoch_energy_j"] == pytest.approx(sum(p[3] for p in phases[1:]), rel=1e-9)
        assert row["train_energy_j"] == phases[0][3]
        assert row["test_accuracy"] == 0.8 and row["val_accuracy"] == 0.7
