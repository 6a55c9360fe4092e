"""A learning-rate schedule as Lightning wants it, built once the trainer knows its length.

Schedules such as cosine or one-cycle need the length of training, which is known only
when fitting starts (steps per epoch come from the data). A scheduler config names the
keyword that takes that length (`horizon_arg`, e.g. T_max or total_steps) and the unit
(`interval`: step or epoch); no scheduler is special-cased in code. `lr_scheduler` is the
torch scheduler's partial (`scheduler.lr_scheduler.gamma=0.5` changes one of its arguments).
"""
import inspect
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Schedule:
    lr_scheduler: Callable | None = None  # partial of a torch.optim.lr_scheduler class; None: constant lr
    interval: str = "epoch"
    horizon_arg: str | None = None
    monitor: str | None = None  # for ReduceLROnPlateau

    def lightning_config(self, optimizer, trainer) -> dict | None:
        if self.lr_scheduler is None:
            return None
        kwargs = {}
        if self.horizon_arg:
            steps = trainer.estimated_stepping_batches if self.interval == "step" else trainer.max_epochs
            kwargs[self.horizon_arg] = max(1, int(steps))
        if self._cycles_momentum() and not _has_momentum(optimizer):
            kwargs["cycle_momentum"] = False
        config = {"scheduler": self.lr_scheduler(optimizer, **kwargs), "interval": self.interval}
        if self.monitor:
            config["monitor"] = self.monitor
        return config

    def _cycles_momentum(self) -> bool:
        """One-cycle and cyclic schedules also cycle momentum unless told not to."""
        keywords = getattr(self.lr_scheduler, "keywords", {})
        func = getattr(self.lr_scheduler, "func", self.lr_scheduler)
        return "cycle_momentum" not in keywords and "cycle_momentum" in inspect.signature(func).parameters


def _has_momentum(optimizer) -> bool:
    # Cycling momentum would give plain SGD or RMSprop (momentum 0) a momentum of 0.85-0.95,
    # turning `optimizer=sgd` into SGD with momentum; Adagrad and ASGD have none and would fail.
    return any("betas" in g or g.get("momentum", 0) > 0 for g in optimizer.param_groups)
