"""Which factor matters most, by the same tests as the verdicts, so the two never disagree.

A factor's effect is its largest difference to a reference that is significant after the
family's correction (better or worse, or significant yet inside ±δ), with that
comparison's interval; factors are ordered by the size of that difference. A factor with
no significant difference comes after them: its largest observed difference is shown, but
it is not ranked as an effect ("none beyond noise"), since its verdicts say none was found.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ablab.report.table import BASELINE, Row, Table


@dataclass(frozen=True)
class Effect:
    factor: str
    values: int  # configurations with a mean, reference included
    row: Row  # the value with the largest (significant, when any) difference to its reference
    significant: bool  # that difference is significant after correction
    verdicts: dict[str, int]  # verdict -> count over the factor's compared rows

    @property
    def delta(self) -> float:
        assert self.row.comparison is not None and self.row.comparison.delta is not None
        return self.row.comparison.delta


def label(row: Row, factor: str) -> str:
    """How a row is named inside a factor's panel or line: its value, or what it stands for
    (the baseline by its value of the factor where the sweep's defaults know it: `adam (baseline)`)."""
    if row.factor == BASELINE:
        value = value_in(row.name or "", factor)
        return f"{value} (baseline)" if value else "baseline"
    return row.value if row.factor == factor else "default"


def value_in(name: str, key: str) -> str:
    """`key`'s value in a row name such as `optimizer=adam dropout=0.0 (baseline)`, or ""."""
    return next((t.split("=", 1)[1] for t in name.split() if t.startswith(key + "=")), "")


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
        compared = [r for r in table.rows if r.factor == factor and r.comparison is not None
                    and r.comparison.delta is not None]
        if len(rows) < 2 or not compared:
            continue
        significant = [r for r in compared if r.comparison.significant]
        pool = significant or compared
        top = max(pool, key=lambda r: abs(r.comparison.delta))
        counts: dict[str, int] = {}
        for r in compared:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        effects.append(Effect(factor, len(rows), top, bool(significant), counts))
    # Significant effects first, largest first; then the rest by their largest observed difference.
    return sorted(effects, key=lambda e: (not e.significant, -abs(e.delta)))


def best_value(table: Table) -> Optional[Row]:
    """The row better than its reference by the largest difference, when any is."""
    better = [r for r in table.rows if r.verdict == "better"]
    sign = 1 if table.mode == "max" else -1
    return max(better, key=lambda r: sign * r.comparison.delta) if better else None
