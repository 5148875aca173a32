"""Meter: named energy windows around any Python code.

Two modes, chosen when the Meter is made:
- inside a metered run (GREENTRAIN_MARK_FD is set), windows and metrics are written to the
  run's mark channel and become the run's phases and metrics in its results; no meter runs
  in this process and the run's own meter options apply;
- standalone, a `greentrain meter --serve` child does the metering with the same C++ meters
  as every other greentrain command, and end_window returns the window's Measurement.
Windows are named; standalone, windows with different names may overlap or nest (inside a
metered run they cannot: they split the run into phases). An optional `sync`
callable (e.g. torch.cuda.synchronize) runs before each window instant, so queued GPU work
is counted in the window it was launched in."""
import os
import time

from .binary import find_binary
from .channel import MarkChannel
from .client import MeterProcess
from .errors import GreentrainError
from .measurement import Measurement, Pending
from .names import check_metric, check_name


class _Chain(Pending):
    """The end reply of a window, failing with the begin reply's error if that one failed."""

    def __init__(self, begin, end):
        super().__init__()
        self._begin, self._end = begin, end

    def wait(self, timeout=None):
        self._begin.wait(timeout)
        return self._end.wait(timeout)

    def done(self):
        return self._begin.done() and self._end.done()


def _meter_arguments(gpus, interval_ms, gpu_counter_ms, country, region, intensity, pue,
                     cpu_tdp_w, ram_watts, prometheus_push=None):
    args = ["--interval-ms", str(int(interval_ms))]
    if gpus is not None:
        if isinstance(gpus, str):
            args += ["--gpus", gpus]
        elif isinstance(gpus, int):
            args += ["--gpus", str(gpus)]
        else:
            listed = ",".join(str(g) for g in gpus)
            args += ["--gpus", listed or "none"]
    for flag, value in (("--gpu-counter-ms", gpu_counter_ms), ("--country", country),
                        ("--region", region), ("--intensity", intensity), ("--pue", pue),
                        ("--cpu-tdp", cpu_tdp_w), ("--ram-watts", ram_watts),
                        ("--prometheus-push", prometheus_push)):
        if value is not None:
            args += [flag, str(value)]
    return args


class Meter:
    """Meters named windows. Arguments are those of `greentrain measure` (standalone only):

    gpus: None (CUDA_VISIBLE_DEVICES or all), "none" or [], an index, a list of indices or
    UUIDs; interval_ms: sampling interval; gpu_counter_ms: how often the sampler reads the
    GPU energy counter between windows (window instants always read it); country / region /
    intensity / pue: carbon intensity for co2e_g; cpu_tdp_w, ram_watts: override the CPU and
    RAM estimates; prometheus_push: a Prometheus Pushgateway URL to which each window is
    pushed as it ends (inside a metered run, the run's own --prometheus-push applies); sync: a
    callable run before every window instant; binary: the greentrain executable (default:
    GREENTRAIN_BIN, PATH, then the source tree's build folder)."""

    def __init__(self, gpus=None, interval_ms=100, country=None, region=None, intensity=None,
                 pue=None, cpu_tdp_w=None, ram_watts=None, gpu_counter_ms=None, sync=None,
                 binary=None, prometheus_push=None):
        self.sync = sync
        self.metrics = {}
        self._open = {}
        self._server = None
        self._channel = None
        fd = os.environ.get("GREENTRAIN_MARK_FD")
        if fd:
            self._channel = MarkChannel(fd)
            self.ready = None
            return
        args = _meter_arguments(gpus, interval_ms, gpu_counter_ms, country, region, intensity,
                                pue, cpu_tdp_w, ram_watts, prometheus_push)
        self._server = MeterProcess(binary or find_binary(), args)
        self.ready = self._server.ready

    # -- what is metered ------------------------------------------------------------------
    @property
    def in_metered_run(self):
        """True when the windows go to an enclosing metered run's mark channel."""
        return self._channel is not None

    @property
    def meters(self):
        """The meters of the child: [{component, device, source, model}] (standalone)."""
        return [] if self.ready is None else self.ready.get("meters", [])

    @property
    def notes(self):
        """What is estimated or missing, in words (standalone)."""
        return [] if self.ready is None else self.ready.get("notes", [])

    @property
    def pid(self):
        """Process id of the meter child, or None inside a metered run."""
        return None if self._server is None else self._server.pid

    # -- windows --------------------------------------------------------------------------
    def _instant(self, sync):
        fn = self.sync if sync is None else sync
        if fn:
            fn()

    def begin_window(self, name, sync=None):
        """Starts window `name` now (after running `sync`, or the Meter's sync)."""
        check_name(name)
        if name in self._open:
            raise GreentrainError(f"window {name}: already begun")
        if self._channel is not None and self._open:
            raise GreentrainError(
                f"window {name}: window {next(iter(self._open))} is still open; inside a "
                "metered run windows become the run's phases, which cannot nest or overlap")
        self._instant(sync)
        if self._channel is not None:
            self._channel.write(f"phase {name} begin")
            self._open[name] = (time.perf_counter(), None)
        else:
            at = time.monotonic()  # CLOCK_MONOTONIC, the meter's clock: the call's instant
            self._open[name] = (time.perf_counter(),
                                self._server.request(f"begin {name} {at:.9f}"))

    def end_window(self, name, sync=None):
        """Ends window `name` now and returns its Measurement (fields resolve on first use)."""
        check_name(name)
        if name not in self._open:
            raise GreentrainError(f"window {name}: not begun")
        self._instant(sync)
        t0, begun = self._open.pop(name)
        if self._channel is not None:
            self._channel.write(f"phase {name} end")
            return Measurement(name, duration_s=time.perf_counter() - t0, in_metered_run=True)
        at = time.monotonic()
        return Measurement(name, _Chain(begun, self._server.request(f"end {name} {at:.9f}")))

    def window(self, name, sync=None):
        """Context manager: `with meter.window("epoch") as w: ...`, then `w.result`."""
        return Window(self, name, sync)

    def track(self, name=None, sync=None):
        """Decorator: one window per call, named `name` or the function's name."""
        return track(name, sync=sync, meter=self)

    def metric(self, name, value):
        """Records a metric (a number): in a metered run it goes to the run's metrics."""
        number = check_metric(name, value)
        if self._channel is not None:
            self._channel.write(f"metric {name}={number!r}")
        self.metrics[name] = number

    @property
    def open_windows(self):
        return list(self._open)

    def close(self):
        """Stops the meter child (standalone); open windows are dropped."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self._open.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Window:
    """The context manager returned by window(); `result` is the Measurement after the block."""

    def __init__(self, meter, name, sync=None):
        check_name(name)
        self.meter, self.name, self.sync, self.result = meter, name, sync, None

    def __enter__(self):
        self.meter.begin_window(self.name, self.sync)
        return self

    def __exit__(self, *exc):
        self.result = self.meter.end_window(self.name, self.sync)
        return False


def track(name=None, sync=None, meter=None):
    """Decorator: `@greentrain.track("fit")` meters every call of the function as one window.
    The function's `measurements` list collects each call's Measurement."""
    import functools

    def wrap(fn):
        window_name = name or fn.__name__
        check_name(window_name)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            from . import default_meter
            w = Window(meter or default_meter(), window_name, sync)
            with w:
                value = fn(*args, **kwargs)
            run.measurements.append(w.result)
            return value

        run.measurements = []
        return run

    if callable(name):  # @greentrain.track without parentheses
        fn, name = name, None
        return wrap(fn)
    return wrap
