"""Is a difference an effect, noise, or too small to matter? The statistics behind the verdicts.

Shared by the sweep report, the greedy OFAT sweeper and `seed=auto`, so all three decide by
the same tests:

- the difference of a configuration to its reference: the pooled block-design t when the
  family's rows ran the same seeds/folds (report/pooled.py: one residual variance for all of
  them, a per-row equal-variance check with the row's own test as fallback; `family_compare`),
  a paired t-test when two rows alone share them (each pair shares its data split and initial
  draw), Welch's t-test otherwise; when the repeats are folds of a k-fold split (their training sets overlap),
  the corrected resampled t-test of Nadeau & Bengio (2003): the variance of the mean
  difference is scaled by 1/n + n_val/n_train instead of 1/n (n = seeds × folds, which is
  Bouckaert & Frank's repeated k-fold form);
- equivalence (TOST): two one-sided tests of the difference against -δ and +δ, δ the
  smallest effect of interest;
- a family of comparisons read together (one report, one greedy step) is adjusted at once:
  Holm's step-down (family-wise error rate) by default, Benjamini-Hochberg (false discovery
  rate, `scipy.stats.false_discovery_control`) or none. The difference p-values and the TOST
  p-values are adjusted the same way, each over the family.

Verdicts: better / worse (significant after correction and not equivalent), equivalent (both
one-sided tests reject after correction: the difference lies inside ±δ, possibly significant
yet negligible), undecided (neither: more runs could decide), single run (no spread to test).
Intervals of a rate are bounded to what it can take (`bounded`: a mean to [0, 1], a difference
to [-1, 1]; cutting at the bound never excludes the true value). Intervals are shown at the level
each row's decision was made at (a rejected row: α · p / p_adjusted, its step's level; a row not
rejected: the level the next step needed, α/(m - r) for Holm), so
"significant" and "the interval excludes 0" agree after correction too; the equivalence
interval is the matching 1 - 2α' interval, which lies inside ±δ exactly when TOST rejects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Hashable, Optional, Sequence

import numpy as np
from scipy import special, stats

ALPHA = 0.05
POWER = 0.8  # of the seed-count estimate: the chance to detect a true difference of min_effect
MIN_EFFECT = 0.005  # δ: 0.5 points of an accuracy
CORRECTIONS = ("holm", "bh", "none")
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}
VERDICTS = ("better", "worse", "equivalent", "undecided", "reference", "single run")
DECIDED = ("better", "worse", "equivalent")

Keyed = Sequence[tuple[Hashable, float]]  # (repeat key: seed and fold, value) per completed run


@dataclass(frozen=True)
class Summary:
    n: int
    mean: Optional[float]
    std: Optional[float]  # sample std (ddof=1); None below two values
    ci_low: Optional[float]  # Student t interval of the mean; None below two values
    ci_high: Optional[float]


def summarize(values: Sequence[float], alpha: float = ALPHA, cv_ratio: Optional[float] = None) -> Summary:
    """`cv_ratio` (n_val/n_train) when the values are folds: the interval's variance is scaled by
    1/n + cv_ratio instead of 1/n (the folds' training sets overlap)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return Summary(0, None, None, None, None)
    mean = float(x.mean())
    if len(x) < 2:
        return Summary(1, mean, None, None, None)
    std = float(x.std(ddof=1))
    if std == 0:  # scipy returns nan for a zero scale; the interval is the point itself
        return Summary(len(x), mean, 0.0, mean, mean)
    se = std * math.sqrt(1 / len(x) + (cv_ratio or 0.0))
    low, high = stats.t.interval(1 - alpha, len(x) - 1, loc=mean, scale=se)
    return Summary(len(x), mean, std, float(low), float(high))


@dataclass(frozen=True)
class Comparison:
    delta: Optional[float]  # mean(values) - mean(reference)
    ci_low: Optional[float] = None  # at the level the decision was made (1 - alpha_used)
    ci_high: Optional[float] = None
    p_value: Optional[float] = None  # raw, two-sided
    test: Optional[str] = None  # "paired t" | "Welch t" | "corrected resampled t" ...; None for single runs
    verdict: str = "single run"
    p_adjusted: Optional[float] = None  # over the family (= p_value when alone or uncorrected)
    p_equivalence: Optional[float] = None  # TOST: max of the two one-sided p-values, raw
    p_equivalence_adjusted: Optional[float] = None
    equiv_low: Optional[float] = None  # the 1 - 2 alpha' interval TOST decides on
    equiv_high: Optional[float] = None
    se: Optional[float] = None  # standard error of delta
    df: Optional[float] = None
    n: int = 0  # pairs (paired) or runs of this row (Welch)
    folds: int = 0  # distinct folds when the test is the corrected one
    alpha_used: Optional[float] = None  # the per-comparison level after correction
    look: int = 1  # seed=auto: the look (round) that decided it, or the last one it was judged at
    look_level: Optional[float] = None  # that look's share of α, before the correction over the family

    @property
    def significant(self) -> bool:
        """Different from 0 after correction (its interval, at the decision's level, excludes 0)."""
        return self.p_adjusted is not None and self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)


