"""Each member of a fused group writes its own run directory, with its own run's callbacks.

A member is its separate run's parts, as run/train.py's `prepare` builds them: the seeded data
module and `Classifier`, the config's callbacks with its `ResultsWriter`, clock and throughput,
its TensorBoard logger; the group adds its optimizer and schedule. `Members` is the one
callback of the fused trainer: it calls every member's callbacks at each hook with a view of
the trainer and module as that member's run would show them (its metrics, its optimizer, its
logger, its data, its weights), so the history, last.ckpt and best.ckpt, the learning-rate
and loss charts and the histograms are written by the same code as for a separate run.

A member's checkpoint is a separate run's checkpoint: its own network's weights, its
optimizer state in torch's format, its schedulers' and callbacks' states, and the fused
trainer's loop progress (a member takes exactly the steps its separate run takes), so
eval.py, predict.py and resuming (as one job or in a fused group again) load it as any other.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Checkpoint, ModelCheckpoint, ProgressBar
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from ablab import upstream
from ablab.lit import Classifier
from ablab.run.callbacks import Diverged
from ablab.run.resume.state import EpochSeed, RunClock
from ablab.run.results_writer import ResultsWriter
from ablab.run.tensorboard import RunLogger
from ablab.run.train import BestEpoch, Parts
from ablab.fused.views import ModuleView, TrainerView


class SharedClock(RunClock):
    """A member's wall time: its share of the group's (the group's time over its members), plus
    its earlier parts; it stops when the member diverges. Saved under RunClock's key."""

    def __init__(self, members: int):
        super().__init__()
        self.members = members
        self.stopped_at: float | None = None

    @property
    def state_key(self) -> str:
        return "RunClock"

    @property
    def elapsed_s(self) -> float:
        now = self.stopped_at if self.stopped_at is not None else time.perf_counter()
        return self.earlier_s + (now - self.started) / self.members

    def stop(self) -> None:
        self.stopped_at = time.perf_counter()

    def restart(self, prepared_s: float) -> None:
        """A member that trains alone after all: its time is its preparation's and its own training's."""
        self.started, self.members = time.perf_counter() - prepared_s, 1


@dataclass
class Member:
    """A job of the group: its run's prepared parts (run/train.py `prepare`) and what the group
    keeps for it while it trains."""

    job_num: int
    parts: Parts
    callbacks: list  # its run's callbacks, checkpoints last (Lightning's order; `ordered`)
    k: int = 0  # its place in the stack
    optimizer: torch.optim.Optimizer | None = None  # its own, over its slice of the stacks (fused.optim)
    scheduler_configs: list[dict] = field(default_factory=list)
    diverged: str | None = None
    best: BestEpoch | None = None  # its best epoch, validated and tested by its group (fused.finish)
    group: dict | None = None  # results.json's `fused`: {"members": K, "jobs": [job numbers]}
    trainer: pl.Trainer | None = None  # its group's, once trained

    @property
    def alive(self) -> bool:
        return self.diverged is None

    @property
    def cfg(self):
        return self.parts.cfg

    @property
    def classifier(self) -> Classifier:
        return self.parts.module

    @property
    def datamodule(self):
        return self.parts.datamodule

    @property
    def logger(self) -> RunLogger:
        return self.parts.logger

    @property
    def results(self) -> ResultsWriter:
        return self.parts.job.results

    @property
    def clock(self) -> SharedClock:
        return self.parts.job.clock

    @property
    def run_dir(self) -> Path:
        return self.parts.job.run_dir


def ordered(callbacks: list) -> list:
    """As Lightning orders a trainer's callbacks: checkpoints last; no progress bar (the group has one)."""
    kept = [c for c in callbacks if not isinstance(c, (ProgressBar, EpochSeed))]
    return [c for c in kept if not isinstance(c, Checkpoint)] + [c for c in kept if isinstance(c, Checkpoint)]


class Members(pl.Callback):
    """Calls every member's callbacks with its views (see the module docstring)."""

    def __init__(self, members: list[Member]):
        self.members = members
        self._saved: list[dict] | None = None  # a resumed group's member states, until their schedules exist
        self._hook_callers: dict[tuple, list] = {}
        self._views: dict[int, tuple] = {}

    @property
    def state_key(self) -> str:
        return "FusedMembers"

    def _each(self, trainer, pl_module, hook: str, *args, member_args=None) -> None:
        measuring = pl_module.measuring  # after fit: the members a validate or test pass is for
        for m in self.members:
            if not m.alive or (measuring is not None and m.k not in measuring):
                continue
            callbacks = self._callers(m, hook)
            if not callbacks:
                continue
            t, p = self._views_of(trainer, pl_module, m)
            extra = member_args(m) if member_args else args
            try:
                for callback in callbacks:
                    getattr(callback, hook)(t, p, *extra)
            except Diverged as exc:
                self.diverge(trainer, pl_module, m, str(exc))

    def _callers(self, member: Member, hook: str) -> list:
        """The member's callbacks that do something at `hook` (a step's hooks run K times per step)."""
        key = (member.k, hook)
        if key not in self._hook_callers:
            self._hook_callers[key] = [c for c in member.callbacks if acts_at(c, hook)]
        return self._hook_callers[key]

    def _views_of(self, trainer, pl_module, member: Member) -> tuple:
        if self._views.get(member.k, (None,))[0] is not trainer:
            self._views[member.k] = (trainer, TrainerView(trainer, member, self), ModuleView(pl_module, member))
        return self._views[member.k][1:]

    def diverge(self, trainer, pl_module, member: Member, why: str) -> None:
        """The member stops here, as its separate run stops: its directory keeps what it wrote."""
        member.diverged = why
        member.clock.stop()
        pl_module.alive[member.k] = False
        if trainer.optimizers:
            trainer.optimizers[0].freeze(member.k)
        member.logger.finalize("failed")  # its run's finish raises Diverged: `recorded` says so (ablab.fused.launch)
        if not any(m.alive for m in self.members):
            trainer.should_stop = True

    # ---- the hooks a run's callbacks use ----
    def setup(self, trainer, pl_module, stage):
        if stage == "fit":
            pl_module.optimizers_ready = self.optimizers_ready
            for m in self.members:
                m.classifier.to(pl_module.device)
                m.datamodule.trainer = trainer  # its loaders place and order batches by the group's epoch
        self._each(trainer, pl_module, "setup", stage)

    def optimizers_ready(self, optimizers, trainer) -> None:
        """Each member's optimizer and schedule, as its run's configure_optimizers makes them: one
        schedule per shared optimizer (its members' settings are equal, so are their schedules)."""
        schedules = {}
        for m, optimizer in zip(self.members, optimizers.members):
            m.optimizer = optimizer
            shared = optimizer.optimizer
            if id(shared) not in schedules:
                config = m.classifier.schedule.lightning_config(shared, trainer)
                if config and self._saved is not None:
                    config["scheduler"].load_state_dict(self._saved[m.k]["lr_schedulers"][0])
                schedules[id(shared)] = [config] if config else []
            m.scheduler_configs = schedules[id(shared)]

    def on_fit_start(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_fit_start")

    def on_train_start(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_train_start")

    def on_train_epoch_start(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_train_epoch_start")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._each(trainer, pl_module, "on_train_batch_start", member_args=lambda m: (batch.of(m.k), batch_idx))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._step_schedulers(trainer)
        losses = pl_module.last_losses.unbind(0)  # K views in one call
        self._each(trainer, pl_module, "on_train_batch_end",
                   member_args=lambda m: ({"loss": losses[m.k]}, batch.of(m.k), batch_idx))

    def _step_schedulers(self, trainer) -> None:
        # Where Lightning steps a run's schedulers: after every optimizer step ("step"), and after
        # the epoch's last one ("epoch"), before any on_train_batch_end hook. Members that share an
        # optimizer share its schedule: it steps once.
        last = upstream.at_epochs_last_batch(trainer)
        stepped = set()
        for m in self.members:
            for config in m.scheduler_configs if m.alive else ():
                if id(config) not in stepped and (config["interval"] == "step" or last):
                    stepped.add(id(config))
                    config["scheduler"].step()

    def on_validation_epoch_end(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_validation_epoch_end")

    def on_validation_end(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_validation_end")

    def on_train_epoch_end(self, trainer, pl_module):
        for m in self.members:  # the weights its histograms and checkpoints read
            if m.alive:
                pl_module.net.copy_to(m.k, m.classifier.model)
        pl_module.log_epoch_means()
        self._each(trainer, pl_module, "on_train_epoch_end")

    def on_train_end(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_train_end")

    # The test of each member's best epoch (fused.finish), as its run's finish tests it.
    def on_test_start(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_test_start")

    def on_test_epoch_start(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_test_epoch_start")

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        logits = outputs.unbind(0)
        self._each(trainer, pl_module, "on_test_batch_end",
                   member_args=lambda m: (logits[m.k], batch.of(m.k), batch_idx))  # one test loader: no index, as Lightning calls it

    def on_test_epoch_end(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_test_epoch_end")

    def on_test_end(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_test_end")

    def on_fit_end(self, trainer, pl_module):
        self._each(trainer, pl_module, "on_fit_end")

    # ---- each member's checkpoint ----
    def save(self, trainer, member: Member, filepath, weights_only: bool) -> None:
        checkpoint = {
            "epoch": trainer.current_epoch,
            "global_step": trainer.global_step,
            "pytorch-lightning_version": pl.__version__,
            "state_dict": member.classifier.state_dict(),
            "loops": upstream.loops_state(trainer),
        }
        if not weights_only:
            checkpoint["callbacks"] = member_states(member)
            checkpoint["optimizer_states"] = [member.optimizer.state_dict()]
            checkpoint["lr_schedulers"] = [c["scheduler"].state_dict() for c in member.scheduler_configs]
        member.classifier.on_save_checkpoint(checkpoint)
        trainer.strategy.checkpoint_io.save_checkpoint(checkpoint, filepath)

    # ---- the group's own state: its members' (a resumed group) ----
    def state_dict(self) -> dict:
        return {"members": [{"callbacks": member_states(m),
                             "lr_schedulers": [c["scheduler"].state_dict() for c in m.scheduler_configs]}
                            for m in self.members]}

    def load_state_dict(self, state_dict: dict) -> None:
        # Lightning restores callbacks before configure_optimizers: the schedules take theirs when made.
        self._saved = state_dict["members"]
        for m, saved in zip(self.members, self._saved):
            for c in m.callbacks:
                if c.state_key in saved["callbacks"]:
                    c.load_state_dict(saved["callbacks"][c.state_key])


def acts_at(callback: pl.Callback, hook: str) -> bool:
    """Whether the callback does anything at `hook`: it overrides it, and it is not a checkpoint
    saved at epoch ends only, whose per-step hook just decides not to save (Lightning's
    ModelCheckpoint with neither `every_n_train_steps` nor `train_time_interval`)."""
    base = getattr(pl.Callback, hook)
    if getattr(type(callback), hook, base) is base:
        return False
    return not (hook == "on_train_batch_end" and isinstance(callback, ModelCheckpoint)
                and not upstream.saves_within_epochs(callback))


def member_states(member: Member) -> dict:
    """Its callbacks' states by state key, as Lightning puts them in a checkpoint."""
    return {c.state_key: state for c in member.callbacks if (state := c.state_dict())}


MEMBER_TAG = re.compile(r"m\d+/")  # what the fused module logs for member k: m<k>/<its run's tag>


class MemberLoggers(Logger):
    """The group's logger: what the module logs as m<k>/<tag> goes to member k's TensorBoard run,
    at the step Lightning gives it (the same step as in its separate run)."""

    def __init__(self, members: list[Member]):
        super().__init__()
        self.members = members

    @property
    def name(self) -> str:
        return "fused"

    @property
    def version(self) -> int:
        return 0

    @rank_zero_only
    def log_metrics(self, metrics: dict, step=None) -> None:
        shared = {k: v for k, v in metrics.items() if not MEMBER_TAG.match(k)}  # Lightning's `epoch`
        for m in self.members:
            prefix = f"m{m.k}/"
            own = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
            if own and m.alive:
                m.logger.log_metrics({**shared, **own}, step)

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass  # each member wrote its own when it was built (run/hparams)

    def save(self) -> None:
        for m in self.members:
            if m.alive:
                m.logger.save()

    def finalize(self, status: str) -> None:
        # Flush only: each member's run writes its final points through the same logger and closes
        # it (fused.launch); the launcher closes them when the group ends otherwise.
        self.save()
