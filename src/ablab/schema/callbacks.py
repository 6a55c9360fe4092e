"""Schema of conf/callbacks: the numbers of the callbacks a run gets (any may be set to null to drop it)."""
from ablab.schema.rules import Schema, boolean, integer, one_of

SCHEMA = Schema(keys={
    "checkpoint.mode": one_of("max", "min"),
    "divergence.check_every": integer(ge=1),
    "progress_bar.refresh_rate": integer(ge=0),
    "early_stopping.patience": integer(ge=0),
    "early_stopping.mode": one_of("max", "min"),
    "early_stopping.check_finite": boolean(),
})
