"""Greedy OFAT: walk the factors in order and carry each factor's winner into the next.

The sweeper asks `next_batch()` for the jobs of one step, launches them and hands
their scores back to `tell()`. Step 0 is the baseline plus the first factor's values
(independent of each other, so they share one batch).
"""
from __future__ import annotations

from statistics import fmean
from typing import Any, Optional

from ablab.sweeps.ofat import Factor, SweepSpec, better

DEFAULT = "<default>"  # label of a factor left at its baseline value when that is not listed


class GreedySearch:
    def __init__(self, spec: SweepSpec, mode: str = "max") -> None:
        better(None, None, mode)  # fail on a bad mode before launching anything
        self.spec, self.mode = spec, mode
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
        """Scores of the last batch, in job order; repeats (seeds) are averaged."""
        n = len(self.spec.repeats)
        assert len(scores) == n * len(self._pending), "one score per launched job"
        means = []
        for i in range(len(self._pending)):
            got = [s for s in scores[i * n:(i + 1) * n] if s is not None]
            means.append(fmean(got) if got else None)
        if not self._told:
            self.score, self._told = means[0], True
        pending = [(p, m) for p, m in zip(self._pending, means) if p[0] is not None]
        if self._next >= len(self.spec.factors):
            return
        factor = self.spec.factors[self._next]
        keep = factor.default or DEFAULT
        step = {"factor": factor.key, "scores": {keep: self.score}, "winner": keep}
        for (_, value), mean in pending:
            step["scores"][value] = mean
            if better(mean, self.score, self.mode):
                self.score, step["winner"] = mean, value
                self.chosen[factor.key] = value
        self.steps.append(step)
        self._next += 1

    def summary(self, metric: str) -> dict[str, Any]:
        """What ofat_best.yaml records: the winning overrides and how each factor went."""
        overrides = [f.override(self.chosen[f.key]) for f in self.spec.factors if f.key in self.chosen]
        return {"metric": metric, "mode": self.mode, "score": self.score,
                "overrides": overrides, "common": list(self.spec.common), "steps": self.steps}
