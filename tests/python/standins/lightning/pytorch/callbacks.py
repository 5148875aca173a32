"""Stand-in for `lightning.pytorch.callbacks`: Callback with the hooks greentrain's callback
overrides, as no-ops (Lightning's base class defines every hook so)."""


class Callback:
    def on_train_start(self, trainer, pl_module): pass
    def on_train_end(self, trainer, pl_module): pass
    def on_train_epoch_start(self, trainer, pl_module): pass
    def on_train_epoch_end(self, trainer, pl_module): pass
    def on_validation_start(self, trainer, pl_module): pass
    def on_validation_end(self, trainer, pl_module): pass
    def on_test_start(self, trainer, pl_module): pass
    def on_test_end(self, trainer, pl_module): pass
    def on_exception(self, trainer, pl_module, exception): pass
