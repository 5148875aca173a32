#!/usr/bin/env python3
"""Device check of greentrain.lightning.EnergyCallback with the real PyTorch Lightning: a small
CNN on Fashion-MNIST-shaped data (the real files when --data-dir has them, else synthetic images
whose class is drawn in them, so accuracy rises), trained for a few epochs on the GPU with one
added callback. The same code is run standalone and under `greentrain measure`
(bench/python/run_callbacks.sh); it writes every window it got, with its figures and metrics,
and what the trainer's logger received, to the JSON file named by --out."""
import json
import os
import sys

import torch

try:
    import lightning.pytorch as L
    from lightning.pytorch.loggers import Logger
except ImportError:  # the standalone package
    import pytorch_lightning as L
    from pytorch_lightning.loggers import Logger

from greentrain.lightning import EnergyCallback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from images_data import command_line, small_cnn  # noqa: E402


class Classifier(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = small_cnn()

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_acc", (self.net(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


class RecordingLogger(Logger):
    """A logger that keeps what it is given (the energy figures among it)."""

    def __init__(self):
        super().__init__()
        self.logged = []

    @property
    def name(self):
        return "recording"

    @property
    def version(self):
        return 0

    def log_hyperparams(self, params, *args, **kwargs):
        pass

    def log_metrics(self, metrics, step=None):
        self.logged.append({"step": step, **{k: float(v) for k, v in metrics.items()}})


def main():
    a, (x_train, y_train), (x_val, y_val) = command_line(__doc__.split("\n\n")[0])
    train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train),
                                        batch_size=128, shuffle=True)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_val, y_val),
                                      batch_size=512)
    energy = EnergyCallback()
    logger = RecordingLogger()
    trainer = L.Trainer(max_epochs=a.epochs, callbacks=[energy], logger=logger,
                        enable_checkpointing=False, enable_progress_bar=False,
                        accelerator="auto", devices=1)
    trainer.fit(Classifier(), train, val)
    windows = [dict(m.to_dict(), path=path) for path, m in energy.measurements]
    with open(a.out, "w") as f:
        json.dump({"framework": "lightning", "version": L.__version__,
                   "in_metered_run": energy.meter.in_metered_run, "windows": windows,
                   "logged": logger.logged}, f, indent=1)
    energy.meter.close()


if __name__ == "__main__":
    main()
