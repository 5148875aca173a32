"""Installing the package like any Python package, offline with Debian's tools: the platform
wheel (scripts/build-wheel, what `make wheel` runs) carries the greentrain binary and, installed
into a fresh virtual environment, meters a window with nothing else set up (no greentrain on
PATH, no GREENTRAIN_BIN, no source tree); `pip install ./python` installs the pure package,
which finds the binary the usual way."""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))

METER_A_WINDOW = """
import time, greentrain, greentrain.binary
with greentrain.Meter(gpus="none", interval_ms=20) as meter:
    with meter.window("w") as w:
        time.sleep(0.2)
print(greentrain.binary.find_binary())
print(greentrain.__file__)
print(w.result.energy_j > 0, w.result.sources["cpu"].startswith("estimated"))
"""


def pip(venv, *args):
    # Debian's pip, working on the venv's interpreter: the venv needs no pip of its own.
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                           "--disable-pip-version-check", "install", "--no-index", "--no-deps",
                           *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def run_in(venv, env, cwd):
    return subprocess.run([str(venv / "bin" / "python"), "-c", METER_A_WINDOW],
                          capture_output=True, text=True, env=env, cwd=cwd)


@pytest.fixture
def bare_env(no_gpu):
    """The meter environment of no_gpu, without anything that points at greentrain."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GREENTRAIN_BIN", "PYTHONPATH", "GREENTRAIN_MARK_FD",
                        "GREENTRAIN_REPLY_FD")}
    env["PATH"] = "/usr/bin:/bin"
    return env


def test_wheel_carries_the_binary_into_a_fresh_venv(bare_env, binary, tmp_path):
    dist = tmp_path / "dist"
    done = subprocess.run([os.path.join(SOURCE, "scripts", "build-wheel"), binary, str(dist)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    wheels = list(dist.glob("greentrain-*.whl"))
    assert len(wheels) == 1 and wheels[0].name.endswith("-py3-none-linux_x86_64.whl"), wheels
    assert not (dist / "stage").exists()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip(venv, str(wheels[0]))
    done = run_in(venv, bare_env, tmp_path)
    assert done.returncode == 0, done.stderr
    found, module, checks = done.stdout.splitlines()
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert found == str(site / "site-packages" / "greentrain" / "bin" / "greentrain")
    assert module.startswith(str(site))
    assert checks == "True True"
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    built = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    assert version == built
    # The package's version is the program's (CMake's project version).
    assert wheels[0].name.startswith(f"greentrain-{built.split()[1]}-")


def test_pip_install_of_the_source_folder(bare_env, binary, tmp_path):
    # A copy, so pip's build folders stay out of the source tree.
    src = tmp_path / "python"
    shutil.copytree(os.path.join(SOURCE, "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(venv)], check=True)
    pip(venv, "--no-build-isolation", str(src))
    done = run_in(venv, bare_env, tmp_path)
    assert done.returncode != 0 and "cannot find the greentrain executable" in done.stderr
    done = run_in(venv, dict(bare_env, GREENTRAIN_BIN=binary), tmp_path)
    assert done.returncode == 0, done.stderr
    found, module, checks = done.stdout.splitlines()
    assert found == binary and module.startswith(str(venv)) and checks == "True True"