def pairable(values: Keyed, reference: Keyed) -> bool:
    """Same seeds/folds on both sides, each once: then run i of one pairs with run i of the other."""
    a, b = [k for k, _ in values], [k for k, _ in reference]
    return len(set(a)) == len(a) and len(set(b)) == len(b) and set(a) == set(b)


def _interval(delta: float, se: float, df: float, level_alpha: float) -> tuple[float, float]:
    if se == 0:
        return delta, delta
    half = float(special.stdtrit(df, 1 - level_alpha / 2)) * se  # scipy.stats.t.ppf, without its overhead
    return delta - half, delta + half


def _p_two_sided(delta: float, se: float, df: float) -> float:
    if se == 0:
        return 1.0 if delta == 0 else 0.0
    return float(2 * special.stdtr(df, -abs(delta / se)))  # 2 · scipy.stats.t.sf(|t|, df)


def _p_tost(delta: float, se: float, df: float, margin: Optional[float]) -> Optional[float]:
    """max of H0: Δ <= -δ and H0: Δ >= +δ; small when Δ lies inside ±δ beyond noise."""
    if not margin:
        return None
    if se == 0:
        return 0.0 if abs(delta) < margin else 1.0
    lower = special.stdtr(df, -(delta + margin) / se)  # t.sf
    upper = special.stdtr(df, (delta - margin) / se)  # t.cdf
    return float(max(lower, upper))


def compare(values: Keyed, reference: Keyed, alpha: float = ALPHA, mode: str = "max",
            min_effect: Optional[float] = None, cv_ratio: Optional[float] = None, folds: int = 0) -> Comparison:
    """The difference of `values` to `reference` with its test, as a family of one (see `decide`).
    `cv_ratio` (n_val/n_train) with `folds` > 1: the repeats are folds, use the corrected test."""
    return decide([raw_compare(values, reference, min_effect, cv_ratio, folds)], alpha, "none", mode,
                  min_effect)[0]


def raw_compare(values: Keyed, reference: Keyed, min_effect: Optional[float] = None,
                cv_ratio: Optional[float] = None, folds: int = 0) -> Comparison:
    """The test of one comparison, before any decision: delta, se, df, raw p-values."""
    if not values or not reference:
        return Comparison(None, verdict="")  # nothing finished on one side: no result to judge
    mine = {k for k, _ in values}
    if len(values) > 1 and len(mine) == len(values) and mine < {k for k, _ in reference}:
        # seed=auto gave the reference more seeds (for other rows): pair on the seeds both ran.
        reference = [(k, v) for k, v in reference if k in mine]
    a = np.array([v for _, v in values], dtype=float)
    b = np.array([v for _, v in reference], dtype=float)
    delta = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Comparison(delta)  # no spread to test against
    rho = cv_ratio if cv_ratio is not None and folds > 1 else 0.0
    corrected = ", corrected resampled" if rho else ""
    if pairable(values, reference):
        by_key = dict(reference)
        d = a - np.array([by_key[k] for k, _ in values], dtype=float)
        n = len(d)
        se = float(d.std(ddof=1)) * math.sqrt(1 / n + rho)
        df: float = n - 1
        test = "corrected resampled t (paired)" if rho else "paired t"
    else:
        va, vb = float(a.var(ddof=1)) * (1 + rho * len(a)), float(b.var(ddof=1)) * (1 + rho * len(b))
        sa, sb = va / len(a), vb / len(b)
        se = math.sqrt(sa + sb)
        df = (sa + sb) ** 2 / (sa ** 2 / (len(a) - 1) + sb ** 2 / (len(b) - 1)) if se > 0 else len(a) + len(b) - 2
        n = len(a)
        test = "Welch t" + corrected
    return Comparison(delta, p_value=_p_two_sided(delta, se, df), test=test, verdict="undecided",
                      p_equivalence=_p_tost(delta, se, df, min_effect), se=se, df=df, n=n,
                      folds=folds if rho else 0)


