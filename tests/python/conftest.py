"""Fixtures for the Python package tests: the greentrain binary under test, a clean meter
environment (no GPU, no RAPL, so the CPU and RAM figures are the documented estimates) and a
fake NVML GPU at constant power whose energy counter the windows must reproduce."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def binary():
    path = os.environ.get("GREENTRAIN_BIN")
    assert path and os.access(path, os.X_OK), "run through CTest: GREENTRAIN_BIN is not set"
    return path


@pytest.fixture
def no_gpu(monkeypatch, tmp_path, binary):
    """No NVML and no powercap tree: CPU and RAM are estimated, no GPU is metered."""
    monkeypatch.setenv("GREENTRAIN_NVML_LIB", str(tmp_path / "no-libnvidia-ml.so.1"))
    monkeypatch.setenv("GREENTRAIN_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.delenv("GREENTRAIN_MARK_FD", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    # Children that run elsewhere (an experiment's workload) import this same package.
    import greentrain
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(greentrain.__file__)))
    monkeypatch.setenv("PYTHONPATH", package_root)
    return tmp_path


@pytest.fixture
def fake_gpu(no_gpu, monkeypatch):
    """One fake GPU whose energy counter advances at `power_w` (returned) watts."""
    lib = os.environ.get("GREENTRAIN_TEST_FAKE_NVML_LIB")
    assert lib and os.path.exists(lib), "run through CTest: the fake NVML library is not set"
    script = no_gpu / "nvml.txt"
    script.write_text("gpus=1\ngpu0.name=Fake H200\ngpu0.uuid=GPU-fake\ngpu0.power_w=250\n")
    monkeypatch.setenv("GREENTRAIN_NVML_LIB", lib)
    monkeypatch.setenv("GREENTRAIN_FAKE_NVML", str(script))
    return 250.0


def python_child(code, env=None, **kwargs):
    """Runs `code` in a fresh /usr/bin/python3 with this package importable."""
    full_env = dict(os.environ if env is None else env)
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True,
                          text=True, **kwargs)


def counter_tolerance(m, expected_j, rel=0.02):
    """The tolerance of a window's GPU energy against the fake counter's exact figure: `rel`, or
    three times the uncertainty the meter states for it (the edges' timing, which a loaded
    machine stretches), whichever is larger."""
    details = m["details"] if isinstance(m, dict) else m.details  # a Measurement or to_dict()
    gpu = [d for d in details if d["component"] == "gpu"]
    stated = gpu[0].get("uncertainty_j") or 0.0 if gpu else 0.0
    return max(rel * expected_j, 3 * stated)


def run_tolerance(window_uncertainty_j, phase_energy_j, phase_uncertainty_j):
    """How far a window answered during a metered run may be from the phase the run computed
    after it: the same code over the same readings, except the GPU counter's update edges, which
    the edge tracker may re-time once it has seen later ones (within the stated uncertainties)."""
    return max(1e-6 * abs(phase_energy_j), window_uncertainty_j + phase_uncertainty_j)
