"""greentrain for Python: meter your own training loop with greentrain's meters.

    import greentrain
    meter = greentrain.Meter(country="DEU", sync=torch.cuda.synchronize)
    meter.begin_window("train"); ...; m = meter.end_window("train")   # m.energy_j, m.co2e_g
    with greentrain.window("epoch") as w: ...                         # w.result
    @greentrain.track("fit")                                          # one window per call
    greentrain.metric("val_accuracy", 0.883)                          # stored with the epoch
    df = greentrain.runs("greentrain.db")                             # like `greentrain export`

The same code works standalone (a `greentrain meter --serve` child answers the windows) and
inside a metered run (`greentrain measure`, an experiment's command workload), where the windows
also become the run's phases (nested ones its sub-phases) and the metrics are stored with the
window they were reported in; a Measurement has the same figures in both. The module-level
window/track/metric use one default Meter, made on first use with default options
(set_default_meter replaces it). Callbacks for training frameworks: greentrain.lightning and
greentrain.transformers (imported only when asked for)."""
__version__ = "0.1.0"

import threading

from .errors import GreentrainError
from .measurement import Measurement
from .meter import Meter, Window
from .meter import track as _track
from .runs import export_csv, runs

__all__ = ["Meter", "Measurement", "GreentrainError", "Window", "window", "track", "metric",
           "runs", "export_csv", "default_meter", "set_default_meter"]

_default = None
_default_lock = threading.Lock()


def default_meter():
    """The Meter the module-level functions use (made with default options on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Meter()
        return _default


def set_default_meter(meter):
    """Makes `meter` the one window/track/metric use; returns the previous one (or None)."""
    global _default
    with _default_lock:
        previous, _default = _default, meter
        return previous


def window(name, sync=None, meter=None):
    """Context manager metering its block as window `name`; `.result` after the block."""
    return Window(meter or default_meter(), name, sync)


def track(name=None, sync=None, meter=None):
    """Decorator: one window per call of the function (named `name` or the function's name)."""
    return _track(name, sync=sync, meter=meter)


def metric(name, value, meter=None):
    """Records a metric; inside a metered run it is stored with the run."""
    (meter or default_meter()).metric(name, value)