def family_compare(keyed: Sequence[Keyed], pairs: Sequence[tuple[int, int]], min_effect: Optional[float] = None,
                   ratios: Optional[Sequence[Optional[float]]] = None, folds: Optional[Sequence[int]] = None,
                   pool: bool = True) -> list[Comparison]:
    """The raw test of each pair (row, its reference) of one family: the pooled block-design t
    (report/pooled.py) for the rows that ran the same seeds/folds, the per-row test (`raw_compare`)
    for the others and for a row that fails the equal-variance check (named "(own variance)").
    `ratios[p]`/`folds[p]`: n_val/n_train and the folds when pair p's repeats are folds."""
    from ablab.report.pooled import pooled_tests

    ratios = list(ratios) if ratios is not None else [None] * len(pairs)
    folds = list(folds) if folds is not None else [0] * len(pairs)
    rho = [r if r is not None and f > 1 else None for r, f in zip(ratios, folds)]
    pooled, fell_back = pooled_tests(keyed, pairs, rho) if pool else ({}, set())
    out = []
    for p, (i, r) in enumerate(pairs):
        own = raw_compare(keyed[i], keyed[r], min_effect, ratios[p], folds[p])
        if p in pooled and own.p_value is not None:
            delta, se, df, name = pooled[p]
            own = replace(own, delta=delta, se=se, df=df, test=name, p_value=_p_two_sided(delta, se, df),
                          p_equivalence=_p_tost(delta, se, df, min_effect))
        elif p in fell_back and own.test:
            own = replace(own, test=own.test + " (own variance)")
        out.append(own)
    return out


def adjust(p_values: Sequence[Optional[float]], correction: str = "holm") -> list[Optional[float]]:
    """Adjusted p-values over the family (None entries are not part of it and stay None)."""
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    idx = [i for i, p in enumerate(p_values) if p is not None]
    out: list[Optional[float]] = list(p_values)
    if not idx or correction == "none":
        return out
    p = np.array([p_values[i] for i in idx], dtype=float)
    if correction == "bh":
        adjusted = stats.false_discovery_control(p, method="bh")
    else:  # Holm: (m - j) p_(j) for the j-th smallest, made monotone, capped at 1
        order = np.argsort(p, kind="stable")
        m = len(p)
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(stepped, 1.0)
    for i, q in zip(idx, adjusted):
        out[i] = float(q)
    return out


def _level(alpha: float, p: float, p_adj: float, family: int, rejected: int, correction: str) -> float:
    """The per-comparison level of this row's interval. A rejected row: α · p / p_adj, its step's
    level (α/(m - j + 1) for Holm's j-th step), so the interval excludes 0 exactly when p_adj < α.
    A row the correction did not reject: the level the next step needed, α/(m - r) for Holm with
    r rejections (Holm's compatible bound for the non-rejected), α (r + 1)/m for BH; every such
    row has p at or above it, so its interval holds 0. α · p / p_adj there would draw a row with
    p = 0.9 of 4 (p_adj capped at 1) at 95.5% where the family's level is 98.75%."""
    if p_adj < alpha:
        return alpha / max(1, family) if p_adj <= 0 or p <= 0 else min(alpha, alpha * p / p_adj)
    if correction == "holm":
        return alpha / max(1, family - rejected)
    if correction == "bh":
        return alpha * (rejected + 1) / max(1, family)
    return alpha


