"""seed=auto's sequential plan: how much of α each look may spend, and the looks replayed from files.

seed=auto looks at a family after every round: round m gives each undecided row
n_m = min_seeds + m - 1 seeds, up to max_seeds. Testing every look at α would call noise
significant far more often than α; the plan gives look m a level α_m with Σ α_m ≤ α, so by
the union bound the chance of any false call over all looks, with Holm over the family at
each look, stays ≤ α whatever the looks' dependence.

The levels come from a Lan–DeMets α-spending function of the information fraction
t = n_m / max_seeds, of the Hwang–Shih–DeCani family

    α(t) = α (1 - e^(-γ t)) / (1 - e^(-γ)),   α_m = α(t_m) - α(t_{m-1}),   α(t_0) = 0,

γ = 1 (GAMMA), for min 3 / max 10 seeds: 0.0205 at the first look (t = 0.3; the even split
gave every look 0.00625), then 0.0056, 0.0050, ... 0.0031 at the last. Chosen by simulation
(bench/calibration.py; 12 null values, or 2δ or 4δ among 3 null values, δ = 0.5 points, 60 sweeps
each): the shape changes the mean jobs little, since null rows stop when their equivalence is shown
and that needs the seeds it needs (run noise 0.3 points: 126 / 129 / 130 jobs for all-null sweeps at
γ = -2 / 1 / 4; 0.15 points: 61 / 56 / 56). γ = 1 spends early, where the pooled test can stop a
clear effect at 3 seeds, and keeps enough for the last look: γ = 4 (0.0005 there) lost power at 2δ
(97% against 100%), γ = -2 (O'Brien–Fleming-like, 0.0064 at the first look) needed 10% more jobs.

A decided comparison keeps its verdict (it is frozen when decided); later looks judge only
the undecided ones, with every run in the pooled noise estimate. `replay` repeats this
from a finished sweep's runs, so the report reaches the sweeper's verdicts.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Hashable, Optional, Sequence

from ablab.report.stats import (ALPHA, DECIDED, Comparison, Keyed, bounded_comparison, decide,
                                family_compare)

GAMMA = 1.0  # Hwang–Shih–DeCani shape: > 0 spends early (Pocock-like), < 0 late (O'Brien–Fleming-like)
RULE = "Hwang–Shih–DeCani α-spending (γ = 1) over the planned looks"


def spent(t: float, alpha: float = ALPHA, gamma: float = GAMMA) -> float:
    """α spent by information fraction t in [0, 1]."""
    t = min(max(t, 0.0), 1.0)
    if gamma == 0:
        return alpha * t
    return alpha * (1 - math.exp(-gamma * t)) / (1 - math.exp(-gamma))


def levels(min_seeds: int, max_seeds: int, alpha: float = ALPHA, gamma: float = GAMMA) -> list[float]:
    """α_m of each planned look (one after min_seeds, then one per added seed)."""
    counts = list(range(min_seeds, max_seeds + 1)) or [max_seeds]
    out, before = [], 0.0
    for n in counts:
        now = spent(n / max_seeds, alpha, gamma)
        out.append(now - before)
        before = now
    return out


def judge_look(keyed: Sequence[Keyed], pairs: Sequence[tuple[int, int]], level: float,
               frozen: dict[int, Comparison], correction: str = "holm", mode: str = "max",
               min_effect: Optional[float] = None, ratios=None, folds=None, pool: bool = True,
               look: int = 1) -> list[Comparison]:
    """One look: every pair's test (pooled over all runs), the undecided ones decided together at
    `level`; frozen (already decided) pairs keep their comparison."""
    raw = family_compare(keyed, pairs, min_effect, ratios, folds, pool)
    open_ = [p for p in range(len(pairs)) if p not in frozen]
    decided = decide([raw[p] for p in open_], level, correction, mode, min_effect)
    out = list(raw)
    for p, c in zip(open_, decided):
        out[p] = replace(c, look=look, look_level=level)
    for p, c in frozen.items():
        out[p] = c
    return out


def freeze(comparisons: Sequence[Comparison], frozen: dict[int, Comparison]) -> None:
    for p, c in enumerate(comparisons):
        if p not in frozen and c.verdict in DECIDED:
            frozen[p] = c


def _seed_rank(key: Hashable) -> Optional[int]:
    seed = key[0] if isinstance(key, tuple) else key
    try:
        return int(seed)
    except (TypeError, ValueError):
        return None


def replay(keyed: Sequence[Keyed], pairs: Sequence[tuple[int, int]], min_seeds: int, max_seeds: int,
           alpha: float = ALPHA, correction: str = "holm", mode: str = "max", min_effect: Optional[float] = None,
           ratios=None, folds=None, span=None) -> list[Comparison]:
    """The verdicts seed=auto reached: look m sees the runs of seeds below min_seeds + m - 1 (seed=auto
    runs seeds 0, 1, ... in order), judged as the sweeper judged them."""
    frozen: dict[int, Comparison] = {}
    out: list[Comparison] = []
    top = max((_seed_rank(k) or 0 for rows in keyed for k, _ in rows), default=0) + 1
    for m, level in enumerate(levels(min_seeds, max_seeds, alpha)):
        bound = min_seeds + m
        seen = [[(k, v) for k, v in rows if (_seed_rank(k) if _seed_rank(k) is not None else 0) < bound]
                for rows in keyed]
        out = judge_look(seen, pairs, level, frozen, correction, mode, min_effect, ratios, folds, look=m + 1)
        freeze(out, frozen)
        if len(frozen) == len(pairs) or bound >= top:
            break
    return [bounded_comparison(c, span) for c in out]


def fixed(keyed: Sequence[Keyed], pairs: Sequence[tuple[int, int]], alpha: float = ALPHA,
          correction: str = "holm", mode: str = "max", min_effect: Optional[float] = None,
          ratios=None, folds=None, span=None, pool: bool = True) -> list[Comparison]:
    """Fixed seeds: one look at α."""
    out = judge_look(keyed, pairs, alpha, {}, correction, mode, min_effect, ratios, folds, pool)
    return [bounded_comparison(c, span) for c in out]
