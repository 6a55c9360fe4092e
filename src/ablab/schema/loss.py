"""Schema of conf/loss: each loss's own arguments, by its `_target_` (gamma is focal's
focusing power, beta the class-balanced effective-number parameter)."""
from ablab.schema.rules import Schema, integer, list_of, number, one_of

BASES = ("ce", "focal")  # the per-sample loss a re-weighted loss weights
_REWEIGHTED = {"beta": number(ge=0, le=1), "base": one_of(*BASES), "gamma": number(ge=0)}

SCHEMA = Schema(targets={
    "torch.nn.CrossEntropyLoss": {"label_smoothing": number(ge=0, lt=1)},
    "torch.nn.MultiMarginLoss": {"p": one_of(1, 2), "margin": number(gt=0)},
    "ablab.factors.losses.FocalLoss": {"gamma": number(ge=0),
                                       "weight": list_of(number(ge=0), "a list of num_classes numbers >= 0")},
    "ablab.factors.losses.ClassBalancedLoss": _REWEIGHTED,
    "ablab.factors.losses.DeferredReweighting": {**_REWEIGHTED, "start_epoch": integer(ge=0)},
})
