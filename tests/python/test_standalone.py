"""Standalone Meter against `greentrain meter --serve`: window energies are the fake NVML
counter's differences, overlapping and nested windows, the decorator and context manager,
sync callables, labelled estimates without a GPU, and the CLI's one-line errors."""
import subprocess
import time

import pytest

import greentrain

from conftest import counter_tolerance


def busy(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


def test_window_is_fake_counter_difference(fake_gpu):
    with greentrain.Meter() as meter:
        assert [m["component"] for m in meter.meters if m["source"] == "measured"] == ["gpu"]
        meter.begin_window("train")
        time.sleep(0.4)
        m = meter.end_window("train")
        assert m.duration_s == pytest.approx(0.4, abs=0.05)
        # The fake counter advances at 250 W since nvmlInit: the window's energy is 250 W × the
        # window's duration, up to the time between the server's clock read and counter read.
        assert m.components["gpu:0"] == pytest.approx(fake_gpu * m.duration_s, rel=0.02)
        assert m.sources["gpu:0"].startswith("measured: nvml-energy-counter")
        assert m.uncertainty_j is not None and 0 <= m.uncertainty_j < 0.05 * m.energy_j
        # The default attribution is `measure`'s: the GPU device, the estimated CPU and RAM
        # charged to this process tree; every figure says which.
        assert m.attribution == {"gpu:0": "machine", "cpu": "process", "ram": "process"}
        assert {d["component"]: d["attribution"] for d in m.details} == {
            "gpu": "machine", "cpu": "process", "ram": "process"}
        assert m.gpu_energy_j() == m.components["gpu:0"]
        assert m.energy_j == pytest.approx(sum(m.components.values()), rel=1e-9)
        # World intensity 481 g/kWh, PUE 1.
        assert m.co2e_g == pytest.approx(m.energy_j / 3.6e6 * 481, rel=1e-6)


def test_overlapping_and_nested_windows(fake_gpu):
    meter = greentrain.Meter()
    meter.begin_window("outer")
    epochs = []
    for i in range(3):
        meter.begin_window("epoch")
        if i == 1:
            meter.begin_window("overlap")  # begins in epoch 1, ends in epoch 2
        time.sleep(0.15)
        epochs.append(meter.end_window("epoch"))
        if i == 2:
            overlap = meter.end_window("overlap")
    outer = meter.end_window("outer")
    assert meter.open_windows == []
    gpu = [e.components["gpu:0"] for e in epochs]
    for e in epochs:
        assert e.components["gpu:0"] == pytest.approx(fake_gpu * e.duration_s, rel=0.02), \
            (e.details[0]["model"], e.details[0].get("uncertainty_j"), e.duration_s)
    # The epochs tile the outer window: an end and the begin written right after it share
    # one instant when the second arrives while the first is being read, else they are
    # microseconds apart.
    assert sum(e.duration_s for e in epochs) == pytest.approx(outer.duration_s, abs=0.002)
    assert sum(gpu) == pytest.approx(outer.components["gpu:0"], rel=0.005)
    assert overlap.duration_s == pytest.approx(epochs[1].duration_s + epochs[2].duration_s,
                                               rel=0.05)
    assert overlap.components["gpu:0"] == pytest.approx(fake_gpu * overlap.duration_s, rel=0.02)
    meter.close()


def test_context_manager_decorator_and_sync(fake_gpu):
    calls = []
    meter = greentrain.Meter(sync=lambda: calls.append("sync"))
    previous = greentrain.set_default_meter(meter)
    try:
        with greentrain.window("block") as w:  # long enough that a loaded poller's ms don't count
            time.sleep(0.3)
        assert w.result.name == "block"
        expected = fake_gpu * w.result.duration_s
        assert w.result.components["gpu:0"] == pytest.approx(
            expected, abs=counter_tolerance(w.result, expected))

        @greentrain.track("fit")
        def fit(seconds):
            time.sleep(seconds)
            return "done"

        @greentrain.track
        def evaluate():
            time.sleep(0.05)

        assert fit(0.1) == "done" and fit(0.2) == "done"
        evaluate()
        assert [m.name for m in fit.measurements] == ["fit", "fit"]
        assert fit.measurements[1].duration_s == pytest.approx(0.2, abs=0.05)
        assert fit.measurements[1].energy_j > fit.measurements[0].energy_j
        assert evaluate.measurements[0].name == "evaluate"
        assert calls == ["sync"] * 8  # two instants per window, four windows
        other = []
        meter.begin_window("own", sync=lambda: other.append(1))
        meter.end_window("own", sync=lambda: other.append(1)).energy_j
        assert other == [1, 1] and len(calls) == 8
        greentrain.metric("test_accuracy", 0.883)
        assert meter.metrics == {"test_accuracy": 0.883}
    finally:
        greentrain.set_default_meter(previous)
        meter.close()


def test_window_exception_still_ends_window(fake_gpu):
    with greentrain.Meter() as meter:
        with pytest.raises(ValueError):
            with meter.window("boom") as w:
                raise ValueError("user error")
        assert w.result.duration_s >= 0 and meter.open_windows == []


def test_cpu_only_machine_gives_labelled_estimates(no_gpu):
    with greentrain.Meter(interval_ms=20) as meter:
        assert {m["component"] for m in meter.meters} == {"cpu", "ram"}
        with meter.window("work") as w:
            busy(0.3)
        m = w.result
        assert set(m.components) == {"cpu", "ram"}
        assert m.sources["cpu"].startswith("estimated: tdp-linear")
        assert m.sources["ram"].startswith("estimated: ")
        assert m.components["cpu"] > 0 and m.components["ram"] > 0
        assert repr(m).endswith("estimated: cpu ram)")


def cli_error(binary, *args):
    done = subprocess.run([binary, "measure", *args, "--", "true"], capture_output=True,
                          text=True)
    assert done.returncode == 2
    return done.stderr.strip().splitlines()[-1].removeprefix("greentrain: ")


def test_errors_carry_the_cli_message(fake_gpu, binary):
    with pytest.raises(greentrain.GreentrainError) as e:
        greentrain.Meter(country="XYZ")
    assert str(e.value) == cli_error(binary, "--country", "XYZ")
    assert e.value.exit_code == 2
    with pytest.raises(greentrain.GreentrainError) as e:
        greentrain.Meter(gpus=[3])
    assert str(e.value) == cli_error(binary, "--gpus", "3")
    assert "no GPU '3'" in str(e.value)
    with pytest.raises(greentrain.GreentrainError) as e:
        greentrain.Meter(interval_ms=5)
    assert str(e.value) == cli_error(binary, "--interval-ms", "5")


def test_window_misuse_is_an_error(fake_gpu, monkeypatch):
    with greentrain.Meter() as meter:
        meter.begin_window("a")
        time.sleep(0.05)
        with pytest.raises(greentrain.GreentrainError, match="window a: already begun"):
            meter.begin_window("a")
        with pytest.raises(greentrain.GreentrainError, match="window b: not begun"):
            meter.end_window("b")
        for bad in ("a b", "1st", "a-b", "x" * 65, ""):
            with pytest.raises(greentrain.GreentrainError,
                               match=r"window name .*: expected a letter, then letters"):
                meter.begin_window(bad)
        with pytest.raises(greentrain.GreentrainError, match="is not a number"):
            meter.metric("loss", "low")
        with pytest.raises(greentrain.GreentrainError, match="not a finite number"):
            meter.metric("loss", float("nan"))
        assert meter.end_window("a").energy_j > 0
    monkeypatch.setenv("GREENTRAIN_BIN", "/nonexistent/greentrain")
    with pytest.raises(greentrain.GreentrainError, match="GREENTRAIN_BIN=/nonexistent"):
        greentrain.Meter()


def test_server_protocol_errors_do_not_stop_it(fake_gpu, binary):
    done = subprocess.run([binary, "meter", "--serve"], input="hello\nend x\nbegin x\nend x\nbegin 1x\n",
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ready {")
    assert lines[1].startswith('error unknown request "hello"')
    assert lines[2] == "error window x: not begun"
    assert lines[3].startswith("ok {") and lines[4].startswith("ok {")
    assert lines[5].startswith('error unknown request "begin 1x"')
    bare = subprocess.run([binary, "meter"], capture_output=True, text=True)
    assert bare.returncode == 2 and "give --serve" in bare.stderr


def test_an_end_before_its_begin_is_an_error_and_the_window_stays_open(fake_gpu, binary):
    proc = subprocess.Popen([binary, "meter", "--serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("ready ")
    time.sleep(0.1)
    t0 = time.monotonic()
    time.sleep(0.1)
    t1 = time.monotonic()
    proc.stdin.write(f"begin w {t1:.9f}\nend w {t0:.9f}\nend w\n")
    proc.stdin.flush()
    replies = [proc.stdout.readline() for _ in range(3)]
    proc.stdin.close()
    assert proc.wait(10) == 0
    assert replies[0].startswith("ok ")
    assert replies[1].startswith(f"error window w: its end {t0:.6f} is before its begin "
                                 f"{t1:.6f}"), replies[1]
    import json
    window = json.loads(replies[2][3:])  # the window stayed open; a later end closes it
    assert replies[2].startswith("ok ") and window["duration_s"] > 0
    assert window["energy_j"] >= 0


def test_window_pair_does_not_wait_for_the_meter(fake_gpu):
    with greentrain.Meter() as meter:
        start = time.perf_counter()
        results = []
        for _ in range(50):
            meter.begin_window("step")
            results.append(meter.end_window("step"))
        per_pair = (time.perf_counter() - start) / 50
        assert all(r.energy_j >= 0 for r in results)
        assert per_pair < 0.005  # the calls only write a line; replies come in behind


def test_client_instants_date_the_window(fake_gpu, binary):
    """`begin NAME T` / `end NAME T`: the window runs from T to T (the client's calls), not
    from when the meter read the requests, and the counter is interpolated at those instants."""
    proc = subprocess.Popen([binary, "meter", "--serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("ready ")
    time.sleep(0.3)
    t0 = time.monotonic()
    time.sleep(0.2)  # the requests arrive late: the window is still t0 .. t0 + 0.1
    proc.stdin.write(f"begin w {t0:.9f}\nend w {t0 + 0.1:.9f}\nbegin late 1.5\n")
    proc.stdin.write(f"begin future {time.monotonic() + 100:.9f}\n")
    proc.stdin.flush()
    import json
    replies = [proc.stdout.readline() for _ in range(4)]
    proc.stdin.close()
    assert proc.wait(10) == 0
    assert replies[0].startswith("ok ")
    w = json.loads(replies[1][3:])
    assert w["duration_s"] == pytest.approx(0.1, abs=1e-6)
    gpu = next(c for c in w["components"] if c["component"] == "gpu")
    assert gpu["energy_j"] == pytest.approx(fake_gpu * 0.1, rel=0.05)
    assert replies[2].startswith("error window late: time 1.500000 is not between the meter's")
    assert replies[3].startswith("error window future: time ")
