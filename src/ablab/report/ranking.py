"""Which factor matters most: factors ordered by how far their values move the metric.

A factor's effect is the range of its configuration means (its reference included) over
the pooled within-configuration std of those configurations: how many seed-noise widths
apart its best and worst values land. Without repeats there is no noise estimate, and
factors are ordered by the range alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ablab.report.stats import pooled_std
from ablab.report.table import BASELINE, Row, Table


@dataclass(frozen=True)
class Effect:
    factor: str
    values: int  # configurations with a mean, reference included
    low: Row  # the configurations with the lowest and highest mean
    high: Row
    range: float  # high mean - low mean
    noise: Optional[float]  # pooled within-configuration std
    ratio: Optional[float]  # range / noise


def label(row: Row, factor: str) -> str:
    """How a row is named inside a factor's panel or line: its value, or what it stands for."""
    return "baseline" if row.factor == BASELINE else row.value if row.factor == factor else "default"


def references(table: Table, factor: str) -> list[Row]:
    """The rows the factor's values are compared to (the baseline, a carried winner, a grid's default)."""
    refs: dict[int, Row] = {}  # by identity: rows are not hashable
    for r in table.rows:
        if r.factor == factor and r.reference is not None:
            refs.setdefault(id(r.reference), r.reference)
    return list(refs.values())


def factor_rows(table: Table, factor: str) -> list[Row]:
    """The factor's reference row(s) first, then its other rows in run order."""
    refs = references(table, factor)
    return refs + [r for r in table.rows if r.factor == factor and all(r is not x for x in refs)]


def rank_factors(table: Table) -> list[Effect]:
    effects = []
    for factor in table.factors():
        rows = [r for r in factor_rows(table, factor) if r.summary.mean is not None]
        if len(rows) < 2:
            continue
        low = min(rows, key=lambda r: r.summary.mean)
        high = max(rows, key=lambda r: r.summary.mean)
        noise = pooled_std([[v for _, v in r.keyed(table.metric)] for r in rows])
        spread = high.summary.mean - low.summary.mean
        ratio = spread / noise if noise else None
        effects.append(Effect(factor, len(rows), low, high, spread, noise, ratio))
    # Effects measured against noise first (largest first), then the rest by their range.
    return sorted(effects, key=lambda e: (e.ratio is None, -(e.ratio or 0.0), -e.range))
