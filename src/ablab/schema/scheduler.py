"""Schema of conf/scheduler: ablab.factors.schedule.Schedule's keys and the torch scheduler's
arguments, and the one combination that cannot work: a schedule spanning the whole run
(one-cycle, cosine) in a run without an end."""
from omegaconf import DictConfig, OmegaConf

from ablab.errors import UserError
from ablab.schema.callbacks import MONITORED
from ablab.schema.rules import Schema, integer, number, one_of

def _bounded_run(cfg: DictConfig) -> None:
    horizon = OmegaConf.select(cfg, "scheduler.horizon_arg", default=None)
    max_steps = OmegaConf.select(cfg, "trainer.max_steps", default=None)
    if OmegaConf.select(cfg, "trainer.max_epochs", default=None) == -1 and horizon and not (max_steps and max_steps > 0):
        raise UserError(f"trainer.max_epochs=-1 (no limit) cannot be combined with a schedule that spans the "
                        f"whole run (scheduler's {horizon}); set trainer.max_epochs (or +trainer.max_steps) or choose "
                        "scheduler=step|none")


SCHEMA = Schema(
    keys={
        "interval": one_of("epoch", "step"),
        "monitor": one_of(*MONITORED),  # plateau's metric: one the run logs every epoch
        "lr_scheduler.pct_start": number(gt=0, lt=1),
        "lr_scheduler.gamma": number(gt=0, le=1),
        "lr_scheduler.step_size": integer(ge=1),
        "lr_scheduler.eta_min": number(ge=0),
        "lr_scheduler.factor": number(gt=0, lt=1),
        "lr_scheduler.patience": integer(ge=0),
        "lr_scheduler.mode": one_of("min", "max"),
    },
    checks=(_bounded_run,),
)
