"""One noise estimate for the rows that ran the same seeds: the randomized complete block design.

Every row of a sweep that ran seeds 0..n-1 (or the same seeds × folds) shares with the other
rows each seed's data split and initial draw. Read as a two-way layout, configuration i and
seed (block) j,

    y_ij = μ_i + β_j + e_ij,   e_ij ~ N(0, σ²) independent, one σ for every row,

the least-squares fit of the additive model (observed cells only, so seed=auto's unequal seed
counts fit too) leaves one residual variance σ̂² with N - k - b + 1 degrees of freedom (N runs,
k rows, b blocks): (k - 1)(n - 1) when all k rows ran the same n seeds. A comparison of row i with
its reference r is the contrast μ_i - μ_r, its variance σ̂² c'(X'X)⁻c (2σ̂²/n when balanced),
tested by t on those degrees of freedom. For 13 rows × 3 seeds that is 24 degrees of freedom
where each row's own paired t has 2: the two-sided critical value at 0.05/12 drops from 15.4 to 3.17.
With two rows the pooled test is exactly the paired t.

Folds: the corrected resampled t of Nadeau & Bengio (2003) scales the contrast's variance by
1 + n·n_val/n_train (n the blocks the pair shares), the variance 1/n + ρ of their form.

Equal variance is the assumption to check, per compared row: its own paired differences with
its reference have variance s_d², which the model says is 2σ². The ratio F = s_d² / (2σ̂²₋ᵢ),
σ̂²₋ᵢ fitted without row i, is compared with F(n_i - 1, df₋ᵢ); a row whose upper-tail p is below
CHECK_LEVEL (0.2: the check must catch a noisy row at 3 seeds, where it has 2 degrees of
freedom, and a false alarm costs only power) keeps its own paired t, named "paired t (own
variance)". Its runs stay in the fit: dropping every row that looks noisier would bias σ̂² low
(in simulation, 9% false calls at α = 5%), while keeping a truly noisy row only widens the
others' intervals. A row far beyond the others' noise (p < EXCLUDE_LEVEL = 0.001: a configuration
that diverges on some seeds) leaves the fit too, since it would leave every other row undecided;
under equal variances that happens to one row in a thousand, too rarely to bias σ̂².

Many-to-one comparisons are then adjusted by Holm over the family (report/stats.py `decide`)
rather than by Dunnett's single-step critical value: Holm holds under any dependence, steps
down (the later rows are tested at larger levels), and applies unchanged to the equivalence
p-values and to each look's level under α-spending; Dunnett's gain at the first step is small
(for 12 comparisons at 24 df, 2.99 against Bonferroni's 3.17, by simulation of the multivariate t).
"""
from __future__ import annotations

import math
from typing import Hashable, Optional, Sequence

import numpy as np
from scipy import special

CHECK_LEVEL = 0.2  # equal-variance check: a row with F's upper-tail p below this keeps its own test
EXCLUDE_LEVEL = 0.001  # ... and below this it also leaves the fit: clearly another noise, not chance

Keyed = Sequence[tuple[Hashable, float]]


class Fit:
    """The additive model over some rows' runs: residual variance, its df, and contrasts."""

    def __init__(self, rows: dict[int, dict[Hashable, float]]):
        self.rows = sorted(rows)
        blocks = sorted({k for r in self.rows for k in rows[r]}, key=str)
        self._at = {r: i for i, r in enumerate(self.rows)}
        if all(len(rows[r]) == len(blocks) for r in self.rows):  # balanced: the textbook closed form
            y = np.array([[rows[r][k] for k in blocks] for r in self.rows])
            e = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + y.mean()
            self.df = (len(self.rows) - 1) * (len(blocks) - 1)
            self.var = float((e ** 2).sum()) / self.df if self.df > 0 else float("nan")
            self._means, self._n = y.mean(1), len(blocks)
            return
        self._means = None
        col = {k: j for j, k in enumerate(blocks)}
        at = {r: i for i, r in enumerate(self.rows)}
        cells = [(at[r], col[k], v) for r in self.rows for k, v in rows[r].items()]
        # Columns: one per row (its mean), then one per block but the first (identifiability).
        x = np.zeros((len(cells), len(self.rows) + len(blocks) - 1))
        y = np.empty(len(cells))
        for n, (i, j, v) in enumerate(cells):
            x[n, i] = 1.0
            if j:
                x[n, len(self.rows) + j - 1] = 1.0
            y[n] = v
        self.coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ self.coef
        self.df = len(cells) - int(rank)
        self.var = float(resid @ resid) / self.df if self.df > 0 else float("nan")
        self._cov = np.linalg.pinv(x.T @ x)

    def contrast(self, i: int, r: int) -> tuple[float, float]:
        """(estimate of μ_i - μ_r, its variance in units of σ²)."""
        if self._means is not None:
            return float(self._means[self._at[i]] - self._means[self._at[r]]), 2.0 / self._n
        c = np.zeros(len(self.coef))
        c[self._at[i]], c[self._at[r]] = 1.0, -1.0
        return float(c @ self.coef), float(c @ self._cov @ c)


