"""Measurement: what one window cost, as returned by Meter.end_window and window().result.

Standalone, the figures come from the `greentrain meter --serve` child. The window's instants
are fixed when begin/end are called; the child answers after reading its meters, so the
object is returned at once and its fields wait for that answer on first use (a training loop
is not held up by the counter reads). Inside a metered run the energy goes to the run's
phases in the database, and here only the name and the duration measured in Python are
known (energy fields are None, `in_metered_run` is True)."""
import threading

from .errors import GreentrainError


class Pending:
    """A reply that will arrive from the meter child (set by its reader thread)."""

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
            raise GreentrainError("the greentrain meter did not answer in time")
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

    Attributes: name, duration_s, energy_j (GPU + CPU + RAM), co2e_g, components
    ({"gpu:0": J, "cpu": J, "ram": J}; several CPU packages are summed), sources
    ({"gpu:0": "measured: nvml-energy-counter", "cpu": "estimated: tdp-linear(...)"}),
    details (the per-device list from the meter, with each figure's attribution), notes,
    wall_energy_j, uncertainty_j (of the measured components, when known), in_metered_run."""

    _FIELDS = ("duration_s", "energy_j", "co2e_g", "wall_energy_j", "uncertainty_j",
               "components", "sources", "details", "notes")

    def __init__(self, name, pending=None, duration_s=None, in_metered_run=False):
        self.name = name
        self.in_metered_run = in_metered_run
        self._pending = pending
        self._data = None
        if pending is None:
            self._data = {"duration_s": duration_s, "energy_j": None, "co2e_g": None,
                          "wall_energy_j": None, "uncertainty_j": None, "components": {},
                          "sources": {},
                          "details": [], "notes": []}

    def _resolve(self):
        if self._data is None:
            reply = self._pending.wait()
            components, sources = {}, {}
            for entry in reply.get("components", []):
                key = _component_key(entry)
                components[key] = components.get(key, 0.0) + float(entry["energy_j"])
                sources[key] = f"{entry['source']}: {entry['model']}"
            self._data = {
                "duration_s": reply["duration_s"],
                "energy_j": reply["energy_j"],
                "co2e_g": reply.get("co2e_g"),
                "wall_energy_j": reply.get("wall_energy_j"),
                "uncertainty_j": reply.get("uncertainty_j"),
                "components": components,
                "sources": sources,
                "details": reply.get("components", []),
                "notes": reply.get("notes", []),
            }
        return self._data

    def __getattr__(self, attr):
        if attr in Measurement._FIELDS:
            return self._resolve()[attr]
        raise AttributeError(attr)

    @property
    def ready(self):
        """True when the figures are in (reading a field would not wait)."""
        return self._data is not None or self._pending.done()

    def gpu_energy_j(self):
        """Sum of every GPU's energy in J (0.0 when no GPU was metered)."""
        return sum(v for k, v in self.components.items() if k.startswith("gpu:"))

    def to_dict(self):
        data = dict(self._resolve())
        data["name"] = self.name
        data["in_metered_run"] = self.in_metered_run
        return data

    def __repr__(self):
        if self.in_metered_run:
            return f"Measurement({self.name!r}, duration_s={self.duration_s:.6g}, in a metered run)"
        d = self._resolve()
        parts = ", ".join(f"{k}={v:.6g}" for k, v in d["components"].items())
        estimated = [k for k, s in d["sources"].items() if s.startswith("estimated")]
        label = f", estimated: {' '.join(estimated)}" if estimated else ""
        return (f"Measurement({self.name!r}, duration_s={d['duration_s']:.6g}, "
                f"energy_j={d['energy_j']:.6g}, co2e_g={d['co2e_g']:.6g}, {parts}{label})")
