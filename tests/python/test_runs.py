"""greentrain.runs(db) is the table `greentrain export` writes, as a DataFrame or as dicts."""
import io
import subprocess
import sys

import pandas
import pytest

import greentrain

PLAN = """
name = "pyruns"
[workload]
kind = "command"
command = "{python} -c 'print(\\"greentrain-metric test_accuracy=0.{size}1\\")'"
[factors]
size = [1, 2]
[design]
repeats = 2
warmup_runs = 0
seed = 3
[meters]
gpus = "none"
cpu_tdp_w = 20
ram_watts = 2
"""


@pytest.fixture
def database(no_gpu, binary, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.replace("{python}", sys.executable))
    db = tmp_path / "runs.db"
    done = subprocess.run([binary, "experiment", "run", str(plan), "--db", str(db)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return db


def test_runs_matches_export(database, binary, tmp_path):
    csv_path = tmp_path / "runs.csv"
    done = subprocess.run([binary, "export", "--db", str(database), "--csv", str(csv_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    exported = pandas.read_csv(csv_path)
    df = greentrain.runs(database)
    assert isinstance(df, pandas.DataFrame)
    pandas.testing.assert_frame_equal(df, exported)
    assert len(df) == 4 and sorted(df["test_accuracy"]) == [0.11, 0.11, 0.21, 0.21]
    rows = greentrain.runs(database, as_pandas=False)
    assert len(rows) == 4 and list(rows[0]) == list(exported.columns)
    for row, (_, ref) in zip(rows, exported.iterrows()):
        assert row["run_id"] == ref["run_id"] and isinstance(row["run_id"], int)
        assert row["energy_j"] == pytest.approx(ref["energy_j"])


def test_runs_errors_are_the_cli_lines(no_gpu, tmp_path):
    with pytest.raises(greentrain.GreentrainError) as e:
        greentrain.runs(tmp_path / "missing.db")
    assert str(e.value) == f"{tmp_path / 'missing.db'}: no such database"


HOSTILE_WORKLOAD = """
import greentrain
greentrain.metric("energy_j", 5)       # the measured column: stored as workload_energy_j
greentrain.metric("run_id", 99)        # a run field: refused
greentrain.metric("size", 7)           # a factor: refused
with greentrain.window("gpu"):         # its columns would be the run's gpu figures: refused
    pass
with greentrain.window("fit"):
    pass
"""


def test_workload_names_from_python_cannot_take_columns(no_gpu, binary, tmp_path):
    script = tmp_path / "work.py"
    script.write_text(HOSTILE_WORKLOAD)
    plan = tmp_path / "plan.toml"
    command = f'command = "{sys.executable} {script} {{size}}"'
    plan.write_text("\n".join(command if line.startswith("command = ") else line
                              for line in PLAN.splitlines()))
    db = tmp_path / "hostile.db"
    done = subprocess.run([binary, "experiment", "run", str(plan), "--db", str(db)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    df = greentrain.runs(db)
    assert len(set(df.columns)) == len(df.columns), list(df.columns)
    assert list(df["run_id"]) == [1, 2, 3, 4]
    assert sorted(df["size"]) == [1, 1, 2, 2]
    assert (df["workload_energy_j"] == 5).all() and (df["energy_j"] != 5).all()
    assert "fit_energy_j" in df.columns and "gpu_duration_s" not in df.columns