def decide(comparisons: Sequence[Comparison], alpha: float = ALPHA, correction: str = "holm",
           mode: str = "max", min_effect: Optional[float] = None) -> list[Comparison]:
    """Adjust a family's p-values (difference and TOST alike) and give each comparison its verdict.
    `alpha`: this look's level (α itself with fixed seeds; seed=auto: its share of α, report/sequential.py)."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be max or min, got {mode!r}")
    tested = [c.p_value is not None for c in comparisons]
    family = sum(tested)
    p_adj = adjust([c.p_value for c in comparisons], correction)
    eq_adj = adjust([c.p_equivalence if c.p_value is not None else None for c in comparisons], correction)
    rejected = sum(1 for q in p_adj if q is not None and q < alpha)
    eq_family = sum(1 for q in eq_adj if q is not None)
    eq_rejected = sum(1 for q in eq_adj if q is not None and q < alpha)
    sign = 1 if mode == "max" else -1
    out = []
    for c, pa, qa in zip(comparisons, p_adj, eq_adj):
        if c.p_value is None or c.se is None or c.delta is None:
            out.append(c)
            continue
        level = _level(alpha, c.p_value, pa, family, rejected, correction)
        low, high = _interval(c.delta, c.se, c.df, level)
        eq_low = eq_high = None
        equivalent = False
        if qa is not None and min_effect:
            eq_level = _level(alpha, c.p_equivalence, qa, eq_family, eq_rejected, correction)
            eq_low, eq_high = _interval(c.delta, c.se, c.df, min(0.999, 2 * eq_level))
            equivalent = qa < alpha
        if equivalent:
            verdict = "equivalent"
        elif pa < alpha:
            verdict = "better" if sign * c.delta > 0 else "worse"
        else:
            verdict = "undecided"
        out.append(replace(c, ci_low=low, ci_high=high, p_adjusted=pa, p_equivalence_adjusted=qa,
                           equiv_low=eq_low, equiv_high=eq_high, verdict=verdict, alpha_used=level))
    return out


def metric_range(metric: str) -> Optional[tuple[float, float]]:
    """What the metric can take: rates (accuracy, precision, recall, F1) lie in [0, 1]; a loss, a
    count or a time has no upper bound worth stating (None)."""
    name = metric.rsplit(".", 1)[-1]
    if any(w in name for w in ("loss", "wall", "epoch", "param", "images")):
        return None
    return 0.0, 1.0


def bounded(low: Optional[float], high: Optional[float], span: Optional[tuple[float, float]]):
    """An interval intersected with what the quantity can take: the true value lies in that range, so
    intersecting never loses coverage (a 95% interval stays one) and no one reads an accuracy of 1.003."""
    if span is None or low is None or high is None:
        return low, high
    return max(low, span[0]), min(high, span[1])


def bounded_comparison(c: Comparison, span: Optional[tuple[float, float]]) -> Comparison:
    """The difference of two rates lies in [-1, 1]: both intervals of a comparison are bounded to it."""
    if span is None or c.delta is None:
        return c
    width = span[1] - span[0]
    diff = (-width, width)
    low, high = bounded(c.ci_low, c.ci_high, diff)
    eq_low, eq_high = bounded(c.equiv_low, c.equiv_high, diff)
    return replace(c, ci_low=low, ci_high=high, equiv_low=eq_low, equiv_high=eq_high)


def too_few(c: Comparison, family: int = 1) -> bool:
    """Undecided because of its degrees of freedom, not its data: at the family's first Holm level
    (its look's α over the `family` comparisons) the t critical value is more than twice the normal
    one (2 runs at α = 0.05: 12.7 against 1.96), so its interval says only that this many runs
    cannot tell. The same for every row of a family with the same df, whatever its p-value."""
    if c.verdict != "undecided" or c.df is None or c.alpha_used is None:
        return False
    level = (c.look_level if c.look_level is not None else c.alpha_used) / max(1, family) / 2
    return float(stats.t.ppf(1 - level, c.df)) > 2 * float(stats.norm.ppf(1 - level))


def pooled_std(groups: Sequence[Sequence[float]]) -> Optional[float]:
    """Within-configuration spread: sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)); None without repeats."""
    dof = sum(len(g) - 1 for g in groups if len(g) > 1)
    if not dof:
        return None
    ss = sum(float(np.var(g, ddof=1)) * (len(g) - 1) for g in groups if len(g) > 1)
    return math.sqrt(ss / dof)


def seeds_needed(std: float, min_effect: float, alpha: float = ALPHA, power: float = POWER,
                 cap: Optional[int] = None) -> int:
    """Runs per configuration for a two-sided two-sample test to detect `min_effect` at noise
    `std`: n = ceil(2 (z[1 - alpha/2] + z[power])^2 std^2 / min_effect^2) (normal approximation),
    at least 2 (a t-test needs a spread)."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = max(2, math.ceil(2 * (z * std / min_effect) ** 2))
    return n if cap is None else min(n, cap + 1)  # cap + 1: "more than the cap"


SEEDS_FORMULA = "n = ⌈2·(z₁₋α/₂ + z₀.₈)²·σ²/δ²⌉"


def looks(min_seeds: int, max_seeds: int) -> int:
    """Planned looks of seed=auto: one after min_seeds, then one per added seed up to max_seeds."""
    return max(1, max_seeds - min_seeds + 1)
