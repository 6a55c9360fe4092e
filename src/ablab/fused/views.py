"""What a fused member's callbacks see of the group's trainer and module while the group trains.

A member's callbacks are its separate run's (ablab.fused.members): they read the trainer and
module Lightning hands them. `TrainerView` and `ModuleView` show member k's own parts (its
metrics, optimizer, schedules, logger, data, callbacks, weights, figures' directory) and the
group's progress; every other attribute raises AttributeError naming the lists below, so a
callback that reads something nobody thought of fails loudly instead of getting the group's value.
"""
from __future__ import annotations

from ablab import upstream

# What a member's callbacks may read of the group's trainer as it is: its progress and loop
# settings, the same for every member. The names are those ablab's callbacks and Lightning's
# ModelCheckpoint read (measured on a fused sweep with figures); any other raises AttributeError.
GROUP_TRAINER = frozenset({
    "current_epoch", "global_step", "is_global_zero", "log_every_n_steps", "sanity_checking", "state",
    "fast_dev_run", "strategy", "num_val_batches", "check_val_every_n_epoch", "val_check_interval",
    "max_epochs", "should_stop",
}) | upstream.MODEL_CHECKPOINT_READS
# What they may read of their own Classifier (weights current) through the group's module.
MEMBER_MODULE = frozenset({"model", "preprocess", "evaluated", "num_classes", "schedule"})


class TrainerView:
    """The fused trainer as member k's callbacks see it: their run's metrics, optimizer, logger,
    data and checkpoint writer, and the group's progress (GROUP_TRAINER); nothing else.
    `member`: a fused.members.Member; `members`: the group's Members callback, which writes the
    member's checkpoints (None where nothing saves: a view handed to `finish`)."""

    def __init__(self, trainer, member, members=None):
        self._trainer, self._member, self._members = trainer, member, members

    def __getattr__(self, name):
        if name in GROUP_TRAINER:
            return getattr(self._trainer, name)
        raise AttributeError(f"a fused member's trainer has no {name!r}: a callback that reads it cannot run in a "
                             f"fused group (ablab.fused.views.GROUP_TRAINER lists what it can read)")

    @property
    def callback_metrics(self) -> dict:
        prefix = f"m{self._member.k}/"
        return {key[len(prefix):]: v for key, v in self._trainer.callback_metrics.items() if key.startswith(prefix)}

    @property
    def optimizers(self) -> list:
        return [self._member.optimizer]

    @property
    def lr_scheduler_configs(self) -> list:
        return self._member.scheduler_configs

    @property
    def loggers(self) -> list:
        return [self._member.logger]

    @property
    def logger(self):
        return self._member.logger

    @property
    def datamodule(self):
        return self._member.datamodule

    @property
    def default_root_dir(self) -> str:
        return str(self._member.run_dir)  # its run's ${hydra:runtime.output_dir}: where its figures go

    @property
    def callbacks(self) -> list:
        return self._member.callbacks

    @property
    def lightning_module(self):
        return ModuleView(self._trainer.lightning_module, self._member)

    def save_checkpoint(self, filepath, weights_only: bool = False, storage_options=None) -> None:
        if self._members is None:
            raise AttributeError("a fused member's module view cannot save a checkpoint; its trainer view can")
        self._members.save(self._trainer, self._member, filepath, weights_only)


class ModuleView:
    """The fused module as member k's callbacks see it: its own Classifier (MEMBER_MODULE), weights
    current, its epoch's training means and the device; nothing else."""

    def __init__(self, fused, member):
        self._fused, self._member = fused, member

    def __getattr__(self, name):
        if name in MEMBER_MODULE:
            return getattr(self._member.classifier, name)
        raise AttributeError(f"a fused member's module has no {name!r}: a callback that reads it cannot run in a "
                             f"fused group (ablab.fused.views.MEMBER_MODULE lists what it can read)")

    def train_epoch_means(self) -> dict:
        return self._fused.train_epoch_means(self._member.k)

    @property
    def trainer(self):
        return TrainerView(self._fused.trainer, self._member, None)

    @property
    def device(self):
        return self._fused.device
