"""Callbacks of every run: checkpoints, stop on a non-finite loss, measure training
throughput, and the one list of callbacks a training run and an evaluation hand to their Trainer."""
import sys
import time

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from pytorch_lightning import callbacks
from pytorch_lightning.callbacks import ProgressBar

from ablab.run.resume.state import RunState
from ablab.viz.longtail_report import LongTailReport


class ModelCheckpoint(callbacks.ModelCheckpoint):
    """Lightning's ModelCheckpoint with its state key worked out once.

    Lightning's loop asks every callback for its `state_key` around every hook of every step
    (to name a profiler span); ModelCheckpoint builds the key anew each time from settings
    that never change after construction, which costs a small model ~1% of its step time.
    The class keeps Lightning's name, so the key, and the callback state in checkpoints,
    are exactly Lightning's.
    """

    @property
    def state_key(self) -> str:
        if "_state_key" not in self.__dict__:
            self.__dict__["_state_key"] = super().state_key
        return self.__dict__["_state_key"]


class Diverged(Exception):
    """The training loss became NaN or infinite; the run is recorded as `diverged`."""


class DivergenceGuard(pl.Callback):
    """Stops the run when a training loss is NaN or infinite.

    Every step's loss is added to a running sum on the device (no sync): one NaN or
    infinity keeps it non-finite. The sum is read back every `check_every` steps and at
    each epoch's end; reading every step would force a host-device sync per step on a GPU.
    It does not depend on what the module logs, or on when Lightning computes epoch means.
    """

    def __init__(self, check_every: int = 25):
        self.check_every = check_every
        self._sum = None

    def on_train_epoch_start(self, trainer, pl_module):
        self._sum = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        self._sum = loss.detach() if self._sum is None else self._sum + loss.detach()
        if batch_idx % self.check_every == 0:
            self._raise_if_not_finite(trainer, loss)

    def on_train_epoch_end(self, trainer, pl_module):
        self._raise_if_not_finite(trainer, None)

    def _raise_if_not_finite(self, trainer, loss) -> None:
        if self._sum is not None and not torch.isfinite(self._sum).all():
            last = f" (last: {loss.item()})" if loss is not None else ""
            raise Diverged(f"training loss became non-finite{last} by epoch {trainer.current_epoch}, "
                           f"step {trainer.global_step}")


class Throughput(RunState):
    """Training images per second, from each epoch's first batch to its last (validation excluded).

    The first epoch is left out of the figure when there are several: it pays one-off
    costs (allocator warm-up, lazy init) that a steady state does not. The epochs measured are
    the run's state, so a resumed run (and a fused group's member, ablab.fused) reports every
    part's epochs.
    """

    def __init__(self):
        self.epochs: list[tuple[int, float]] = []

    def on_train_epoch_start(self, trainer, pl_module):
        self._images, self._start, self._end = 0, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self._start is None:
            self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._images += len(batch[1])
        self._end = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        if self._start is not None and self._end is not None and self._end > self._start:
            self.epochs.append((self._images, self._end - self._start))

    def state_dict(self) -> dict:
        return {"epochs": [list(e) for e in self.epochs]}

    def restore(self, state_dict: dict) -> None:
        self.epochs = [tuple(e) for e in state_dict.get("epochs", [])]

    @property
    def images_per_s(self) -> float | None:
        steady = self.epochs[1:] or self.epochs
        seconds = sum(s for _, s in steady)
        return sum(n for n, _ in steady) / seconds if seconds else None


class LearningRate(pl.Callback):
    """The learning rate each training step used, as one `lr` chart whatever the optimizer
    (`lr/group_<i>` per parameter group when there are several), so a sweep's schedules overlay.
    Every step is charted, so a one-cycle schedule's warm-up peak and its tail are drawn as they
    were (one point per `log_every_n_steps` missed both); the rates are kept as the epoch goes
    (a float a step) and written at its end, one scalar each. Lightning's LearningRateMonitor
    names it per optimizer class (lr-Adam, lr-SGD). results.json's history and figures/curves.png
    take the rate of each epoch's last step: the same value as this chart at that step.
    `log_epoch=true` also logs the epoch number as Lightning does (its `epoch` chart), which the
    run's logger otherwise leaves out (ablab.run.tensorboard)."""

    def __init__(self, log_epoch: bool = False):
        self.log_epoch = log_epoch
        self._rates: list[tuple[int, dict]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.loggers and trainer.optimizers:
            groups = trainer.optimizers[0].param_groups
            rates = {"lr": groups[0]["lr"]} if len(groups) == 1 else {f"lr/group_{i}": g["lr"] for i, g in enumerate(groups)}
            self._rates.append((trainer.global_step, rates))

    def on_train_epoch_end(self, trainer, pl_module):
        for step, rates in self._rates:
            for logger in trainer.loggers:
                logger.log_metrics(rates, step=step)
        self._rates = []

    def setup(self, trainer, pl_module, stage):
        for logger in trainer.loggers:
            if hasattr(logger, "keep_epoch"):
                logger.keep_epoch = self.log_epoch
            if hasattr(logger, "fitting"):  # a validation after fit is not a point of the curves
                logger.fitting = stage == "fit"


def progress_bar(trainer_cfg) -> bool:
    """trainer.enable_progress_bar; null (the default) means on when stderr is a terminal."""
    setting = trainer_cfg.get("enable_progress_bar")
    return sys.stderr.isatty() if setting is None else bool(setting)


def callbacks_for(cfg, datamodule, *extra: pl.Callback) -> list[pl.Callback]:
    """The config's `callbacks` group (none in eval.yaml), then `extra`, the figures (`viz`) and,
    for long-tailed data, the long-tail report: in this order, which is the order Lightning calls them."""
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c and c.get("_target_")]
    callbacks += extra
    if not progress_bar(cfg.trainer):  # Lightning refuses a progress-bar callback when the bar is off
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    if cfg.get("viz") and cfg.viz.get("_target_"):
        callbacks.append(instantiate(cfg.viz))
    if getattr(datamodule, "longtail_options", None) is not None:  # long-tailed data: class counts and shot-group accuracy
        callbacks.append(LongTailReport(draw=(cfg.get("viz") or {}).get("draw", "auto")))  # as viz.draw says
    return callbacks
