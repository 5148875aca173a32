"""greentrain.lightning.EnergyCallback: per-epoch energy for a PyTorch Lightning Trainer by
adding one callback. Importing this module imports Lightning (`lightning.pytorch`, or the older
`pytorch_lightning`); `import greentrain` alone never does.

    import lightning as L
    from greentrain.lightning import EnergyCallback
    trainer = L.Trainer(max_epochs=5, callbacks=[EnergyCallback()])
    trainer.fit(model, train_loader, val_loader)

Windows: `train` (on_train_start .. on_train_end), inside it one `epoch` per training epoch
(on_train_epoch_start .. on_train_epoch_end) and one `validation` per validation run (not the
sanity check; Lightning runs the validation of an epoch before on_train_epoch_end, so it is the
sub-window train/epoch/validation), and `test` around trainer.test(). At the end of each epoch
the trainer's callback metrics (val_acc, train_loss, ...) are reported as greentrain metrics
of that epoch, and the window's energy is logged through every logger of the trainer
(epoch_energy_j, epoch_duration_s, epoch_co2e_g, epoch_gpu_energy_j; validation_* likewise) at
the trainer's global step; at the end of training the final callback metrics are reported as
greentrain metrics of the run. The same code works standalone (a greentrain meter child) and
under `greentrain measure` or an experiment, where the windows are the run's phases and the
metrics are stored with each epoch. Only the global-zero process meters."""
try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # Lightning before 2.0, or the standalone package
    from pytorch_lightning.callbacks import Callback

from .recorder import EnergyRecorder, RecordingCallback


class EnergyCallback(RecordingCallback, Callback):
    """Energy windows around training, each epoch, each validation and testing.

    meter: a greentrain.Meter (default: one made when training starts, with `meter_options`,
    the arguments of greentrain.Meter); log_energy: log each window's figures through the
    trainer's loggers (reading them waits about 0.1 s for the meter per window; False never
    asks); report_metrics: report the trainer's callback metrics as greentrain metrics.
    `measurements` lists (path, Measurement) of every ended window."""

    def __init__(self, meter=None, log_energy=True, report_metrics=True, train_window="train",
                 epoch_window="epoch", validation_window="validation", test_window="test",
                 **meter_options):
        super().__init__()
        self.recorder = EnergyRecorder(meter, **meter_options)
        self.log_energy = log_energy
        self.report_metrics = report_metrics
        self.names = {"train": train_window, "epoch": epoch_window,
                      "validation": validation_window, "test": test_window}

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _metering(trainer):
        return getattr(trainer, "is_global_zero", True)

    def _begin(self, trainer, kind):
        if self._metering(trainer):
            self.recorder.begin(self.names[kind])

    def _end(self, trainer, kind):
        name = self.names[kind]
        if not self._metering(trainer) or not self.recorder.is_open(name):
            return None
        m = self.recorder.end(name)
        if self.log_energy:
            figures = EnergyRecorder.figures(name, m)
            loggers = getattr(trainer, "loggers", None)
            if loggers is None:
                loggers = [trainer.logger] if getattr(trainer, "logger", None) else []
            for logger in loggers:
                logger.log_metrics(figures, step=trainer.global_step)
        return m

    def _report(self, trainer):
        if self.report_metrics and self._metering(trainer):
            self.recorder.report(getattr(trainer, "callback_metrics", {}))

    # -- Lightning hooks ------------------------------------------------------------------
    def on_train_start(self, trainer, pl_module):
        self._begin(trainer, "train")

    def on_train_epoch_start(self, trainer, pl_module):
        self._begin(trainer, "epoch")

    def on_validation_start(self, trainer, pl_module):
        if not getattr(trainer, "sanity_checking", False):
            self._begin(trainer, "validation")

    def on_validation_end(self, trainer, pl_module):
        if not getattr(trainer, "sanity_checking", False):
            self._end(trainer, "validation")

    def on_train_epoch_end(self, trainer, pl_module):
        if self.recorder.is_open(self.names["epoch"]):
            self._report(trainer)  # inside the epoch window: stored with this epoch
        self._end(trainer, "epoch")

    def on_train_end(self, trainer, pl_module):
        self._end(trainer, "train")
        self._report(trainer)  # after the window: the run's final metrics

    def on_test_start(self, trainer, pl_module):
        self._begin(trainer, "test")

    def on_test_end(self, trainer, pl_module):
        self._end(trainer, "test")
        self._report(trainer)

    def on_exception(self, trainer, pl_module, exception):
        if self._metering(trainer):
            self.recorder.end_all()
