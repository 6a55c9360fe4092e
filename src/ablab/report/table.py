"""Aggregate a sweep's runs into one row per configuration, grouped by factor.

A configuration is what a job's overrides change beyond what every job shares
(e.g. trainer.max_epochs=3), seeds and folds aside: runs that differ only in
`seed=` or `data.fold=` are merged into one row with mean and std.

A row's factor is the key it changes relative to its reference row: the baseline for
a plain OFAT job; in a greedy OFAT sweep, the earlier winner it was run on top of
(factor "dropout (with optimizer=adam)"). Rows with no such reference (a grid without
a baseline) are grouped by the keys they set, e.g. "optimizer, scheduler"; when the
sweep's defaults are known (its multirun.yaml) and the group holds the all-default
configuration, that row is the group's reference; otherwise the row with every key at the
first value the sweep ran for it (the first value listed: `optimizer.lr=0.01,0.1` compares
0.1 with 0.01), named "(first listed)".

Each row carries the statistics of the ranking metric (report/stats.py): its summary
over completed runs and, when it has a reference, the comparison and verdict.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import fmean, stdev
from typing import Any, Callable, Hashable, Optional

from ablab.report.collect import Run
from ablab.report.sequential import fixed, levels, replay
from ablab.report.stats import (ALPHA, MIN_EFFECT, Comparison, Summary, bounded, looks, metric_range,
                                summarize)

REPEAT_KEYS = ("seed", "data.fold")
# (results.json path, column title) in table order.
# Spelt out: macro = the mean over classes, micro = over all images.
METRICS = [("test.acc", "test accuracy"), ("test.precision_micro", "test micro precision"),
           ("test.precision_macro", "test macro precision"), ("test.recall_micro", "test micro recall"),
           ("test.recall_macro", "test macro recall"), ("test.f1_micro", "test micro F1"),
           ("test.f1_macro", "test macro F1"), ("test.loss", "test loss"),
           ("epochs", "epochs"), ("wall_s", "wall time (s)")]
STATUSES = ("completed", "running", "failed", "diverged", "interrupted")
BASELINE = "baseline"


def key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def value_of(override: str) -> str:
    return override.split("=", 1)[1] if "=" in override else override


def repeat_key(run: Run) -> Hashable:
    """What pairs two runs across configurations: their seed and fold."""
    given = {key_of(o): value_of(o) for o in run.overrides if key_of(o) in REPEAT_KEYS}
    if "seed" not in given and run.results.get("seed") is not None:
        given["seed"] = str(run.results["seed"])  # the config's seed, when no override set one
    return tuple(given.get(k) for k in REPEAT_KEYS)


@dataclass
class Stat:
    mean: Optional[float]
    std: Optional[float]  # sample std; None below two values
    n: int


@dataclass
class Row:
    factor: str  # "baseline", "optimizer", or "optimizer, dropout" for several keys
    value: str
    overrides: tuple[str, ...]
    runs: list[Run] = field(default_factory=list)
    reference: Optional["Row"] = None  # the same configuration with this factor at default
    summary: Summary = Summary(0, None, None, None, None)  # of the ranking metric
    comparison: Optional[Comparison] = None  # to `reference`, when there is one
    is_reference: bool = False  # some other row is compared to this one
    key: str = ""  # the key this row changes relative to its reference ("" for the baseline)
    name: str = ""  # what the row is, shown to people: "optimizer=sgd", "optimizer=adam (baseline)"
    first_listed: bool = False  # the reference of a grid without its defaults, by the first-listed rule
    mcnemar: Optional[Any] = None  # report/evidence.py McNemar: a single run against a single-run reference

    @property
    def verdict(self) -> str:
        """better | worse | equivalent | undecided | single run (vs its reference), reference, or ""."""
        if self.comparison is not None:
            return self.comparison.verdict
        return "reference" if self.is_reference else ""

    @property
    def best(self) -> bool:  # ★: better than its reference beyond noise
        return self.verdict == "better"

    def keyed(self, metric: str) -> list[tuple[Hashable, float]]:
        """(seed/fold, value) of each completed run that has the metric."""
        return [(repeat_key(r), v) for r in self.runs
                if r.status == "completed" and (v := r.value(metric)) is not None]

    def folds(self, metric: str) -> int:
        """Distinct data.fold values among the completed runs: > 1 when the repeats are CV folds."""
        return len({k[1] for k, _ in self.keyed(metric) if k[1] is not None})

    def cv_ratio(self, metric: str) -> Optional[float]:
        """n_val / n_train of its fold runs (results.json's val_size and train_class_counts);
        1/(k-1) for k folds when the runs did not record them; None when not cross-validated."""
        k = self.folds(metric)
        if k < 2:
            return None
        got = []
        for r in self.runs:
            counts, val = r.results.get("train_class_counts"), r.results.get("val_size")
            if r.status == "completed" and isinstance(counts, dict) and isinstance(val, (int, float)):
                train = sum(v for v in counts.values() if isinstance(v, (int, float)))
                if train > 0:
                    got.append(val / train)
        return fmean(got) if got else 1 / (k - 1)

    def seeds(self, metric: str) -> int:
        """Distinct seeds among the completed runs with the metric."""
        return len({k[0] for k, _ in self.keyed(metric)})

    def stat(self, metric: str) -> Stat:
        """Over completed runs only: a failed or diverged run has no metrics worth averaging."""
        got = [v for r in self.runs if r.status == "completed" and (v := r.value(metric)) is not None]
        return Stat(fmean(got) if got else None, stdev(got) if len(got) > 1 else None, len(got))

    def statuses(self) -> Counter:
        return Counter(r.status for r in self.runs)


@dataclass
class Table:
    rows: list[Row]
    common: list[str]  # overrides shared by every job
    metric: str
    mode: str
    alpha: float = ALPHA  # the error rate of the whole table (spent over the looks with seed=auto)
    correction: str = "holm"
    min_effect: Optional[float] = MIN_EFFECT  # δ, in metric units
    seeds: Optional[tuple[int, int]] = None  # seed=auto's (min_seeds, max_seeds); None for fixed seeds
    auto: Optional[dict] = None  # seed=auto's record (min_seeds, max_seeds, rounds), when the sweep used it

    @property
    def looks(self) -> int:
        """Planned looks: one with fixed seeds."""
        return looks(*self.seeds) if self.seeds else 1

    @property
    def levels(self) -> list[float]:
        """Each look's share of α (report/sequential.py); [α] with fixed seeds."""
        return levels(*self.seeds, self.alpha) if self.seeds else [self.alpha]

    @property
    def family(self) -> int:
        """Comparisons adjusted together: every row with a test."""
        return sum(1 for r in self.rows if r.comparison is not None and r.comparison.p_value is not None)

    @property
    def baseline(self) -> Optional[Row]:
        return next((r for r in self.rows if r.factor == BASELINE), None)

    def columns(self) -> list[tuple[str, str]]:
        """METRICS, plus the ranking metric when it is not one of them (e.g. val.acc)."""
        known = [m for m, _ in METRICS]
        return METRICS + ([] if self.metric in known else [(self.metric, self.metric)])

    def factors(self) -> list[str]:
        return list(dict.fromkeys(r.factor for r in self.rows if r.factor != BASELINE))


def _config(run: Run, common: set[str]) -> tuple[str, ...]:
    return tuple(o for o in run.overrides if o not in common and key_of(o) not in REPEAT_KEYS)


def build_table(runs: list[Run], metric: str = "val.acc", mode: str = "max", alpha: float = ALPHA,
                default_of: Optional[Callable[[str], Any]] = None, correction: str = "holm",
                min_effect: Optional[float] = MIN_EFFECT, seeds: Optional[tuple[int, int]] = None) -> Table:
    """`default_of(key)`: a key's default in the sweep's config (ablab.report.defaults.baseline_lookup),
    which lets a grid's all-default row be its reference and names the baseline's values.
    Every comparison of the table is one family: `correction` adjusts them together at α, or,
    with seed=auto's `seeds` = (min_seeds, max_seeds), at each look's share of α as the sweeper did."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be max or min, got {mode!r}")
    shared = set.intersection(*[set(r.overrides) for r in runs]) if runs else set()
    common = {o for o in shared if key_of(o) not in REPEAT_KEYS}
    rows: dict[frozenset[str], Row] = {}  # a set: the order overrides were typed in is no factor
    for run in runs:
        config = _config(run, common)
        rows.setdefault(frozenset(config), Row(BASELINE, "—", config)).runs.append(run)
    for config, row in rows.items():
        if config:
            _name(row, [r for c, r in rows.items() if len(c) == len(config) - 1 and c < config])
    # Baseline first, then factors in the order their first job ran.
    ordered = sorted(rows.values(), key=lambda r: r.factor != BASELINE)
    order = {f: i for i, f in enumerate(dict.fromkeys(r.factor for r in ordered))}
    ordered.sort(key=lambda r: order[r.factor])  # stable: values keep their run order
    _grid_references(ordered, default_of)
    table = Table(ordered, [o for o in runs[0].overrides if o in common] if runs else [], metric, mode, alpha,
                  correction, min_effect, seeds)
    _names(table, default_of)
    _judge(table)
    return table


def _names(table: Table, default_of: Optional[Callable[[str], Any]]) -> None:
    """Each row named by its values; the baseline by the defaults of the keys the sweep changes."""
    from ablab.report.defaults import UNKNOWN

    keys = list(dict.fromkeys(r.key for r in table.rows if r.key))
    for row in table.rows:
        if row.factor == BASELINE:
            known = [(k, default_of(k)) for k in keys] if default_of is not None else []
            shown = [f"{k}={_text(v)}" for k, v in known if v is not UNKNOWN]
            row.name = (" ".join(shown) + " (baseline)") if shown else "(baseline)"
        elif row.first_listed:
            row.name = " ".join(row.overrides) + " (first listed)"
        elif row.reference is not None and row.reference.factor != BASELINE and row.key:
            row.name = f"{row.key}={row.value}" + row.factor[len(row.key):]
        elif row.key:
            row.name = f"{row.key}={row.value}"
        else:
            row.name = " ".join(row.overrides)


def _text(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _name(row: Row, parents: list[Row]) -> None:
    config = row.overrides
    if not parents:
        row.factor = ", ".join(dict.fromkeys(key_of(o) for o in config))
        row.value = value_of(config[0]) if len(config) == 1 else " ".join(config)
        row.key = key_of(config[0]) if len(config) == 1 else ""
        return
    row.reference = parents[0]  # the earliest run: in a greedy sweep, the carried winner
    (extra,) = set(config) - set(row.reference.overrides)
    carried = " ".join(row.reference.overrides)
    row.factor = key_of(extra) + (f" (with {carried})" if carried else "")
    row.value = value_of(extra)
    row.key = key_of(extra)


def _grid_references(rows: list[Row], default_of: Optional[Callable[[str], Any]]) -> None:
    """In a group of rows without a reference, the one with every key at its default is it; a group
    without it (a grid that left the defaults out) takes the row with every key at the first value
    the sweep ran for it (the first listed, as Hydra runs a grid in the order typed), or its first row."""
    from ablab.report.defaults import UNKNOWN, same_value

    def at_default(override: str) -> bool:
        default = default_of(key_of(override)) if default_of is not None else UNKNOWN
        return default is not UNKNOWN and same_value(value_of(override), default)

    for factor in dict.fromkeys(r.factor for r in rows if r.reference is None and r.factor != BASELINE):
        group = [r for r in rows if r.factor == factor and r.reference is None]
        if len(group) < 2:
            continue
        ref = next((r for r in group if r.overrides and all(at_default(o) for o in r.overrides)), None)
        if ref is None:
            first: dict[str, str] = {}
            for r in group:
                for o in r.overrides:
                    first.setdefault(key_of(o), o)
            ref = next((r for r in group if set(r.overrides) == set(first.values())), group[0])
            ref.first_listed = True
        for row in group:
            if row is not ref:
                row.reference = ref


def _judge(table: Table) -> None:
    """Summary of every row; the comparisons of every row that has a reference, decided as one
    family (report/stats.py: the test, then the correction over all of them)."""
    metric = table.metric
    span = metric_range(metric)
    for row in table.rows:
        s = summarize([v for _, v in row.keyed(metric)], table.alpha, row.cv_ratio(metric))
        low, high = bounded(s.ci_low, s.ci_high, span)
        row.summary = Summary(s.n, s.mean, s.std, low, high)
    compared = [row for row in table.rows if row.reference is not None]
    at = {id(row): i for i, row in enumerate(table.rows)}
    pairs, ratios, folds = [], [], []
    for row in compared:
        row.reference.is_reference = True
        k = min(row.folds(metric), row.reference.folds(metric))
        pairs.append((at[id(row)], at[id(row.reference)]))
        folds.append(k)
        ratios.append(row.cv_ratio(metric) if k > 1 else None)
    keyed = [row.keyed(metric) for row in table.rows]
    args = (table.correction, table.mode, table.min_effect, ratios, folds, span)
    if table.seeds:
        got = replay(keyed, pairs, *table.seeds, table.alpha, *args)
    else:
        got = fixed(keyed, pairs, table.alpha, *args)
    for row, c in zip(compared, got):
        row.comparison = c
    from ablab.report.evidence import mcnemar

    for row in compared:
        mine = [r for r in row.runs if r.status == "completed"]
        theirs = [r for r in row.reference.runs if r.status == "completed"]
        if row.verdict == "single run" and len(mine) == 1 and len(theirs) == 1:
            row.mcnemar = mcnemar(mine[0], theirs[0], metric)
