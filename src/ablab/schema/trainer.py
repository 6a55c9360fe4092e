"""Schema of conf/trainer: the Lightning Trainer arguments ablab's configs set.

Whether the accelerator asked for is on this machine is asked by ablab.run.devices when the
run starts (it needs torch); here only the names are checked.
"""
from ablab.schema.rules import Rule, Schema, boolean, either, integer, is_integer, number, one_of

# Lightning's precision names (lightning_fabric's _PRECISION_INPUT), kept here so checking
# them needs no Lightning import; tests/test_schema.py compares the two.
PRECISIONS = ("64", "64-true", "32", "32-true", "16", "16-mixed", "16-true", "bf16", "bf16-mixed", "bf16-true",
              "transformer-engine", "transformer-engine-float16")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
_BOUND = Rule(lambda v: is_integer(v) and (v >= 1 or v == -1), "an integer >= 1 (or -1 for no limit)")
_LIMIT = either(integer(ge=0), number(ge=0, le=1), allowed="a number of batches (an integer >= 0) or a fraction in [0, 1]")

SCHEMA = Schema(keys={
    "precision": one_of(*PRECISIONS),
    "accelerator": one_of(*ACCELERATORS),
    "devices": Rule(lambda v: v == "auto" or (is_integer(v) and (v >= 1 or v == -1)) or isinstance(v, list),
                    "an integer >= 1, -1 (all), a list of device ids or auto"),
    "max_epochs": _BOUND,
    "max_steps": _BOUND,
    "log_every_n_steps": integer(ge=1),
    "num_sanity_val_steps": integer(ge=-1),
    "gradient_clip_val": number(gt=0),
    "deterministic": either(boolean(), one_of("warn"), allowed="true, false or warn"),
    "enable_progress_bar": boolean(),
    "enable_model_summary": boolean(),
    "sync_batchnorm": boolean(),
    "limit_train_batches": _LIMIT,
    "limit_val_batches": _LIMIT,
    "limit_test_batches": _LIMIT,
})
