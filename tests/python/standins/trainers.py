"""Two minimal trainers that drive callbacks as the real libraries do (see README.md).

LightningTrainer.fit follows Lightning 2.x: the sanity-check validation (sanity_checking set),
on_train_start, per epoch on_train_epoch_start, the batches, the epoch's validation run
(on_validation_start .. on_validation_end, after which callback_metrics hold val_acc), then
on_train_epoch_end, and on_train_end; test() runs on_test_start .. on_test_end.
HFTrainer.train follows transformers' Trainer with eval_strategy="epoch": on_train_begin, per
epoch on_epoch_begin, per step on_step_begin/on_step_end, on_epoch_end (after the flow callback,
listed first, set control.should_evaluate), then the evaluation: its metrics logged (on_log)
before on_evaluate; at the end the training summary is logged, then on_train_end."""
import time


class Tensor:
    """A one-element tensor: item() and numel(), as torch's."""

    def __init__(self, value):
        self.value = value

    def item(self):
        return self.value

    def numel(self):
        return 1


class Logger:
    def __init__(self):
        self.logged = []

    def log_metrics(self, metrics, step=None):
        self.logged.append((step, dict(metrics)))


class LightningTrainer:
    def __init__(self, callbacks, epochs=3, step_s=0.1, global_zero=True):
        self.callbacks = callbacks
        self.epochs, self.step_s = epochs, step_s
        self.loggers = [Logger()]
        self.is_global_zero = global_zero
        self.sanity_checking = False
        self.global_step = 0
        self.current_epoch = 0
        self.callback_metrics = {}

    def _call(self, hook):
        for cb in self.callbacks:
            getattr(cb, hook)(self, None)

    def _validate(self):
        self._call("on_validation_start")
        time.sleep(self.step_s / 2)
        self._call("on_validation_end")

    def fit(self):
        self.sanity_checking = True
        self._validate()
        self.sanity_checking = False
        self._call("on_train_start")
        for epoch in range(self.epochs):
            self.current_epoch = epoch
            self._call("on_train_epoch_start")
            for _ in range(2):
                time.sleep(self.step_s / 2)
                self.global_step += 1
            self.callback_metrics = {"train_loss": Tensor(1.0 / (epoch + 1))}
            self._validate()
            self.callback_metrics.update({"val/acc": Tensor(0.5 + 0.1 * epoch),
                                          "per_class": [1, 2]})
            self._call("on_train_epoch_end")
        self._call("on_train_end")

    def test(self):
        self._call("on_test_start")
        time.sleep(self.step_s / 2)
        self.callback_metrics = {"test_acc": Tensor(0.75)}
        self._call("on_test_end")


class Control:
    def __init__(self):
        self.should_evaluate = False
        self.should_log = False


class State:
    def __init__(self, world_zero=True):
        self.is_world_process_zero = world_zero
        self.global_step = 0
        self.epoch = 0.0
        self.log_history = []


class FlowCallback:
    """transformers' DefaultFlowCallback for eval_strategy="epoch": asks for an evaluation at
    each epoch's end (it is the first callback of every Trainer)."""

    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_evaluate = True
        return control


class HFTrainer:
    def __init__(self, callbacks, epochs=3, step_s=0.1, world_zero=True):
        self.callbacks = [FlowCallback(), *callbacks]
        self.epochs, self.step_s = epochs, step_s
        self.state = State(world_zero)
        self.control = Control()
        self.args = object()
        self.logged = []  # what integrations placed after the callback would have seen

    def _event(self, name, **kwargs):
        for cb in self.callbacks:
            hook = getattr(cb, name, None)
            if hook is not None:
                hook(self.args, self.state, self.control, **kwargs)

    def log(self, logs):
        logs["epoch"] = self.state.epoch  # as the Trainer's log() does, in the caller's dict
        self.state.log_history.append({**logs, "step": self.state.global_step})
        self._event("on_log", logs=logs)
        self.logged.append(dict(logs))

    def evaluate(self):
        time.sleep(self.step_s / 2)
        metrics = {"eval_loss": 0.5, "eval_accuracy": 0.6 + 0.1 * self.state.epoch}
        self.log(metrics)
        self._event("on_evaluate", metrics=metrics)
        return metrics

    def train(self):
        self._event("on_train_begin")
        for epoch in range(self.epochs):
            self._event("on_epoch_begin")
            for _ in range(2):
                self._event("on_step_begin")
                time.sleep(self.step_s / 2)
                self.state.global_step += 1
                self._event("on_step_end")
            self.state.epoch = epoch + 1.0
            self._event("on_epoch_end")
            self.log({"loss": 1.0 / (epoch + 1)})
            if self.control.should_evaluate:
                self.control.should_evaluate = False
                self.evaluate()
        self.log({"train_runtime": 1.5, "train_loss": 0.6})
        self._event("on_train_end")
