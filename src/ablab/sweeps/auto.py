"""Seeds until decided: the rounds of `seed=auto`, and the judging of one family of comparisons.

A family is a list of configurations, each compared to a reference among them (an OFAT
sweep: every value to the baseline; a greedy step: every value to the incumbent). Each
configuration starts with `min_seeds` seeds (times the folds, when folds are swept); after
each round the family is judged by the report's own tests (ablab.report.stats: the pooled
block-design t over every row's runs, the per-row test for a row that fails the equal-variance
check, TOST against ±δ, Holm/BH over the family) and only configurations with an undecided
comparison get one more seed, their reference as many as it needs to pair with them, until
every comparison is decided or `max_seeds` is reached.

Looking at the data after every round is a sequential test: look m tests at its share α_m
of an α-spending function (ablab.report.sequential: Hwang–Shih–DeCani, γ = 1; Σ α_m = α),
the difference and the equivalence tests alike, and a comparison once decided keeps its
verdict. With 13 rows the pooled test has 24 degrees of freedom at 3 seeds, so a row whose
effect is a few times its noise is decided in round one. With fixed seeds (no `seed=auto`)
there is one look at α.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ablab.report.sequential import freeze, judge_look, levels
from ablab.report.stats import ALPHA, DECIDED, MIN_EFFECT, Comparison, looks

Key = tuple[Optional[str], Optional[str]]  # (seed, fold) as the job's overrides spell them


def key_of_job(repeat: list[str]) -> Key:
    seed = next((o.split("=", 1)[1] for o in repeat if o.split("=", 1)[0] == "seed"), None)
    fold = next((o.split("=", 1)[1] for o in repeat if o.split("=", 1)[0] == "data.fold"), None)
    return seed, fold


@dataclass
class Arm:
    config: list[str]  # overrides of the configuration (common ones included)
    reference: Optional[int]  # index of the arm it is compared to
    scores: dict[Key, Optional[float]] = field(default_factory=dict)  # per finished job
    ratios: list[float] = field(default_factory=list)  # n_val / n_train of its fold runs
    seeds: int = 0  # seeds launched so far

    def keyed(self) -> list[tuple[Key, float]]:
        return [(k, v) for k, v in self.scores.items() if v is not None]

    def folds(self) -> int:
        return len({k[1] for k, _ in self.keyed() if k[1] is not None})


def judge(arms: list[Arm], alpha: float = ALPHA, correction: str = "holm", mode: str = "max",
          min_effect: Optional[float] = MIN_EFFECT, frozen: Optional[dict[int, Comparison]] = None,
          look: int = 1) -> list[Optional[Comparison]]:
    """Each arm's comparison to its reference (None for arms without one), decided as one family at
    level `alpha`; `frozen` (pair index -> comparison) keeps the verdicts of earlier looks."""
    idx = [i for i, a in enumerate(arms) if a.reference is not None]
    pairs, ratios, folds = [], [], []
    for i in idx:
        arm, ref = arms[i], arms[arms[i].reference]
        k = min(arm.folds(), ref.folds())
        pairs.append((i, arm.reference))
        folds.append(k)
        ratios.append((sum(arm.ratios) / len(arm.ratios) if arm.ratios else 1 / (k - 1)) if k > 1 else None)
    got = judge_look([a.keyed() for a in arms], pairs, alpha, frozen if frozen is not None else {}, correction,
                     mode, min_effect, ratios, folds, look=look)
    if frozen is not None:
        freeze(got, frozen)
    out: list[Optional[Comparison]] = [None] * len(arms)
    for i, c in zip(idx, got):
        out[i] = c
    return out


class SeedRounds:
    """The jobs of one family, round by round. `seeds`: (min_seeds, max_seeds) for seed=auto, else
    None and `repeats` (the swept seeds and folds) run once. `repeats` with seed=auto: the folds."""

    def __init__(self, arms: list[Arm], repeats: list[list[str]], seeds: Optional[tuple[int, int]] = None,
                 alpha: float = ALPHA, correction: str = "holm", mode: str = "max",
                 min_effect: Optional[float] = MIN_EFFECT) -> None:
        self.arms, self.repeats, self.seeds = arms, repeats or [[]], seeds
        self.alpha, self.correction, self.mode, self.min_effect = alpha, correction, mode, min_effect
        self.looks = looks(*seeds) if seeds else 1
        self.levels = levels(*seeds, alpha) if seeds else [alpha]
        self.frozen: dict[int, Comparison] = {}  # pair index -> its comparison, once decided
        self.rounds = 0
        self.comparisons: list[Optional[Comparison]] = [None] * len(arms)
        self._want: dict[int, int] = {}  # arm -> seeds it should have after the next round
        self._pending: list[tuple[int, Key]] = []
        if seeds:
            for i, arm in enumerate(arms):
                self._want[i] = max(arm.seeds, seeds[0])
        else:
            self._want = {i: 1 for i, arm in enumerate(arms) if not arm.scores}

    def next_batch(self) -> list[list[str]]:
        """The jobs of the next round; [] when the family is decided (or out of seeds)."""
        jobs, self._pending = [], []
        for i, want in sorted(self._want.items()):
            arm = self.arms[i]
            if self.seeds:
                new = [[f"seed={s}"] + rep for s in range(arm.seeds, want) for rep in self.repeats]
                arm.seeds = max(arm.seeds, want)
            else:
                new = [list(rep) for rep in self.repeats]
            for rep in new:
                jobs.append(arm.config + rep)
                self._pending.append((i, key_of_job(rep)))
        self._want = {}
        return jobs

    def tell(self, results: list[tuple[Optional[float], Optional[float]]]) -> None:
        """(score, n_val/n_train or None) per job of the last batch, in order."""
        assert len(results) == len(self._pending), "one result per launched job"
        for (i, key), (score, ratio) in zip(self._pending, results):
            self.arms[i].scores[key] = score
            if ratio is not None and key[1] is not None:
                self.arms[i].ratios.append(ratio)
        self.rounds += 1
        self.comparisons = self.look(self.levels[min(self.rounds, len(self.levels)) - 1])
        if not self.seeds:
            return
        top = self.seeds[1]
        for i, c in enumerate(self.comparisons):
            arm = self.arms[i]
            if c is None or c.verdict in DECIDED or c.verdict == "" or arm.seeds >= top:
                continue
            self._want[i] = arm.seeds + 1
        for i in list(self._want):  # a reference pairs with every seed its undecided rows run
            ref = self.arms[i].reference
            if ref is not None and self.arms[ref].seeds < self._want[i]:
                self._want[ref] = max(self._want.get(ref, 0), self._want[i])

    def look(self, level: float) -> list[Optional[Comparison]]:
        """The family judged at this look's level, earlier verdicts kept."""
        return judge(self.arms, level, self.correction, self.mode, self.min_effect, self.frozen, self.rounds)

    def stopped(self, i: int) -> str:
        """Why arm i has the seeds it has."""
        c, arm = self.comparisons[i], self.arms[i]
        if c is None:
            return "reference"
        if c.verdict in DECIDED:
            return f"decided ({c.verdict})"
        if self.seeds and arm.seeds >= self.seeds[1]:
            return "max_seeds reached"
        return c.verdict or "no result"

    def record(self, label: list[str]) -> list[dict]:
        """Per arm: its overrides, seeds, verdict and why it stopped (for seed_auto.yaml)."""
        out = []
        for i, (arm, name) in enumerate(zip(self.arms, label)):
            c = self.comparisons[i]
            out.append({"configuration": name, "seeds": arm.seeds, "verdict": c.verdict if c else "reference",
                        "stopped": self.stopped(i)})
        return out
