"""Meter: named energy windows around any Python code, with one code path wherever it runs.

A window is two instants on CLOCK_MONOTONIC (time.monotonic()), taken when begin_window and
end_window are called. Its figures are asked for when a field of its Measurement is first read,
with the same query everywhere (replies.py):
- inside a metered run (`greentrain measure`, an experiment's command workload:
  GREENTRAIN_MARK_FD is set) the windows are also written to the run's mark channel, so they
  become the run's phases (nested windows are sub-phases: `train/epoch`) and metrics reported
  inside a window are stored with that occurrence; the run answers the queries; its own meter
  options apply;
- standalone a `greentrain meter --serve` child answers them, with the same C++ code.
Windows nest. Standalone, windows with different names may also overlap; inside a metered run
they cannot (they split the run into phases), and ending a window while one begun inside it is
still open is an error naming both. An optional `sync` callable (e.g. torch.cuda.synchronize)
runs before each window instant, so queued GPU work is counted in the window it was launched
in."""
import os
import threading
import time
import weakref

from .binary import find_binary
from .channel import RunChannel
from .client import MeterProcess
from .errors import GreentrainError
from .measurement import Measurement
from .names import check_metric, check_name

ATTRIBUTIONS = ("auto", "process", "machine")


def _meter_arguments(gpus, interval_ms, gpu_counter_ms, country, region, intensity, pue,
                     cpu_tdp_w, ram_watts, attribution, prometheus_push=None):
    args = ["--interval-ms", str(int(interval_ms)), "--attribution", attribution,
            "--root-pid", str(os.getpid())]
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


class _Open:
    """A begun window: its instant, its path and the metrics reported while it is innermost."""

    def __init__(self, name, t0, path):
        self.name, self.t0, self.path, self.metrics = name, t0, path, {}


class Meter:
    """Meters named windows. Arguments are those of `greentrain measure` (standalone only; inside
    a metered run the run's options apply):

    gpus: None (CUDA_VISIBLE_DEVICES or all), "none" or [], an index, a list of indices or
    UUIDs; interval_ms: sampling interval; gpu_counter_ms: how often the sampler reads the
    GPU energy counter; country / region / intensity / pue: carbon intensity for co2e_g;
    cpu_tdp_w, ram_watts: override the CPU and RAM estimates; attribution: whose CPU and RAM
    energy, "process" (this Python process and its descendants), "machine", or "auto" (the
    default, as in `greentrain measure`: process for estimates, machine for counters); every
    figure says which in Measurement.attribution; prometheus_push: a Prometheus Pushgateway
    URL to which each window is pushed as it ends (inside a metered run, the run's own
    --prometheus-push applies); sync: a callable run before every window instant; binary: the
    greentrain executable (default: GREENTRAIN_BIN, the one inside an installed wheel, PATH,
    then the source tree's build folder)."""

    def __init__(self, gpus=None, interval_ms=100, country=None, region=None, intensity=None,
                 pue=None, cpu_tdp_w=None, ram_watts=None, gpu_counter_ms=None, sync=None,
                 binary=None, attribution="auto", prometheus_push=None):
        if attribution not in ATTRIBUTIONS:
            raise GreentrainError(
                f"attribution {attribution!r}: expected process, machine or auto")
        self.sync = sync
        self._push = prometheus_push is not None  # each window is asked for as it ends
        self.metrics = {}
        self._open = []  # begun windows, in the order they began
        self._lock = threading.RLock()
        self._unasked = weakref.WeakSet()  # ended windows whose figures nobody read yet
        self._server = None
        self._channel = None
        fd = os.environ.get("GREENTRAIN_MARK_FD")
        if fd:
            self._channel = RunChannel(fd, os.environ.get("GREENTRAIN_REPLY_FD"))
            self.ready = None
            return
        args = _meter_arguments(gpus, interval_ms, gpu_counter_ms, country, region, intensity,
                                pue, cpu_tdp_w, ram_watts, attribution, prometheus_push)
        self._server = MeterProcess(binary or find_binary(), args)
        self.ready = self._server.ready

    # -- what is metered ------------------------------------------------------------------
    @property
    def in_metered_run(self):
        """True when the windows are the phases of an enclosing metered run."""
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
        return time.monotonic()  # CLOCK_MONOTONIC, the meter's clock

    def _find(self, name):
        for k in range(len(self._open) - 1, -1, -1):
            if self._open[k].name == name:
                return k
        return None

    def _backend(self):
        backend = self._channel or self._server
        if backend is None:
            raise GreentrainError("this Meter is closed")
        if self._server is not None:
            self._server.check_owner()
        return backend

    def begin_window(self, name, sync=None):
        """Starts window `name` now (after running `sync`, or the Meter's sync)."""
        check_name(name)
        with self._lock:
            self._backend()
            if self._find(name) is not None:
                raise GreentrainError(f"window {name}: already begun")
            t0 = self._instant(sync)
            if self._channel is not None:
                self._channel.write(f"phase {name} begin {t0:.9f}")
            parent = self._open[-1].path + "/" if self._open else ""
            self._open.append(_Open(name, t0, parent + name))

    def end_window(self, name, sync=None):
        """Ends window `name` now and returns its Measurement (figures answered on first use)."""
        check_name(name)
        with self._lock:
            backend = self._backend()
            k = self._find(name)
            if k is None:
                raise GreentrainError(f"window {name}: not begun")
            if self._channel is not None and k != len(self._open) - 1:
                inner = ", ".join(o.name for o in self._open[k + 1:])
                raise GreentrainError(
                    f"window {name}: window {inner}, begun inside it, is still open; inside a "
                    f"metered run windows nest (they become sub-phases such as "
                    f"{self._open[k + 1].path}) and cannot overlap: end {inner} first")
            t1 = self._instant(sync)
            window = self._open.pop(k)
            if self._channel is not None:
                self._channel.write(f"phase {name} end {t1:.9f}")
            m = Measurement(name, window.t0, t1, backend.query, path=window.path,
                            metrics=window.metrics, in_metered_run=self.in_metered_run,
                            timeout_s=getattr(backend, "answer_timeout_s", None))
            if self._server is not None:
                if self._push:
                    m.request()  # answered, and so pushed, now rather than on first use
                else:
                    self._unasked.add(m)
            return m

    def window(self, name, sync=None):
        """Context manager: `with meter.window("epoch") as w: ...`, then `w.result`."""
        return Window(self, name, sync)

    def track(self, name=None, sync=None):
        """Decorator: one window per call, named `name` or the function's name."""
        return track(name, sync=sync, meter=self)

    def metric(self, name, value):
        """Records a metric (a number). It belongs to the innermost open window (its
        Measurement's `metrics`; inside a metered run, that phase occurrence in the database),
        and to the run as a whole (the last value reported)."""
        number = check_metric(name, value)
        with self._lock:
            if self._channel is not None:
                self._channel.write(f"metric {name}={number!r}")
            if self._open:
                self._open[-1].metrics[name] = number
            self.metrics[name] = number

    @property
    def open_windows(self):
        return [o.name for o in self._open]

    def close(self):
        """Stops the meter child (standalone) once the windows that ended are answered, so
        their figures stay readable; open windows are dropped."""
        with self._lock:
            if self._server is not None:
                for m in list(self._unasked):
                    try:
                        m.request()
                    except GreentrainError:
                        break  # the meter has gone: nothing more can be asked
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
