"""Schema of conf/viz: the figures' sizes and when they are drawn (viz/default.yaml says how each works)."""
from ablab.schema.rules import Schema, integer, one_of

DRAW = ("auto", "end", "later")

SCHEMA = Schema(keys={
    "draw": one_of(*DRAW),
    "every_n_epochs_histograms": integer(ge=0, allowed="an integer >= 0 (0: no weight histograms)"),
    "n_samples": integer(ge=1),
    "n_mistakes": integer(ge=0),
    "n_kernels": integer(ge=1),
})
