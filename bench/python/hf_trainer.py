#!/usr/bin/env python3
"""Device check of greentrain.transformers.EnergyCallback with the real Hugging Face Trainer: a
small image classifier (a torch module returning {"loss", "logits"}, as the Trainer accepts;
nothing is downloaded) on Fashion-MNIST-shaped data (the real files when --data-dir has them,
else synthetic images whose class is drawn in them), evaluated every epoch, with one added
callback. The same code is run standalone and under `greentrain measure`
(bench/python/run_callbacks.sh); it writes every window it got, with its figures and metrics,
the Trainer's log history and what trainer.evaluate() returned, to the JSON file named by
--out."""
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import Trainer, TrainingArguments

from greentrain.transformers import EnergyCallback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from images_data import command_line, small_cnn  # noqa: E402


class Images(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"pixel_values": self.x[i], "labels": self.y[i]}


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = small_cnn()

    def forward(self, pixel_values, labels=None):
        logits = self.net(pixel_values)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = torch.nn.functional.cross_entropy(logits, labels)
        return out


def accuracy(prediction):
    logits, labels = prediction.predictions, prediction.label_ids
    return {"accuracy": float((np.argmax(logits, axis=1) == labels).mean())}


def main():
    a, (x_train, y_train), (x_val, y_val) = command_line(__doc__.split("\n\n")[0])
    args = TrainingArguments(output_dir=os.path.join(os.path.dirname(a.out) or ".", "hf-out"),
                             num_train_epochs=a.epochs, per_device_train_batch_size=128,
                             per_device_eval_batch_size=512, eval_strategy="epoch",
                             save_strategy="no", logging_strategy="epoch", report_to=[],
                             disable_tqdm=True)
    trainer = Trainer(model=Classifier(), args=args, train_dataset=Images(x_train, y_train),
                      eval_dataset=Images(x_val, y_val), compute_metrics=accuracy)
    energy = EnergyCallback().attach(trainer)
    trainer.train()
    final = trainer.evaluate()  # outside training: its metrics only (no window)
    windows = [dict(m.to_dict(), path=path) for path, m in energy.measurements]
    with open(a.out, "w") as f:
        json.dump({"framework": "transformers", "version": transformers.__version__,
                   "in_metered_run": energy.meter.in_metered_run, "windows": windows,
                   "log_history": trainer.state.log_history, "evaluate": final}, f, indent=1)
    energy.meter.close()


if __name__ == "__main__":
    main()
