"""greentrain.lightning and greentrain.transformers callbacks, driven by stand-in trainers that
call the hooks as Lightning 2.x and transformers' Trainer document (tests/python/standins): the
windows (train, each epoch, each validation or evaluation inside its epoch, not the sanity
check), the per-epoch metrics reported inside each epoch, the energy figures given to the
framework's loggers, and the same script under `greentrain measure`, where the windows are the
run's phases with the metrics stored per epoch. `import greentrain` imports neither framework."""
import json
import os
import subprocess
import sys

import pytest

import greentrain

from conftest import counter_tolerance, run_tolerance

STANDINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "standins")


@pytest.fixture
def standins(monkeypatch):
    monkeypatch.syspath_prepend(STANDINS)
    yield
    for name in list(sys.modules):
        if name.split(".")[0] in ("lightning", "transformers", "trainers") or name in (
                "greentrain.lightning", "greentrain.transformers"):
            del sys.modules[name]


def test_the_package_imports_no_framework(no_gpu):
    done = subprocess.run(
        [sys.executable, "-c", "import sys, greentrain\n"
         "print(sorted(m for m in sys.modules if m.split('.')[0] in "
         "('lightning', 'pytorch_lightning', 'transformers', 'torch')))"],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.environ["PYTHONPATH"]
                                                  + os.pathsep + STANDINS))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_lightning_callback(fake_gpu, standins):
    from greentrain.lightning import EnergyCallback
    from trainers import LightningTrainer
    cb = EnergyCallback(interval_ms=20)
    trainer = LightningTrainer([cb], epochs=3)
    trainer.fit()
    trainer.test()
    paths = [p for p, _ in cb.measurements]
    assert paths == ["train/epoch/validation", "train/epoch"] * 3 + ["train", "test"]
    epochs = [m for p, m in cb.measurements if p == "train/epoch"]
    # Each epoch holds the metrics of its end, the validation's among them; lists are skipped.
    assert [m.metrics for m in epochs] == [
        {"train_loss": pytest.approx(1 / (k + 1)), "val_acc": pytest.approx(0.5 + 0.1 * k)}
        for k in range(3)]
    for m in epochs:
        expected = 250 * m.duration_s
        assert m.components["gpu:0"] == pytest.approx(expected,
                                                      abs=counter_tolerance(m, expected, 0.05))
    # The energy of every window went to the trainer's logger at the global step.
    logged = trainer.loggers[0].logged
    assert [step for step, _ in logged] == [2, 2, 4, 4, 6, 6, 6, 6]
    assert logged[1][1] == {"epoch_energy_j": epochs[0].energy_j,
                            "epoch_duration_s": epochs[0].duration_s,
                            "epoch_co2e_g": epochs[0].co2e_g,
                            "epoch_gpu_energy_j": epochs[0].gpu_energy_j()}
    assert set(logged[0][1]) == {"validation_energy_j", "validation_duration_s",
                                 "validation_co2e_g", "validation_gpu_energy_j"}
    assert set(logged[6][1]) == {"train_energy_j", "train_duration_s", "train_co2e_g",
                                 "train_gpu_energy_j"}
    # The final metrics are the run's greentrain metrics.
    assert cb.meter.metrics["test_acc"] == 0.75
    assert cb.meter.metrics["val_acc"] == pytest.approx(0.7)
    cb.meter.close()


def test_lightning_callback_meters_only_on_global_zero(no_gpu, standins, monkeypatch):
    monkeypatch.setenv("GREENTRAIN_BIN", "/nonexistent/greentrain")  # no meter may start
    from greentrain.lightning import EnergyCallback
    from trainers import LightningTrainer
    cb = EnergyCallback()
    LightningTrainer([cb], epochs=1, step_s=0.01, global_zero=False).fit()
    assert cb.measurements == []


