"""Meter(prometheus_push=...): each window a standalone Meter ends reaches a real Pushgateway
(Debian's prometheus-pushgateway, started on a loopback port) as a phase, with the energy the
window's Measurement states."""
import os
import socket
import subprocess
import time
import urllib.request

import pytest

import greentrain

PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pushgateway(tmp_path):
    assert os.path.exists(PUSHGATEWAY), (
        "install Debian's prometheus-pushgateway (scripts/install-deps)")
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen([PUSHGATEWAY, "--web.listen-address=" + url[7:], "--persistence.file="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait()


def sample(text, name, **labels):
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        inside, value = line[len(name) + 1:].rsplit("} ", 1)
        have = dict(part.split("=", 1) for part in inside.split(","))
        if all(have.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(value)
    return None


def scrape(url):
    return urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()


def test_each_window_is_pushed_as_it_ends(fake_gpu, pushgateway):
    with greentrain.Meter(interval_ms=20, prometheus_push=pushgateway) as meter:
        with meter.window("fit") as w:
            time.sleep(0.2)
        # On the gateway while the meter still runs, before any figure was read here.
        deadline = time.monotonic() + 10
        while sample(scrape(pushgateway), "greentrain_duration_seconds_total", phase="fit") is None:
            assert time.monotonic() < deadline, "the window never reached the Pushgateway"
            time.sleep(0.05)
        m = w.result
        assert m.energy_j > 0
    text = scrape(pushgateway)
    assert sample(text, "greentrain_energy_joules_total", phase="fit",
                  component="gpu") == pytest.approx(m.components["gpu:0"], rel=1e-12)
    assert sample(text, "greentrain_duration_seconds_total",
                  phase="fit") == pytest.approx(m.duration_s, rel=1e-12)