def _own_var(a: dict, b: dict) -> tuple[Optional[float], int]:
    """Variance of the paired differences on the keys both ran, and their count."""
    shared = [k for k in a if k in b]
    if len(shared) < 2:
        return None, len(shared)
    d = np.array([a[k] - b[k] for k in shared])
    return float(d.var(ddof=1)), len(shared)


def _connected(pairs: list[tuple[int, int]]) -> list[set[int]]:
    groups: list[set[int]] = []
    for i, r in pairs:
        hit = [g for g in groups if i in g or r in g]
        merged = {i, r}.union(*hit) if hit else {i, r}
        groups = [g for g in groups if g not in hit] + [merged]
    return groups


def pooled_tests(keyed: Sequence[Keyed], pairs: Sequence[tuple[int, int]],
                 ratios: Sequence[Optional[float]]) -> tuple[dict[int, tuple[float, float, float, str]], set[int]]:
    """For each pair p = (row, its reference) that can join the pool: (Δ, se, df, test name).

    `keyed[i]`: row i's (seed/fold key, value) runs; `ratios[p]`: n_val/n_train when pair p's
    repeats are folds, else None. A pair joins when both rows ran each key once and share at
    least two keys; rows are pooled with those they are linked to by such pairs, three rows at
    least (two rows: the pool is the paired t, left to the caller). Pairs not returned keep the
    per-row test; the second value names those that failed the equal-variance check."""
    data = {i: dict(k) for i, k in enumerate(keyed) if len({key for key, _ in k}) == len(k)}
    ok = [p for p, (i, r) in enumerate(pairs) if i in data and r in data
          and sum(1 for k in data[i] if k in data[r]) >= 2]
    out: dict[int, tuple[float, float, float, str]] = {}
    fell_back: set[int] = set()
    for group in _connected([pairs[p] for p in ok]):
        members = [p for p in ok if pairs[p][0] in group]
        rows = set(group)
        failed, excluded = set(), set()
        if len(rows) >= 3:  # each row's own noise against the other rows' pooled noise
            for p in members:
                i, r = pairs[p]
                own, n = _own_var(data[i], data[r])
                rest = Fit({j: data[j] for j in rows if j != i})
                if own is None or rest.df <= 0 or not math.isfinite(rest.var):
                    continue
                if rest.var > 0:
                    p_check = special.fdtrc(n - 1, rest.df, own / (2 * rest.var))  # scipy.stats.f.sf
                else:  # the others reproduce exactly: any spread of this row's is another noise
                    p_check = 0.0 if own > 0 else 1.0
                if p_check < CHECK_LEVEL:
                    failed.add(p)
                if p_check < EXCLUDE_LEVEL:
                    excluded.add(i)
        fell_back |= failed
        if len(rows) < 3:
            continue
        # A row that merely looks noisier stays in the fit (dropping every such row would bias σ̂² low);
        # one whose noise is clearly another (a diverging configuration) would inflate every interval.
        rows -= excluded
        if len(rows) < 3:
            continue
        fit = Fit({j: data[j] for j in rows})
        if fit.df <= 0 or not math.isfinite(fit.var):
            continue
        k = len(rows)
        for p in members:
            i, r = pairs[p]
            if p in failed or i not in rows or r not in rows:
                continue
            delta, v = fit.contrast(i, r)
            n = sum(1 for key in data[i] if key in data[r])
            rho = ratios[p] or 0.0
            se = math.sqrt(fit.var * v * (1 + n * rho))
            name = f"pooled {'corrected resampled ' if rho else ''}t ({k} rows, {fit.df} df)"
            out[p] = (delta, se, float(fit.df), name)
    return out, fell_back
