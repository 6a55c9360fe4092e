"""Callbacks that make a run resumed from a checkpoint end where the uninterrupted run ends.

Lightning's checkpoint restores weights, optimizer, schedulers, loop counters and each
callback's `state_dict`. What it does not restore is the process: torch's global random
generator (dropout draws from it) starts from `seed_everything` again, and a new process
has its own clock. So:

- `EpochSeed` reseeds torch's global generator from (seed, epoch) as each training epoch
  starts: epoch k's dropout masks are the same in a resumed run as in an uninterrupted one.
  (Batch order and augmentation are seeded by (seed, epoch) in the data module already.)
- `RunClock` stores the wall time of the run so far in every checkpoint, so a resumed
  run's `wall_s` counts the parts before it.

Lightning also restores callback states when `validate` or `test` load a checkpoint, as a
run's final evaluation loads best.ckpt: a `RunState` callback takes its state back only
when fit resumes, so the best epoch's clock or history never replaces the run's own.
"""
import time

import pytorch_lightning as pl
import torch

from ablab.seeds import seed_of


class RunState(pl.Callback):
    """A callback whose state belongs to the whole run: restored when fit resumes from a
    checkpoint, left alone when validate or test load one (`restore` says how)."""

    _stage = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        self._stage = stage  # Lightning calls setup before it restores a checkpoint's callback states

    def load_state_dict(self, state_dict: dict) -> None:
        if self._stage in (None, "fit"):
            self.restore(state_dict)

    def restore(self, state_dict: dict) -> None:
        raise NotImplementedError


class EpochSeed(pl.Callback):
    def __init__(self, seed: int):
        self.seed = int(seed)

    def on_train_epoch_start(self, trainer, pl_module):
        torch.manual_seed(self.stream(self.seed, trainer.current_epoch))

    @staticmethod
    def stream(seed: int, epoch: int) -> int:
        """The seed of epoch `epoch`'s dropout draws (ablab.seeds); a fused member draws from its
        own generator seeded with it (ablab.fused.net)."""
        return seed_of("dropout", seed, epoch)


class RunClock(RunState):
    """Wall time since the run's first part started: earlier parts (from the checkpoint) plus this one."""

    def __init__(self, started: float | None = None):
        self.started = time.perf_counter() if started is None else started
        self.earlier_s = 0.0

    @property
    def elapsed_s(self) -> float:
        return self.earlier_s + time.perf_counter() - self.started

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed_s}

    def restore(self, state_dict: dict) -> None:
        self.earlier_s = max(self.earlier_s, float(state_dict.get("elapsed_s", 0.0)))
