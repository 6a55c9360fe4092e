"""Schema of conf/optimizer: torch.optim's arguments that a sweep changes."""
from ablab.schema.rules import Schema, boolean, list_of, number

SCHEMA = Schema(keys={
    "lr": number(gt=0),
    "weight_decay": number(ge=0),
    "momentum": number(ge=0, lt=1),
    "alpha": number(ge=0, lt=1),  # RMSprop's smoothing
    "betas": list_of(number(ge=0, lt=1), "two numbers in [0, 1), e.g. [0.9,0.999]"),
    "nesterov": boolean(),
    "fused": boolean(),
})
