"""Calibration of the sweep verdicts by simulation: the old procedure against the current one.

    python bench/calibration.py [--sweeps 400] [--seed 0]

Every simulated run's val.acc is 0.90 + its value's true effect + a per-seed component all rows of
that seed share (σ_seed = 0.3 points) + its own noise (σ = 0.3 points); δ = 0.5 points, α = 0.05, Holm.
Each line is one design; columns: family-wise rate of false better/worse calls (a rate from N sweeps
has Monte-Carlo error sqrt(α(1 - α)/N), ≈ 1.1 points at N = 400), power (the true effect called in the
right direction) and mean jobs per sweep.

"old": each row's own paired t (n - 1 df), seed=auto at α / L on every look, verdicts re-judged every
look; "new": the pooled block-design t with the equal-variance fallback (ablab.report.pooled), α-spending
over the looks with decided verdicts kept (ablab.report.sequential). Prints a markdown table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ablab.report.sequential import fixed  # noqa: E402
from ablab.sweeps.auto import Arm, SeedRounds  # noqa: E402

ALPHA, DELTA, SIGMA, SHARED = 0.05, 0.005, 0.003, 0.003


class OldRounds(SeedRounds):
    """seed=auto before α-spending and pooling: every look at α / L, per-row tests, nothing frozen."""

    def look(self, level):
        from ablab.report.sequential import judge_look

        idx = [i for i, a in enumerate(self.arms) if a.reference is not None]
        got = judge_look([a.keyed() for a in self.arms], [(i, self.arms[i].reference) for i in idx],
                         self.alpha / self.looks, {}, self.correction, self.mode, self.min_effect, pool=False)
        out = [None] * len(self.arms)
        for i, c in zip(idx, got):
            out[i] = c
        return out


def run_sweep(rng, effects, seeds=None, repeats=5, noise=None, old=False, folds=0):
    """One sweep; returns (comparisons, jobs). `noise[i]`: row i's own σ in units of SIGMA (default 1)."""
    noise = [SIGMA * x for x in (noise or [1.0] * len(effects))]
    arms = [Arm([], None)] + [Arm([f"v={i}"], 0) for i in range(1, len(effects))]
    if folds:
        return _folds(rng, effects, repeats, folds, noise, old), repeats * folds * len(effects)
    reps = [[]] if seeds else [[f"seed={s}"] for s in range(repeats)]
    rounds = (OldRounds if old else SeedRounds)(arms, reps, seeds, ALPHA, "holm", "max", DELTA)
    per_seed: dict = {}
    jobs = 0
    while batch := rounds.next_batch():
        out = []
        for job in batch:
            seed = int(next(o for o in job if o.startswith("seed="))[5:])
            v = int(job[0][2:]) if job[0].startswith("v=") else 0
            u = per_seed.setdefault(seed, rng.normal(0, SHARED))
            out.append((0.90 + effects[v] + u + rng.normal(0, noise[v]), None))
        jobs += len(batch)
        rounds.tell(out)
    return rounds.comparisons, jobs


def _folds(rng, effects, seeds, k, noise, old):
    """seeds × k folds; the folds of one split share a component (their training sets overlap)."""
    keys = [(str(s), str(f)) for s in range(seeds) for f in range(k)]
    block = {key: rng.normal(0, SHARED) for key in keys}
    keyed = []
    for v, e in enumerate(effects):
        split = {s: rng.normal(0, noise[v] / 2) for s in range(seeds)}
        keyed.append([(key, 0.9 + e + block[key] + split[int(key[0])] + rng.normal(0, noise[v])) for key in keys])
    pairs = [(i, 0) for i in range(1, len(effects))]
    got = fixed(keyed, pairs, ALPHA, "holm", "max", DELTA, [1 / (k - 1)] * len(pairs), [k] * len(pairs),
                pool=not old)
    return [None] + got


def measure(n, rng, effects, **kw):
    false_any, found, jobs = 0, 0, []
    for _ in range(n):
        comps, j = run_sweep(rng, effects, **kw)
        jobs.append(j)
        false_any += any(c is not None and c.verdict in ("better", "worse") and effects[i] == 0
                         for i, c in enumerate(comps))
        found += sum(1 for i, c in enumerate(comps) if c is not None and effects[i] != 0
                     and c.verdict == ("better" if effects[i] > 0 else "worse"))
    effects_n = sum(1 for e in effects if e != 0)
    return false_any / n, (found / (n * effects_n) if effects_n else None), float(np.mean(jobs))


DESIGNS = [
    ("all null, 12 values × 5 seeds", [0.0] * 13, {}),
    ("all null, 12 values × 3 seeds", [0.0] * 13, {"repeats": 3}),
    ("all null, 12 values × 2 seeds × 5 folds", [0.0] * 13, {"repeats": 2, "folds": 5}),
    ("all null, one row 3× noisier, 5 seeds", [0.0] * 13, {"noise": [1.0] * 12 + [3.0]}),
    ("all null, one row 3× noisier, 3 seeds", [0.0] * 13, {"repeats": 3, "noise": [1.0] * 12 + [3.0]}),
    ("2δ among 3 null, 5 seeds", [0.0, 2 * DELTA, 0.0, 0.0, 0.0], {}),
    ("2δ among 3 null, 3 seeds", [0.0, 2 * DELTA, 0.0, 0.0, 0.0], {"repeats": 3}),
    ("seed=auto 3..10, all null, 12 values", [0.0] * 13, {"seeds": (3, 10)}),
    ("seed=auto 3..10, one row 3× noisier", [0.0] * 13, {"seeds": (3, 10), "noise": [1.0] * 12 + [3.0]}),
    ("seed=auto 3..10, 2δ among 3 null", [0.0, 2 * DELTA, 0.0, 0.0, 0.0], {"seeds": (3, 10)}),
    ("seed=auto 3..10, 4δ among 3 null", [0.0, 4 * DELTA, 0.0, 0.0, 0.0], {"seeds": (3, 10)}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="run the designs whose name contains this text")
    parser.add_argument("--sigma", type=float, default=0.3, help="each run's own noise, in points (default 0.3)")
    args = parser.parse_args()
    global SIGMA
    SIGMA = args.sigma / 100
    print(f"{args.sweeps} sweeps per cell; Monte-Carlo error of a rate near α: "
          f"±{100 * 2 * np.sqrt(ALPHA * (1 - ALPHA) / args.sweeps):.1f} points (2 s.e.)\n")
    print("| design | false calls old | new | power old | new | jobs old | new |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, effects, kw in DESIGNS:
        if args.only not in name:
            continue
        row = []
        for old in (True, False):
            rng = np.random.default_rng(args.seed)
            row.append(measure(args.sweeps, rng, effects, old=old, **kw))
        (f0, p0, j0), (f1, p1, j1) = row
        pw = "—" if p0 is None else f"{p0:.1%} | {p1:.1%}"
        print(f"| {name} | {f0:.1%} | {f1:.1%} | {pw if p0 is not None else '— | —'} | {j0:.0f} | {j1:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
