"""Inside a metered run (GREENTRAIN_MARK_FD set) the package writes the mark-channel lines, each
phase mark dated with its own instant, starts no meter process, and asks for a window's figures
on the channel only when one is read, taking the answer from GREENTRAIN_REPLY_FD. This test plays
the run's part with two pipes."""
import json
import os
import threading
import time

import pytest

import greentrain

from conftest import python_child


def read_all(fd):
    chunks = []
    while True:
        data = os.read(fd, 65536)
        if not data:
            return b"".join(chunks).decode()
        chunks.append(data)


def test_channel_mode_writes_marks_and_starts_no_meter(no_gpu):
    r, w = os.pipe()
    os.set_inheritable(w, True)
    env = dict(os.environ, GREENTRAIN_MARK_FD=str(w), GREENTRAIN_BIN="/nonexistent/greentrain")
    env.pop("GREENTRAIN_REPLY_FD", None)
    code = (
        "import greentrain, time\n"
        "m = greentrain.Meter(country='XYZ')\n"   # the run's options apply: no error here
        "assert m.in_metered_run and m.pid is None\n"
        "greentrain.set_default_meter(m)\n"
        "m.begin_window('train')\n"
        "for i in range(2):\n"
        "    with greentrain.window('epoch') as e: time.sleep(0.05); greentrain.metric('acc', i)\n"
        "greentrain.metric('test_accuracy', 0.883)\n"
        "assert e.result.in_metered_run and e.result.path == 'train/epoch'\n"
        "assert e.result.metrics == {'acc': 1.0} and e.result.duration_s >= 0.05\n"
        "m.begin_window('eval')\n"
        "try:\n"
        "    m.end_window('train')\n"
        "except greentrain.GreentrainError as err:\n"
        "    print(err)\n"
        "m.end_window('eval'); m.end_window('train')\n"
        "try:\n"
        "    e.result.energy_j\n"
        "except greentrain.GreentrainError as err:\n"
        "    print(err)\n")
    done = python_child(code, env=env, pass_fds=(w,))
    os.close(w)
    lines = read_all(r).splitlines()
    os.close(r)
    assert done.returncode == 0, done.stderr
    words = [line.split() for line in lines]
    assert [x[:3] for x in words] == [
        ["phase", "train", "begin"], ["phase", "epoch", "begin"], ["metric", "acc=0.0"],
        ["phase", "epoch", "end"], ["phase", "epoch", "begin"], ["metric", "acc=1.0"],
        ["phase", "epoch", "end"], ["metric", "test_accuracy=0.883"], ["phase", "eval", "begin"],
        ["phase", "eval", "end"], ["phase", "train", "end"]]
    # Each phase mark carries its writer's instant (CLOCK_MONOTONIC seconds), in order.
    instants = [float(x[3]) for x in words if x[0] == "phase"]
    assert instants == sorted(instants) and instants[-1] <= time.monotonic()
    out = done.stdout.strip().splitlines()
    # Overlapping windows cannot be phases: refused before anything is written, naming both.
    assert out[0] == ("window train: window eval, begun inside it, is still open; inside a "
                      "metered run windows nest (they become sub-phases such as train/eval) "
                      "and cannot overlap: end eval first")
    assert out[1].startswith("this metered run answers no window queries")


def fake_run(mark_r, reply_w, answered):
    """Answers each `window ID NAME T0 T1` line like a metered run would, from the instants."""
    buffered = b""
    while True:
        data = os.read(mark_r, 65536)
        if not data:
            break
        buffered += data
        *lines, buffered = buffered.split(b"\n")
        for raw in lines:
            parts = raw.decode().split()
            if parts[0] != "window":
                continue
            qid, name, t0, t1 = parts[1], parts[2], float(parts[3]), float(parts[4])
            answered.append(name)
            if name == "bad":
                os.write(reply_w, f"window {qid} error window bad: no such luck\n".encode())
                continue
            d = t1 - t0
            reply = {"name": name, "t_s": t1, "duration_s": d, "energy_j": 300 * d,
                     "net_energy_j": None, "co2e_g": 1e-3 * d, "wall_energy_j": None,
                     "uncertainty_j": 0.5,
                     "components": [
                         {"component": "gpu", "device": "0", "source": "measured",
                          "model": "nvml-energy-counter", "attribution": "machine",
                          "energy_j": 250 * d},
                         {"component": "cpu", "device": "cpu", "source": "estimated",
                          "model": "tdp-linear(x)", "attribution": "process",
                          "energy_j": 50 * d}],
                     "notes": []}
            os.write(reply_w, b"window 1.1 {}\n")  # another process's answer: left alone
            os.write(reply_w, f"window {qid} {json.dumps(reply)}\n".encode())
    os.close(reply_w)


def test_figures_are_asked_for_when_first_read(no_gpu, monkeypatch):
    mark_r, mark_w = os.pipe()
    reply_r, reply_w = os.pipe()
    monkeypatch.setenv("GREENTRAIN_MARK_FD", str(mark_w))
    monkeypatch.setenv("GREENTRAIN_REPLY_FD", str(reply_r))
    answered = []
    run = threading.Thread(target=fake_run, args=(mark_r, reply_w, answered))
    run.start()
    meter = greentrain.Meter()
    with meter.window("train") as t:
        for _ in range(3):
            with meter.window("epoch") as e:
                time.sleep(0.02)
    meter.begin_window("bad")
    bad = meter.end_window("bad")
    time.sleep(0.05)
    assert answered == []  # nothing read, nothing asked
    m = e.result
    assert m.path == "train/epoch" and m.parent == "train"
    assert m.energy_j == pytest.approx(300 * m.duration_s)
    assert m.components == {"gpu:0": pytest.approx(250 * m.duration_s),
                            "cpu": pytest.approx(50 * m.duration_s)}
    assert m.attribution == {"gpu:0": "machine", "cpu": "process"}
    assert m.sources["cpu"] == "estimated: tdp-linear(x)"
    assert m.net_energy_j is None and m.uncertainty_j == 0.5
    assert t.result.to_dict()["duration_s"] == t.result.duration_s
    with pytest.raises(greentrain.GreentrainError, match="window bad: no such luck"):
        bad.energy_j
    assert answered == ["epoch", "train", "bad"]
    meter.begin_window("unread")
    unread = meter.end_window("unread")
    os.close(mark_w)
    run.join(5)
    os.close(mark_r)
    # The run has ended: a window read now can get no answer, and says so in one line.
    with pytest.raises(greentrain.GreentrainError, match="metered run has ended"):
        unread.energy_j


def test_bad_mark_fd_is_one_line(no_gpu, monkeypatch):
    monkeypatch.setenv("GREENTRAIN_MARK_FD", "987")
    with pytest.raises(greentrain.GreentrainError,
                       match=r"GREENTRAIN_MARK_FD=987: not an open file descriptor"):
        greentrain.Meter()
    monkeypatch.setenv("GREENTRAIN_MARK_FD", "x")
    with pytest.raises(greentrain.GreentrainError, match="not a number"):
        greentrain.Meter()
    r, w = os.pipe()
    monkeypatch.setenv("GREENTRAIN_MARK_FD", str(w))
    monkeypatch.setenv("GREENTRAIN_REPLY_FD", "988")
    with pytest.raises(greentrain.GreentrainError,
                       match=r"GREENTRAIN_REPLY_FD=988: not an open file descriptor"):
        greentrain.Meter()
    os.close(r)
    os.close(w)
