"""The framework-neutral part of the training-framework callbacks (greentrain.lightning,
greentrain.transformers): windows opened and closed by name on one Meter made on first use,
each ended window's Measurement kept, a framework's metrics reported as greentrain metrics
(names made valid, tensors of one element made numbers), and a window's figures as the flat
dict a framework's logger takes. Standard library only; torch is used when the program has
imported it, to synchronise CUDA at each window instant."""
import math
import re
import sys

from .errors import GreentrainError
from .meter import Meter
from .names import check_name

_INVALID = re.compile(r"[^A-Za-z0-9_]")


def metric_name(key):
    """A framework's metric key as a greentrain name: 'val/acc' -> 'val_acc', '1x' -> 'm_1x'."""
    name = _INVALID.sub("_", str(key))
    if not name[:1].isalpha():
        name = "m_" + name
    return name[:64]


def scalar(value):
    """A finite float from a number or a one-element tensor/array, else None."""
    try:
        if hasattr(value, "numel") and value.numel() != 1:
            return None
        if hasattr(value, "item"):
            value = value.item()
        number = float(value)
    except (TypeError, ValueError, RuntimeError):
        return None
    return number if math.isfinite(number) else None


def cuda_sync():
    """Waits for the GPU's queued work when the program uses CUDA through torch (never starts
    CUDA itself)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


class EnergyRecorder:
    """Windows by name on one Meter, their Measurements, and metrics reported in them.

    meter: a greentrain.Meter to use (default: one made on first use with `meter_options`, the
    arguments of greentrain.Meter); sync: run before each window instant (default: CUDA
    synchronisation when torch uses CUDA)."""

    def __init__(self, meter=None, sync=None, **meter_options):
        self._meter = meter
        self._sync = sync if sync is not None else cuda_sync
        self._options = meter_options
        self._open = []
        self.measurements = []  # (path, Measurement) of every ended window, in order

    @property
    def meter(self):
        if self._meter is None:
            self._meter = Meter(sync=self._sync, **self._options)
        return self._meter

    def is_open(self, name):
        return name in self._open

    def begin(self, name):
        check_name(name)
        self.meter.begin_window(name)
        self._open.append(name)

    def end(self, name):
        """Ends window `name` (and any still open inside it first); returns its Measurement."""
        if name not in self._open:
            raise GreentrainError(f"window {name}: not begun")
        while self._open[-1] != name:
            self.end(self._open[-1])
        self._open.pop()
        m = self.meter.end_window(name)
        self.measurements.append((m.path, m))
        return m

    def end_all(self):
        """Ends every open window, innermost first (a failed or interrupted training)."""
        while self._open:
            self.end(self._open[-1])

    def report(self, metrics):
        """Reports each scalar of `metrics` (a mapping) as a greentrain metric; returns them."""
        reported = {}
        for key, value in dict(metrics or {}).items():
            number = scalar(value)
            if number is not None:
                name = metric_name(key)
                self.meter.metric(name, number)
                reported[name] = number
        return reported

    @staticmethod
    def figures(prefix, m):
        """A window's figures for a logger: PREFIX_energy_j, _duration_s, _co2e_g and, with a
        GPU metered, _gpu_energy_j (reading them waits for the meter's answer)."""
        out = {f"{prefix}_energy_j": m.energy_j, f"{prefix}_duration_s": m.duration_s,
               f"{prefix}_co2e_g": m.co2e_g}
        if any(k.startswith("gpu:") for k in m.components):
            out[f"{prefix}_gpu_energy_j"] = m.gpu_energy_j()
        return out


class RecordingCallback:
    """What every framework callback exposes of its EnergyRecorder (self.recorder)."""

    @property
    def measurements(self):
        """(path, Measurement) of every ended window, in the order they ended."""
        return self.recorder.measurements

    @property
    def meter(self):
        """The greentrain.Meter the windows are on (made on first use)."""
        return self.recorder.meter
