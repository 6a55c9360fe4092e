"""Schema of hydra/sweeper: the keys of ablab's OFAT sweeper (src/hydra_plugins/ablab_sweepers),
checked before the sweep starts, as a factor's values are. Hydra's basic sweeper has only
`max_batch_size`; Optuna's sweeper checks its own search space."""
from omegaconf import DictConfig

from ablab.schema.rules import Rule, Schema, boolean, integer, list_of, not_allowed, number, one_of, plain

OFAT = "hydra_plugins.ablab_sweepers.ofat_sweeper.OFATSweeper"
BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
# The report's corrections over a family of comparisons (ablab.report.stats.CORRECTIONS; tests/test_schema.py
# compares the two), kept here so the check needs no report import.
CORRECTIONS = ("holm", "bh", "none")
_BATCH = integer(ge=1, allowed="an integer >= 1 (or null: a whole step per launch)")


def _seed_bounds(cfg: DictConfig) -> None:
    """seed=auto starts every configuration with min_seeds seeds and stops at max_seeds: two
    seeds at least (one has no spread to test), and the start not above the stop."""
    sweeper = cfg.hydra.sweeper
    if str(sweeper.get("_target_")) != OFAT:
        return
    low, high = plain(sweeper.get("min_seeds")), plain(sweeper.get("max_seeds"))
    if isinstance(low, int) and isinstance(high, int) and high < low:
        raise not_allowed("hydra.sweeper.max_seeds", high, f"an integer >= hydra.sweeper.min_seeds ({low})")


SCHEMA = Schema(
    targets={
        OFAT: {
            "max_batch_size": _BATCH,
            "greedy": boolean(),
            "metric": Rule(lambda v: isinstance(v, str) and "." in v and " " not in v,
                           "a dotted path into results.json, e.g. val.acc or test.macro_f1"),
            "mode": one_of("max", "min"),
            "alpha": number(gt=0, lt=1),
            "correction": one_of(*CORRECTIONS),
            "min_effect": number(ge=0),
            "min_seeds": integer(ge=2, allowed="an integer >= 2 (one seed has no spread to test)"),
            "max_seeds": integer(ge=2, allowed="an integer >= 2 (one seed has no spread to test)"),
            "repeat_keys": list_of(Rule(lambda v: isinstance(v, str) and bool(v), "a key"), "a list of keys, e.g. [seed]"),
        },
        BASIC: {"max_batch_size": _BATCH},
    },
    checks=(_seed_bounds,),
)
