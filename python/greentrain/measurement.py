"""Measurement: what one window cost, as returned by Meter.end_window and window().result.

The window's instants are fixed when begin/end are called. Its figures are asked for the first
time one of them is read (a window query, replies.py): from the `greentrain meter --serve` child
standalone, from the metered run inside `greentrain measure` or an experiment. Both answer
with the same code and the same fields, so a script reads the same Measurement wherever it
runs. Reading waits for the answer, which comes once the meters have read past the window's end
(about 0.1 s after it for a GPU counter); a script that never reads a figure never asks. The
name, path, duration and metrics are known at once."""
import threading

from .errors import GreentrainError


class Pending:
    """An answer that will arrive from the meter (set by a reader thread)."""

    def __init__(self):
        self._done = threading.Event()
        self._value = None
        self._error = None

    def set(self, value):
        self._value = value
        self._done.set()

    def fail(self, message, exit_code=None):
        self._error = GreentrainError(message, exit_code)
        self._done.set()

    def wait(self, timeout=None):
        if not self._done.wait(timeout):
            raise GreentrainError(
                f"the greentrain meter did not answer within {timeout:g} s (inside a metered "
                "run the answers go to one reader: does another process of the run read "
                "windows too?)")
        if self._error is not None:
            raise self._error
        return self._value

    def done(self):
        return self._done.is_set()


def _component_key(entry):
    """'gpu:0' for a GPU, else the component ('cpu', 'ram', 'wall'), as in the results."""
    if entry["component"] == "gpu":
        return f"gpu:{entry['device']}"
    return entry["component"]


class Measurement:
    """Energy, duration and CO2e of one window.

    Known at once: name, path ("train/epoch" for an epoch window begun inside a train window),
    parent ("train"), duration_s, metrics (those reported while it was the innermost open
    window), in_metered_run. Answered by the meter on first use: energy_j (GPU + CPU + RAM),
    net_energy_j (against an idle baseline, else None), co2e_g, components ({"gpu:0": J,
    "cpu": J, "ram": J}; several CPU packages are summed), sources ({"gpu:0": "measured:
    nvml-energy-counter ...", "cpu": "estimated: tdp-linear(...)"}), attribution ({"cpu":
    "process", "gpu:0": "machine", ...}), details (the per-device list from the meter), notes,
    wall_energy_j, uncertainty_j (of the measured components)."""

    _ANSWERED = ("energy_j", "net_energy_j", "co2e_g", "wall_energy_j", "uncertainty_j",
                 "components", "sources", "attribution", "details", "notes")

    def __init__(self, name, t0, t1, ask, path=None, metrics=None, in_metered_run=False,
                 timeout_s=None):
        """`ask(name, t0, t1)` sends the window query and returns its Pending."""
        self.name = name
        self.path = path or name
        self.parent = self.path.rpartition("/")[0]
        self.duration_s = t1 - t0
        self.metrics = dict(metrics or {})
        self.in_metered_run = in_metered_run
        self._t0, self._t1 = t0, t1
        self._ask = ask
        self._timeout_s = timeout_s
        self._pending = None
        self._data = None
        self._lock = threading.Lock()

    def request(self):
        """Sends the window query now, if not yet sent (reading a figure does it)."""
        with self._lock:
            if self._pending is None and self._data is None:
                self._pending = self._ask(self.name, self._t0, self._t1)

    @property
    def asked(self):
        return self._pending is not None or self._data is not None

    def _resolve(self):
        if self._data is None:
            self.request()
            reply = self._pending.wait(self._timeout_s)
            components, sources, attribution = {}, {}, {}
            for entry in reply.get("components", []):
                key = _component_key(entry)
                components[key] = components.get(key, 0.0) + float(entry["energy_j"])
                sources[key] = f"{entry['source']}: {entry['model']}"
                attribution[key] = entry.get("attribution", "machine")
            self._data = {
                "energy_j": reply["energy_j"],
                "net_energy_j": reply.get("net_energy_j"),
                "co2e_g": reply.get("co2e_g"),
                "wall_energy_j": reply.get("wall_energy_j"),
                "uncertainty_j": reply.get("uncertainty_j"),
                "components": components,
                "sources": sources,
                "attribution": attribution,
                "details": reply.get("components", []),
                "notes": reply.get("notes", []),
            }
        return self._data

    def __getattr__(self, attr):
        if attr in Measurement._ANSWERED:
            return self._resolve()[attr]
        raise AttributeError(attr)

    @property
    def ready(self):
        """True when the figures are in (reading one would not wait)."""
        return self._data is not None or (self._pending is not None and self._pending.done())

    def gpu_energy_j(self):
        """Sum of every GPU's energy in J (0.0 when no GPU was metered)."""
        return sum(v for k, v in self.components.items() if k.startswith("gpu:"))

    def to_dict(self):
        data = dict(self._resolve())
        data.update(name=self.name, path=self.path, parent=self.parent,
                    duration_s=self.duration_s, metrics=dict(self.metrics),
                    in_metered_run=self.in_metered_run)
        return data

    def __repr__(self):
        d = self._resolve()
        parts = ", ".join(f"{k}={v:.6g}" for k, v in d["components"].items())
        estimated = [k for k, s in d["sources"].items() if s.startswith("estimated")]
        label = f", estimated: {' '.join(estimated)}" if estimated else ""
        return (f"Measurement({self.path!r}, duration_s={self.duration_s:.6g}, "
                f"energy_j={d['energy_j']:.6g}, co2e_g={d['co2e_g']:.6g}, {parts}{label})")
