"""Is a difference an effect or seed noise? The statistics behind the report's verdicts.

Shared by the sweep report and the greedy OFAT sweeper, so both call a value better by
the same test. The tests themselves are scipy.stats': Student t intervals for a mean,
`ttest_rel` when two configurations ran the same seeds/folds (each pair shares its data
split and initial draw, so their difference cancels much of the noise), Welch's
`ttest_ind(equal_var=False)` otherwise. Intervals are at the 1 - alpha level (95% by
default), so "significant" and "the interval excludes 0" always agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Optional, Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05
POWER = 0.8  # of the seed-count estimate: the chance to detect a true difference of min_effect
VERDICTS = ("better", "worse", "within noise", "reference", "single run")

Keyed = Sequence[tuple[Hashable, float]]  # (repeat key: seed and fold, value) per completed run


@dataclass(frozen=True)
class Summary:
    n: int
    mean: Optional[float]
    std: Optional[float]  # sample std (ddof=1); None below two values
    ci_low: Optional[float]  # Student t interval of the mean; None below two values
    ci_high: Optional[float]


def summarize(values: Sequence[float], alpha: float = ALPHA) -> Summary:
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return Summary(0, None, None, None, None)
    mean = float(x.mean())
    if len(x) < 2:
        return Summary(1, mean, None, None, None)
    std = float(x.std(ddof=1))
    if std == 0:  # scipy returns nan for a zero scale; the interval is the point itself
        return Summary(len(x), mean, 0.0, mean, mean)
    low, high = stats.t.interval(1 - alpha, len(x) - 1, loc=mean, scale=stats.sem(x))
    return Summary(len(x), mean, std, float(low), float(high))


@dataclass(frozen=True)
class Comparison:
    delta: Optional[float]  # mean(values) - mean(reference)
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    p_value: Optional[float] = None
    test: Optional[str] = None  # "paired t" | "Welch t"; None for single runs
    verdict: str = "single run"


def pairable(values: Keyed, reference: Keyed) -> bool:
    """Same seeds/folds on both sides, each once: then run i of one pairs with run i of the other."""
    a, b = [k for k, _ in values], [k for k, _ in reference]
    return len(set(a)) == len(a) and len(set(b)) == len(b) and set(a) == set(b)


def compare(values: Keyed, reference: Keyed, alpha: float = ALPHA, mode: str = "max") -> Comparison:
    """The difference of `values` to `reference` with its interval, p-value and verdict."""
    if not values or not reference:
        return Comparison(None, verdict="")  # nothing finished on one side: no result to judge
    a = np.array([v for _, v in values], dtype=float)
    b = np.array([v for _, v in reference], dtype=float)
    delta = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Comparison(delta)  # no spread to test against
    if pairable(values, reference):
        by_key = dict(reference)
        b = np.array([by_key[k] for k, _ in values], dtype=float)
        result, test = stats.ttest_rel(a, b), "paired t"
    else:
        result, test = stats.ttest_ind(a, b, equal_var=False), "Welch t"
    p = float(result.pvalue)
    if math.isnan(p):  # no spread at all and no difference (identical runs)
        return Comparison(delta, delta, delta, 1.0, test, "within noise")
    low, high = result.confidence_interval(1 - alpha)
    low, high = (delta, delta) if math.isnan(low) else (float(low), float(high))
    sign = 1 if mode == "max" else -1
    verdict = "within noise" if p >= alpha else "better" if sign * delta > 0 else "worse"
    return Comparison(delta, low, high, p, test, verdict)


def pooled_std(groups: Sequence[Sequence[float]]) -> Optional[float]:
    """Within-configuration spread: sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)); None without repeats."""
    dof = sum(len(g) - 1 for g in groups if len(g) > 1)
    if not dof:
        return None
    ss = sum(float(np.var(g, ddof=1)) * (len(g) - 1) for g in groups if len(g) > 1)
    return math.sqrt(ss / dof)


def seeds_needed(std: float, min_effect: float, alpha: float = ALPHA, power: float = POWER) -> int:
    """Runs per configuration for a two-sided two-sample test to detect `min_effect` at noise
    `std`: n = ceil(2 (z[1 - alpha/2] + z[power])^2 std^2 / min_effect^2) (normal approximation),
    at least 2 (a t-test needs a spread)."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return max(2, math.ceil(2 * (z * std / min_effect) ** 2))


SEEDS_FORMULA = "n = ⌈2·(z₁₋α/₂ + z₀.₈)²·σ²/δ²⌉"
