"""A run stopped early because it could not beat the search it is part of.

A hyper-parameter search (ablab.sweeps.pruning) raises `Pruned` once the run has finished the
epoch the pruner judged; run/train.py records the run as `pruned` in results.json (not
`failed`: the run did what it was asked) and the sweep goes on with its next trial.
"""


class Pruned(Exception):
    """The search's pruner stopped this run after a finished epoch."""
