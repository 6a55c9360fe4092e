"""Schema of conf/callbacks: the numbers of the callbacks a run gets (any may be set to null to drop it).

A monitored name that the run never logs would fail only at the end of the first epoch
(Lightning's "could not find the monitored key"), after an epoch's work: the names below are
what ablab.lit logs once per epoch (tests/test_faults.py compares the two).
"""
from ablab.schema.rules import Schema, boolean, integer, one_of

MONITORED = ("val/acc", "val/loss", "val/precision_macro", "val/recall_macro", "val/f1_macro",
             "train/acc", "train/loss_epoch", "train/penalty")
_MONITOR = one_of(*MONITORED)

SCHEMA = Schema(keys={
    "checkpoint.monitor": _MONITOR,
    "checkpoint.mode": one_of("max", "min"),
    "checkpoint.save_last": boolean(),
    "last_checkpoint.save_top_k": integer(ge=-1),
    "lr_monitor.log_epoch": boolean(),
    "divergence.check_every": integer(ge=1),
    "progress_bar.refresh_rate": integer(ge=0),
    "early_stopping.monitor": _MONITOR,
    "early_stopping.patience": integer(ge=0),
    "early_stopping.mode": one_of("max", "min"),
    "early_stopping.check_finite": boolean(),
})
