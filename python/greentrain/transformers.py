"""greentrain.transformers.EnergyCallback: per-epoch energy for a Hugging Face Trainer by adding
one callback. Importing this module imports transformers; `import greentrain` alone never does.

    from transformers import Trainer, TrainingArguments
    from greentrain.transformers import EnergyCallback
    trainer = Trainer(model=model, args=TrainingArguments(..., eval_strategy="epoch"),
                      train_dataset=train, eval_dataset=test, callbacks=[EnergyCallback()])
    trainer.train()

Windows: `train` (on_train_begin .. on_train_end), inside it one `epoch` per epoch
(on_epoch_begin .. on_epoch_end, or until the evaluation that follows it ends), and one
`evaluate` per evaluation during training (from the event that asks for it, control.
should_evaluate at a step or epoch end, to on_evaluate; an epoch's evaluation is the
sub-window train/epoch/evaluate). The evaluation's metrics (eval_accuracy, eval_loss, ...) are
reported as greentrain metrics of the epoch they follow; the evaluation's energy is added to the
metrics trainer.evaluate() returns (evaluate_energy_j, ...), and each epoch's energy
(epoch_energy_j, epoch_duration_s, epoch_co2e_g, epoch_gpu_energy_j) to the next logs, which
land in trainer.state.log_history and every callback after this one; the integrations of
`report_to` (TensorBoard, W&B) run before the callbacks passed to the Trainer, so
`EnergyCallback().attach(trainer)` puts it right after the Trainer's own flow callback for them
to log the energy too. At the end the last logged values are reported as greentrain metrics of
the run. The same code works standalone and under `greentrain measure` or an experiment, where
the windows are the run's phases and the metrics are stored with each epoch. Only the main
process (state.is_world_process_zero) meters."""
from transformers import TrainerCallback

from .recorder import EnergyRecorder, RecordingCallback


class EnergyCallback(RecordingCallback, TrainerCallback):
    """Energy windows around training, each epoch and each evaluation during training.

    meter: a greentrain.Meter (default: one made when training begins, with `meter_options`, the
    arguments of greentrain.Meter); log_energy: put each window's figures in the logs (reading
    them waits about 0.1 s for the meter per window; False never asks); report_metrics: report
    the evaluation and final metrics as greentrain metrics. `measurements` lists (path,
    Measurement) of every ended window."""

    def __init__(self, meter=None, log_energy=True, report_metrics=True, train_window="train",
                 epoch_window="epoch", evaluate_window="evaluate", **meter_options):
        self.recorder = EnergyRecorder(meter, **meter_options)
        self.log_energy = log_energy
        self.report_metrics = report_metrics
        self.names = {"train": train_window, "epoch": epoch_window, "evaluate": evaluate_window}
        self._epoch_ends_after_evaluation = False
        self._unlogged = {}  # figures of windows ended since the last log
        self._figure_keys = set()  # never reported back as metrics

    def attach(self, trainer):
        """Adds this callback right after the Trainer's flow callback, before the reporting
        integrations, so they log the energy figures too. Returns the callback."""
        callbacks = trainer.callback_handler.callbacks
        callbacks.insert(1 if callbacks else 0, self)
        return self

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _metering(state):
        return getattr(state, "is_world_process_zero", True)

    def _end(self, kind):
        name = self.names[kind]
        if not self.recorder.is_open(name):
            return None
        m = self.recorder.end(name)
        if self.log_energy and kind != "evaluate":
            self._unlogged.update(self._figures(name, m))
        return m

    def _figures(self, name, m):
        figures = EnergyRecorder.figures(name, m)
        self._figure_keys.update(figures)
        return figures

    def _end_epoch(self):
        self._epoch_ends_after_evaluation = False
        self._end("epoch")

    def _begin_evaluation(self, control):
        if getattr(control, "should_evaluate", False) and not self.recorder.is_open(
                self.names["evaluate"]):
            self.recorder.begin(self.names["evaluate"])
            return True
        return False

    # -- TrainerCallback events ------------------------------------------------------------
    def on_train_begin(self, args, state, control, **kwargs):
        if self._metering(state):
            self.recorder.begin(self.names["train"])

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self._metering(state):
            if self.recorder.is_open(self.names["epoch"]):
                self._end_epoch()  # its evaluation never came
            self.recorder.begin(self.names["epoch"])

    def on_step_end(self, args, state, control, **kwargs):
        if self._metering(state):
            self._begin_evaluation(control)

    def on_epoch_end(self, args, state, control, **kwargs):
        if not self._metering(state):
            return
        # The Trainer's flow callback, called before this one, has set should_evaluate when an
        # evaluation follows: the epoch stays open around it, so its metrics belong to it.
        if self._begin_evaluation(control) or self.recorder.is_open(self.names["evaluate"]):
            self._epoch_ends_after_evaluation = True
        else:
            self._end_epoch()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self._metering(state):
            return
        m = self._end("evaluate")
        if self.report_metrics and metrics:
            # Inside the epoch window when one is open; the Trainer's log() added the epoch
            # counter to them, which is a position, not a metric.
            self.recorder.report({k: v for k, v in metrics.items() if k not in ("epoch", "step")})
        if m is not None and self.log_energy and metrics is not None:
            metrics.update(self._figures(self.names["evaluate"], m))
        if self._epoch_ends_after_evaluation:
            self._end_epoch()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._unlogged and logs is not None and self._metering(state):
            logs.update(self._unlogged)
            # The Trainer appended this log to the history just before the event.
            history = getattr(state, "log_history", None)
            if history and history[-1].get("step") == state.global_step:
                history[-1].update(self._unlogged)
            self._unlogged = {}

    def on_train_end(self, args, state, control, **kwargs):
        if not self._metering(state):
            return
        for kind in ("evaluate", "epoch", "train"):
            self._end(kind)
        self.recorder.end_all()
        history = getattr(state, "log_history", None)
        if self._unlogged and history is not None:
            history.append(dict(self._unlogged, step=state.global_step))
            self._unlogged = {}
        if self.report_metrics and history:
            last = {}
            for entry in history:
                last.update(entry)
            for key in self._figure_keys | {"step", "epoch"}:
                last.pop(key, None)
            self.recorder.report(last)