def test_transformers_callback(fake_gpu, standins):
    from greentrain.transformers import EnergyCallback
    from trainers import HFTrainer
    cb = EnergyCallback(interval_ms=20)
    trainer = HFTrainer([cb], epochs=2)
    trainer.train()
    assert [p for p, _ in cb.measurements] == [
        "train/epoch/evaluate", "train/epoch", "train/epoch/evaluate", "train/epoch", "train"]
    epochs = [m for p, m in cb.measurements if p == "train/epoch"]
    evaluations = [m for p, m in cb.measurements if p == "train/epoch/evaluate"]
    # An epoch's evaluation metrics are reported inside that epoch.
    assert [m.metrics for m in epochs] == [
        {"eval_loss": 0.5, "eval_accuracy": pytest.approx(0.7)},
        {"eval_loss": 0.5, "eval_accuracy": pytest.approx(0.8)}]
    # The evaluation's energy is in the metrics trainer.evaluate() returns (the logged history
    # holds them as they were before), each epoch's in the next log.
    history = trainer.state.log_history
    assert "evaluate_energy_j" not in history[1]
    assert history[2]["epoch_energy_j"] == epochs[0].energy_j
    assert history[2]["loss"] == 0.5 and trainer.logged[2]["epoch_energy_j"] > 0
    assert history[-2]["train_loss"] == 0.6
    assert history[-2]["epoch_energy_j"] == epochs[1].energy_j
    assert history[-1]["train_energy_j"] == cb.measurements[-1][1].energy_j
    expected = 250 * evaluations[0].duration_s
    assert evaluations[0].components["gpu:0"] == pytest.approx(
        expected, abs=counter_tolerance(evaluations[0], expected, 0.05))
    # The last logged values are the run's metrics; the energy figures are not reported back.
    assert cb.meter.metrics["train_loss"] == 0.6
    assert cb.meter.metrics["eval_accuracy"] == pytest.approx(0.8)
    assert not [k for k in cb.meter.metrics if k.endswith("_energy_j")]
    cb.meter.close()


def test_transformers_attach_puts_it_before_the_integrations(no_gpu, standins):
    from greentrain.transformers import EnergyCallback

    class Handler:
        callbacks = ["flow", "tensorboard"]

    class Trainer:
        callback_handler = Handler()

    cb = EnergyCallback().attach(Trainer())
    assert Trainer.callback_handler.callbacks == ["flow", cb, "tensorboard"]


SCRIPT = """
import json, sys
from trainers import {trainer}
from greentrain.{module} import EnergyCallback
cb = EnergyCallback()
{trainer}([cb], epochs=2, step_s=0.1).{run}()
json.dump([[p, m.energy_j, m.uncertainty_j, m.metrics] for p, m in cb.measurements],
          open(sys.argv[1], "w"))
"""


@pytest.mark.parametrize("module, trainer, run, inner", [
    ("lightning", "LightningTrainer", "fit", "validation"),
    ("transformers", "HFTrainer", "train", "evaluate")])
def test_callbacks_under_measure(fake_gpu, binary, tmp_path, monkeypatch, module, trainer, run,
                                 inner):
    monkeypatch.setenv("PYTHONPATH", os.environ["PYTHONPATH"] + os.pathsep + STANDINS)
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT.format(module=module, trainer=trainer, run=run))
    out, windows = tmp_path / "m.json", tmp_path / "w.json"
    done = subprocess.run([binary, "measure", "--json", str(out), "--", sys.executable,
                           str(script), str(windows)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    j = json.loads(out.read_text())
    phases = [(p["parent"], p["name"], p["occurrence"], p["metrics"]) for p in j["phases"]]
    epoch_metrics = [p[3] for p in phases if p[1] == "epoch"]
    assert sorted(p[:3] for p in phases) == sorted([
        ("", "train", 1), ("train", "epoch", 1), ("train", "epoch", 2),
        ("train/epoch", inner, 1), ("train/epoch", inner, 2)])
    assert all(m for m in epoch_metrics) and epoch_metrics[0] != epoch_metrics[1]
    # The callback's Measurements are the run's phases.
    measured = json.loads(windows.read_text())
    by_path = {}
    for p in j["phases"]:
        path = (p["parent"] + "/" if p["parent"] else "") + p["name"]
        by_path.setdefault(path, []).append(p)
    for path, energy, uncertainty, metrics in measured:
        p = by_path[path].pop(0)
        assert energy == pytest.approx(
            p["energy_j"], abs=run_tolerance(uncertainty, p["energy_j"], p["uncertainty_j"]))
        assert metrics == p["metrics"]
