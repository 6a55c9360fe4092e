"""Greedy OFAT: walk the factors in order and carry each factor's winner into the next.

The sweeper asks `next_batch()` for the jobs of one step, launches them and hands
their scores back to `tell()`. Step 0 is the baseline plus the first factor's values
(independent of each other, so they share one batch).

A value replaces the factor's default (the incumbent) only when it beats it beyond seed
noise: with repeats (seed=..., data.fold=...), by the same test the sweep report uses
(ablab.report.stats.compare, paired by repeat at level `alpha`); among several such values
the best mean wins. Without repeats there is no noise to test against and the best mean
wins, as the step's note says.
"""
from __future__ import annotations

from statistics import fmean
from typing import Any, Optional

from ablab.report.stats import ALPHA, compare
from ablab.sweeps.ofat import Factor, SweepSpec, better

DEFAULT = "<default>"  # label of a factor left at its baseline value when that is not listed


class GreedySearch:
    def __init__(self, spec: SweepSpec, mode: str = "max", alpha: float = ALPHA) -> None:
        better(None, None, mode)  # fail on a bad mode before launching anything
        self.spec, self.mode, self.alpha = spec, mode, alpha
        self._scores: list[tuple[int, float]] = []  # the incumbent's (repeat index, score) per finished job
        self.chosen: dict[str, str] = {}  # factor key -> winning value, when not the default
        self.score: Optional[float] = None  # score of the incumbent configuration
        self.steps: list[dict[str, Any]] = []  # per factor: scores of its values, winner
        self._next = 0  # index of the next factor to try
        self._told = False  # the baseline has been scored
        self._pending: list[tuple[Optional[Factor], Optional[str]]] = []

    def done(self) -> bool:
        return self._told and self._next >= len(self.spec.factors)

    def incumbent(self) -> list[str]:
        """Overrides of the best configuration so far (common ones included)."""
        return self.spec.common + [f.override(self.chosen[f.key])
                                   for f in self.spec.factors if f.key in self.chosen]

    def next_batch(self) -> list[list[str]]:
        self._pending = [] if self._told else [(None, None)]  # the baseline
        if self._next < len(self.spec.factors):
            factor = self.spec.factors[self._next]
            self._pending += [(factor, v) for v in factor.trials]
        jobs = []
        for factor, value in self._pending:
            job = self.incumbent() + ([factor.override(value)] if factor else [])
            jobs += self.spec.expand(job)
        return jobs

    def tell(self, scores: list[Optional[float]]) -> None:
        """Scores of the last batch, in job order; each configuration's repeats (seeds) side by side."""
        n = len(self.spec.repeats)
        assert len(scores) == n * len(self._pending), "one score per launched job"
        keyed = [[(j, s) for j, s in enumerate(scores[i * n:(i + 1) * n]) if s is not None]
                 for i in range(len(self._pending))]
        means = [fmean(s for _, s in k) if k else None for k in keyed]
        if not self._told:
            self.score, self._scores, self._told = means[0], keyed[0], True
        if self._next >= len(self.spec.factors):
            return
        factor = self.spec.factors[self._next]
        keep = factor.default or DEFAULT
        step: dict[str, Any] = {"factor": factor.key, "scores": {keep: self.score}, "winner": keep, "tests": {}}
        best, noise = None, []  # the winning (value, mean, scores); values whose gain was within noise
        for ((_, value), mean, got) in [(p, m, k) for p, m, k in zip(self._pending, means, keyed) if p[0]]:
            step["scores"][value] = mean
            c = compare(got, self._scores, self.alpha, self.mode)
            step["tests"][value] = {"delta": c.delta, "p_value": c.p_value, "test": c.test, "verdict": c.verdict}
            # Without repeats (or a scored incumbent) the mean decides; with them, only a significant gain.
            wins = better(mean, self.score, self.mode) if c.verdict in ("single run", "") else c.verdict == "better"
            if wins and (best is None or better(mean, best[1], self.mode)):
                best = (value, mean, got)
            elif not wins and c.verdict == "within noise" and better(mean, self.score, self.mode):
                noise.append(f"{value} ({c.delta:+.4g}, p={c.p_value:.3g})")
        if best is not None:
            step["winner"], self.score, self._scores = best
            self.chosen[factor.key] = best[0]
        step["note"] = self._note(keep, step["winner"], noise, any(
            t["verdict"] == "single run" for t in step["tests"].values()))
        self.steps.append(step)
        self._next += 1

    def _note(self, default: str, winner: str, noise: list[str], single: bool) -> str:
        parts = []
        if single:
            parts.append("no repeats to test against: the best mean wins (run seed=... for a test)")
        if noise and winner == default:
            parts.append(f"kept {default}: the gain of {', '.join(noise)} is within noise (alpha={self.alpha:g})")
        elif noise:
            parts.append(f"within noise, not chosen: {', '.join(noise)}")
        return "; ".join(parts)

    def summary(self, metric: str) -> dict[str, Any]:
        """What ofat_best.yaml records: the winning overrides and how each factor went."""
        overrides = [f.override(self.chosen[f.key]) for f in self.spec.factors if f.key in self.chosen]
        return {"metric": metric, "mode": self.mode, "alpha": self.alpha, "score": self.score,
                "overrides": overrides, "common": list(self.spec.common), "steps": self.steps}
