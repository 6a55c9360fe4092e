"""Schema of hydra/sweeper: the keys of ablab's OFAT and search (Optuna) sweepers
(src/hydra_plugins/ablab_sweepers), checked before the sweep starts, as a factor's values are.
Hydra's basic sweeper has only `max_batch_size`. A search's space (`params` and the swept keys
of the command line) is checked where it is parsed, ablab.sweeps.search_space.check_space."""
from omegaconf import DictConfig

from ablab.schema.rules import Rule, Schema, boolean, integer, list_of, not_allowed, number, one_of, plain, required

OFAT = "hydra_plugins.ablab_sweepers.ofat_sweeper.OFATSweeper"
BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
SEARCH = "hydra_plugins.ablab_sweepers.optuna_sweeper.OptunaSweeper"
# The report's corrections over a family of comparisons (ablab.report.stats.CORRECTIONS; tests/test_schema.py
# compares the two), kept here so the check needs no report import.
CORRECTIONS = ("holm", "bh", "none")
# The scalars each split of results.json holds (ablab.run.results.SCALAR_KEYS; tests/test_faults.py
# compares the two): what a search can optimise.
SCALAR_KEYS = ("loss", "acc", "precision_micro", "precision_macro", "recall_micro", "recall_macro",
               "f1_micro", "f1_macro")
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


def _node(v) -> bool:
    return isinstance(v, dict) and isinstance(v.get("_target_"), str)


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
        SEARCH: {
            "direction": one_of("maximize", "minimize"),
            "metric": one_of(*(f"{split}.{k}" for split in ("val", "test") for k in SCALAR_KEYS),
                             allowed="a scalar of results.json: val.<name> or test.<name>, "
                                     f"<name> one of {', '.join(SCALAR_KEYS)}"),
            "study_name": Rule(lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty name"),
            "storage": Rule(lambda v: isinstance(v, str) and bool(v.strip()),
                            "a journal file's path or a database URL (or null: <sweep dir>/optuna.journal)"),
            "n_trials": integer(ge=1),
            "n_jobs": integer(ge=1, allowed="an integer >= 1 (or null: one per slot of the devices launcher, else 1)"),
            "heartbeat_s": number(gt=0),
            "sampler": Rule(_node, "an Optuna sampler given by its _target_ (e.g. optuna.samplers.TPESampler)"),
            "pruner": Rule(_node, "an Optuna pruner given by its _target_, or null: no pruning"),
            "params": Rule(lambda v: isinstance(v, dict) and all(not isinstance(x, (dict, list)) for x in v.values()),
                           "a mapping of key to sweep, e.g. {dropout: 'interval(0, 0.5)'}"),
        },
    },
    checks=(_seed_bounds, required("sweeper", SEARCH, "direction", "metric", "study_name", "n_trials", "heartbeat_s")),
)
