"""examples/pytorch_amp.py on the CPU with a small synthetic Fashion-MNIST-shaped dataset, one
code path: standalone it reports a window per epoch inside the training window, and under
`greentrain measure` the same windows are the run's phases (the epochs sub-phases of train, each
with its loss), with the same figures, and its accuracy a metric."""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples",
                       "pytorch_amp.py")


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def data_dir(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 3000), ("t10k", 200)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 40, (n, 28, 28))
        images[np.arange(n), labels, :] = 255  # a learnable pattern: row = class
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return tmp_path


def test_example_standalone_windows_per_epoch(no_gpu, data_dir, tmp_path):
    out = tmp_path / "w.json"
    done = subprocess.run([sys.executable, EXAMPLE, "--precision", "bf16", "--epochs", "3",
                           "--train-samples", "0", "--data-dir", str(data_dir), "--json",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    j = json.loads(out.read_text())
    names = [w["name"] for w in j["windows"]]
    assert names == ["setup", "epoch", "epoch", "epoch", "train", "eval"]
    epochs = [w for w in j["windows"] if w["name"] == "epoch"]
    train = j["windows"][4]
    # The epochs lie inside the training window; between them the script prints the loss.
    for key in ("duration_s", "energy_j"):
        total = sum(w[key] for w in epochs)
        assert 0.7 * train[key] < total <= train[key] * 1.001
    assert train["sources"]["cpu"].startswith("estimated")
    assert j["test_accuracy"] > 0.5
    assert "greentrain-metric test_accuracy=" in done.stdout


def test_example_in_a_metered_run(no_gpu, data_dir, tmp_path, binary):
    out = tmp_path / "m.json"
    done = subprocess.run([binary, "measure", "--json", str(out), "--", sys.executable,
                           EXAMPLE, "--precision", "fp32", "--epochs", "2", "--data-dir",
                           str(data_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    j = json.loads(out.read_text())
    assert [(p["parent"], p["name"]) for p in j["phases"]] == [
        ("", "setup"), ("train", "epoch"), ("train", "epoch"), ("", "train"), ("", "eval")]
    assert [set(p["metrics"]) for p in j["phases"]] == [set(), {"epoch_loss"},
                                                        {"epoch_loss"}, set(), set()]
    assert 0 < j["metrics"]["test_accuracy"] <= 1
    # The script printed every window's energy there too: the phases' figures.
    printed = [line.split() for line in done.stdout.splitlines()
               if line.startswith("  ") and " gCO2e " in line]
    assert [p[0] for p in printed] == ["setup", "train/epoch", "train/epoch", "train", "eval"]
    for line, phase in zip(printed, j["phases"]):
        assert float(line[3]) == pytest.approx(phase["energy_j"], abs=1e-3)
    fp16 = subprocess.run([sys.executable, EXAMPLE, "--precision", "fp16", "--device", "cpu",
                           "--data-dir", str(data_dir)], capture_output=True, text=True)
    assert fp16.returncode == 1
    assert fp16.stderr.strip() == ("pytorch_amp.py: fp16 autocast needs a GPU; use bf16 or "
                                   "fp32 on the CPU")
