"""Greedy OFAT: walk the factors in order and carry each factor's winner into the next.

The sweeper asks `next_batch()` for the jobs of one round, launches them and hands their
scores back to `tell()`. Step 0 is the baseline plus the first factor's values
(independent of each other, so they share one batch). A step is one family of
comparisons (each value against the incumbent), judged by ablab.sweeps.auto: the report's
tests, adjusted over the step by `correction` (Holm by default). With `seed=auto` a step
takes several rounds, adding seeds only to its undecided values (and the incumbent).

A value replaces the factor's default (the incumbent) only when it is `better` after
correction; among several such values the best mean wins. Equivalent and undecided values
are kept out, and the step's note says which. Without repeats there is no noise to test
against and the best mean wins, as the step's note says.
"""
from __future__ import annotations

from statistics import fmean
from typing import Any, Optional

from ablab.report.stats import ALPHA, CORRECTIONS, MIN_EFFECT
from ablab.sweeps.auto import Arm, SeedRounds
from ablab.sweeps.ofat import SweepSpec, better

DEFAULT = "<default>"  # label of a factor left at its baseline value when that is not listed


class GreedySearch:
    def __init__(self, spec: SweepSpec, mode: str = "max", alpha: float = ALPHA, correction: str = "holm",
                 min_effect: Optional[float] = MIN_EFFECT, seeds: Optional[tuple[int, int]] = None) -> None:
        better(None, None, mode)  # fail on a bad mode before launching anything
        if correction not in CORRECTIONS:
            raise ValueError(f"ofat sweeper: correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
        self.spec, self.mode, self.alpha = spec, mode, alpha
        self.correction, self.min_effect, self.seeds = correction, min_effect, seeds
        self.incumbent_arm = Arm(list(spec.common), None)
        self.chosen: dict[str, str] = {}  # factor key -> winning value, when not the default
        self.score: Optional[float] = None  # score of the incumbent configuration
        self.steps: list[dict[str, Any]] = []  # per factor: scores of its values, winner
        self._next = 0  # index of the next factor to try
        self._told = False  # the baseline has been scored
        self._round: Optional[SeedRounds] = None
        self._values: list[str] = []  # the values of the open step's arms after the incumbent

    def done(self) -> bool:
        return self._told and self._next >= len(self.spec.factors) and self._round is None

    def incumbent(self) -> list[str]:
        """Overrides of the best configuration so far (common ones included)."""
        return self.spec.common + [f.override(self.chosen[f.key])
                                   for f in self.spec.factors if f.key in self.chosen]

    def next_batch(self) -> list[list[str]]:
        if self._round is not None:
            jobs = self._round.next_batch()
            if jobs:
                return jobs
            self._close()
        if self.done():
            return []
        arms = [self.incumbent_arm]
        self._values = []
        if self._next < len(self.spec.factors):
            factor = self.spec.factors[self._next]
            self._values = factor.trials
            arms += [Arm(self.incumbent() + [factor.override(v)], 0) for v in self._values]
        self._round = SeedRounds(arms, self.spec.repeats, self.seeds, self.alpha, self.correction, self.mode,
                                 self.min_effect)
        return self._round.next_batch()

    def tell(self, scores: list, ratios: Optional[list[Optional[float]]] = None) -> None:
        """Scores of the last batch, in job order (and each job's n_val/n_train when it ran a fold)."""
        assert self._round is not None, "tell() after next_batch()"
        ratios = ratios or [None] * len(scores)
        self._round.tell(list(zip(scores, ratios)))
        if not self._told:
            self._told = True
            self.score = _mean(self.incumbent_arm)
        if not self._round._want:  # decided, out of seeds, or fixed seeds: the step is over
            self._close()

    def _close(self) -> None:
        rounds, self._round = self._round, None
        if rounds is None or self._next >= len(self.spec.factors):
            return
        factor = self.spec.factors[self._next]
        keep = factor.default or DEFAULT
        family = sum(1 for c in rounds.comparisons if c is not None and c.p_value is not None)
        step: dict[str, Any] = {"factor": factor.key, "scores": {keep: _mean(self.incumbent_arm)}, "winner": keep,
                                "tests": {}, "correction": self.correction, "family": family,
                                "alpha_looks": [round(x, 6) for x in rounds.levels]}
        best, kept = None, []  # the winning (value, mean, arm); values not chosen and why
        for i, value in enumerate(self._values, 1):
            arm, c = rounds.arms[i], rounds.comparisons[i]
            mean = _mean(arm)
            step["scores"][value] = mean
            step["tests"][value] = {"delta": c.delta, "p_value": c.p_value, "p_adjusted": c.p_adjusted,
                                    "test": c.test, "verdict": c.verdict, "seeds": arm.seeds,
                                    "stopped": rounds.stopped(i)}
            # Without repeats (or a scored incumbent) the mean decides; with them, only `better`.
            wins = better(mean, self.score, self.mode) if c.verdict in ("single run", "") else c.verdict == "better"
            if wins and (best is None or better(mean, best[1], self.mode)):
                best = (value, mean, arm)
            elif not wins and c.verdict in ("undecided", "equivalent") and better(mean, self.score, self.mode):
                p = f", p adj.={c.p_adjusted:.3g}" if c.p_adjusted is not None else ""
                kept.append(f"{value} ({c.delta:+.4g}{p}: {c.verdict})")
        step["seeds"] = {keep: self.incumbent_arm.seeds}
        if best is not None:
            step["winner"], self.score, self.incumbent_arm = best[0], best[1], Arm(best[2].config, None,
                                                                                   dict(best[2].scores),
                                                                                   list(best[2].ratios),
                                                                                   best[2].seeds)
            self.chosen[factor.key] = best[0]
        step["note"] = self._note(keep, step["winner"], kept, family, any(
            t["verdict"] == "single run" for t in step["tests"].values()))
        self.steps.append(step)
        self._next += 1

    def _note(self, default: str, winner: str, kept: list[str], family: int, single: bool) -> str:
        parts = []
        if single:
            parts.append("no repeats to test against: the best mean wins (run seed=... for a test)")
        how = f"alpha={self.alpha:g}, {self.correction} over {family}"
        if kept and winner == default:
            parts.append(f"kept {default}: the gain of {', '.join(kept)} is not a significant improvement ({how})")
        elif kept:
            parts.append(f"not chosen ({how}): {', '.join(kept)}")
        return "; ".join(parts)

    def summary(self, metric: str) -> dict[str, Any]:
        """What ofat_best.yaml records: the winning overrides and how each factor went."""
        overrides = [f.override(self.chosen[f.key]) for f in self.spec.factors if f.key in self.chosen]
        return {"metric": metric, "mode": self.mode, "alpha": self.alpha, "correction": self.correction,
                "min_effect": self.min_effect, "seeds": list(self.seeds) if self.seeds else None,
                "score": self.score, "overrides": overrides, "common": list(self.spec.common), "steps": self.steps}


def _mean(arm: Arm) -> Optional[float]:
    got = [v for _, v in arm.keyed()]
    return fmean(got) if got else None
