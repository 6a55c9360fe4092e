"""Calibration by simulation: sweeps with known truth, no training, through the whole decision path.

Each simulated sweep is one baseline and several values, every run's val.acc drawn as
0.90 + the value's true effect + a per-seed component every configuration of that seed
shares (the data split and initial draw) + the run's own noise. In memory, a sweep goes
through ablab.sweeps.auto (the rounds `seed=auto` runs, judged by the report's tests and
correction); a few sweeps are written as run directories (results.json, overrides.yaml,
multirun.yaml, seed_auto.yaml) and read back by `python -m ablab.report`, which must reach
the same verdicts. Monte-Carlo error: a rate estimated from N sweeps is allowed its value
plus two standard errors, sqrt(α(1 - α)/N).
"""
import csv
import json
import math

import numpy as np
import pytest
import yaml

from ablab.report.__main__ import main
from ablab.report.sequential import fixed
from ablab.report.stats import decide, raw_compare
from ablab.sweeps.auto import Arm, SeedRounds

ALPHA, DELTA = 0.05, 0.005  # δ = 0.5 points
VALUES = 12
SWEEPS = 300


def slack(n: int, p: float = ALPHA) -> float:
    return 2 * math.sqrt(p * (1 - p) / n)


def simulate(rng, effects, seeds=None, repeats=5, sigma=0.003, shared=0.003, correction="holm"):
    """One sweep in memory: effects[0] is the baseline's (0), the rest the values'. Returns the rounds."""
    arms = [Arm([], None)] + [Arm([f"v={i}"], 0) for i in range(1, len(effects))]
    reps = [[]] if seeds else [[f"seed={s}"] for s in range(repeats)]
    rounds = SeedRounds(arms, reps, seeds, ALPHA, correction, "max", DELTA)
    per_seed: dict = {}
    while True:
        jobs = rounds.next_batch()
        if not jobs:
            return rounds
        out = []
        for job in jobs:
            seed = int(next(o for o in job if o.startswith("seed="))[5:])
            value = int(job[0][2:]) if job[0].startswith("v=") else 0
            u = per_seed.setdefault(seed, rng.normal(0, shared))
            out.append((0.90 + effects[value] + u + rng.normal(0, sigma), None))
        rounds.tell(out)


def false_calls(rounds) -> bool:
    return any(c is not None and c.verdict in ("better", "worse") for c in rounds.comparisons)


@pytest.mark.parametrize("correction", ["holm", "none"])
def test_null_sweeps_fixed_seeds(correction):
    """12 truly null values × 5 seeds: Holm keeps the chance of any false call within α; without a
    correction it is far above (1 - 0.95^12 ≈ 46% for independent tests)."""
    rng = np.random.default_rng(25)
    rate = np.mean([false_calls(simulate(rng, [0.0] * (VALUES + 1), correction=correction))
                    for _ in range(SWEEPS)])
    print(f"\nfixed 5 seeds, 12 null values, {correction}: any false better/worse in {rate:.1%} of {SWEEPS} sweeps")
    if correction == "holm":
        assert rate <= ALPHA + slack(SWEEPS)
    else:
        assert rate > 0.2


@pytest.mark.slow
def test_null_sweeps_seed_auto_repeated_looks():
    """seed=auto looks after every round; α-spending over the looks (decided verdicts kept) keeps the rate at α."""
    rng = np.random.default_rng(26)
    runs, rates = [], []
    for _ in range(SWEEPS):
        r = simulate(rng, [0.0] * (VALUES + 1), seeds=(3, 10))
        rates.append(false_calls(r))
        runs.append(sum(a.seeds for a in r.arms))
    rate = float(np.mean(rates))
    print(f"\nseed=auto (3..10), 12 null values: any false better/worse in {rate:.1%} of {SWEEPS} sweeps; "
          f"{np.mean(runs):.0f} runs per sweep on average (fixed 10 seeds: {10 * (VALUES + 1)})")
    assert rate <= ALPHA + slack(SWEEPS)


def test_power_at_two_delta_with_seed_auto():
    """A true difference of 2δ (1 point) among null values, at 0.3 points of run noise: found in at
    least 80% of sweeps at the seeds seed=auto chose, and never called the wrong way."""
    rng = np.random.default_rng(27)
    n = 200
    found, wrong, seeds = 0, 0, []
    for _ in range(n):
        r = simulate(rng, [0.0, 2 * DELTA] + [0.0] * 3, seeds=(3, 10))
        c = r.comparisons[1]
        found += c.verdict == "better"
        wrong += c.verdict == "worse"
        seeds.append(r.arms[1].seeds)
    power = found / n
    print(f"\npower at 2δ (σ = 0.3 points, 4 comparisons, seed=auto 3..10): {power:.1%}; "
          f"seeds taken: median {int(np.median(seeds))}, max {max(seeds)}")
    assert power >= 0.8 and wrong == 0


def test_equal_rows_with_little_noise_are_equivalent():
    rng = np.random.default_rng(28)
    n = 100
    verdicts = [c.verdict for _ in range(n)
                for c in simulate(rng, [0.0] * 5, repeats=5, sigma=0.0005, shared=0.003).comparisons if c]
    share = verdicts.count("equivalent") / len(verdicts)
    print(f"\ntruly equal rows, 0.05 points of noise, 5 seeds: {share:.1%} equivalent")
    assert share >= 0.95 and "better" not in verdicts and "worse" not in verdicts


def test_a_real_negligible_difference_is_equivalent_not_better():
    """Six seeds at a spread of 0.05 points: a 0.04-point gain is significant, but inside ±δ."""
    rng = np.random.default_rng(29)
    r = simulate(rng, [0.0, 0.0004], repeats=6, sigma=0.0002, shared=0.003)
    c = r.comparisons[1]
    assert c.verdict == "equivalent" and c.significant


def test_folds_need_the_corrected_test():
    """k-fold repeats whose differences share a per-split component (overlapping training sets):
    the plain paired t over folds calls far more than α; the corrected resampled t does not."""
    rng = np.random.default_rng(30)
    k, n = 5, 400
    rates = {}
    for ratio in (None, 1 / (k - 1)):
        calls = 0
        for _ in range(n):
            keys = [(str(s), str(f)) for s in range(2) for f in range(k)]
            base = {key: 0.9 + rng.normal(0, 0.003) for key in keys}
            # shared by the folds of one split: a correlation of 1/k between its folds' differences,
            # the n_val/(n_val + n_train) Nadeau & Bengio's correction assumes
            split = {s: rng.normal(0, 0.001) for s in range(2)}
            value = [(key, base[key] + split[int(key[0])] + rng.normal(0, 0.002)) for key in keys]
            c = decide([raw_compare(value, list(base.items()), DELTA, ratio, k)], ALPHA, "none")[0]
            calls += c.verdict in ("better", "worse")
        rates["corrected" if ratio else "plain"] = calls / n
    print(f"\n2 seeds x {k} folds, null: false calls {rates}")
    assert rates["corrected"] <= ALPHA + slack(n) < rates["plain"]


def test_null_sweeps_unequal_variance_fall_back():
    """One null row 3× noisier than the others at 3 seeds: pooling it would call it often; the
    equal-variance check sends it to its own test and the family-wise rate stays within α."""
    rng = np.random.default_rng(32)
    n, calls, fell = 300, 0, 0
    for _ in range(n):
        seed = rng.normal(0, 0.003, 3)
        keyed = [[((str(s), None), 0.9 + seed[s] + rng.normal(0, 0.009 if i == VALUES else 0.003))
                  for s in range(3)] for i in range(VALUES + 1)]
        got = fixed(keyed, [(i, 0) for i in range(1, VALUES + 1)], ALPHA, "holm", "max", DELTA)
        calls += any(c.verdict in ("better", "worse") for c in got)
        fell += got[-1].test == "paired t (own variance)"
    print(f"\n3 seeds, 12 null values, one 3x noisier: false calls {calls / n:.1%}, its fallback in {fell / n:.0%}")
    assert calls / n <= ALPHA + slack(n)


def test_null_sweeps_folds_pooled_and_corrected():
    """2 seeds × 5 folds, 12 null values whose folds of one split share a component: the pooled
    corrected resampled t keeps the family-wise rate within α."""
    rng = np.random.default_rng(33)
    k, n, calls = 5, 200, 0
    keys = [(str(s), str(f)) for s in range(2) for f in range(k)]
    for _ in range(n):
        block = {key: rng.normal(0, 0.003) for key in keys}
        keyed = []
        for _ in range(VALUES + 1):
            split = {s: rng.normal(0, 0.0015) for s in range(2)}
            keyed.append([(key, 0.9 + block[key] + split[int(key[0])] + rng.normal(0, 0.003)) for key in keys])
        pairs = [(i, 0) for i in range(1, VALUES + 1)]
        got = fixed(keyed, pairs, ALPHA, "holm", "max", DELTA, [1 / (k - 1)] * VALUES, [k] * VALUES)
        assert got[0].test.startswith(("pooled corrected resampled t", "corrected resampled t"))
        calls += any(c.verdict in ("better", "worse") for c in got)
    print(f"\n2 seeds x {k} folds, 12 null values, pooled corrected: false calls {calls / n:.1%}")
    assert calls / n <= ALPHA + slack(n)


def test_power_at_two_delta_with_three_fixed_seeds():
    """2δ among 3 null values at 3 seeds: the pooled test (8 df) finds it in most sweeps; each row's own
    paired t (2 df, Holm over 4) found it in 16% (bench/calibration.py)."""
    rng = np.random.default_rng(34)
    n = 200
    found = sum(simulate(rng, [0.0, 2 * DELTA, 0.0, 0.0, 0.0], repeats=3).comparisons[1].verdict == "better"
                for _ in range(n))
    print(f"\npower at 2δ, fixed 3 seeds, 4 comparisons: {found / n:.1%}")
    assert found / n >= 0.5


def _bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "calibration.py"
    spec = importlib.util.spec_from_file_location("bench_calibration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_seed_auto_takes_fewer_jobs_than_the_even_split():
    """Run noise 0.15 points (δ = 0.5), against the old plan (each row's own t at α/L on every look):
    an all-null sweep of 12 values takes at most 2/3 of its jobs; 2δ and 4δ among 3 null values at
    most 0.8 (measured 0.69 and 0.75: the null rows' equivalence, not the effect, sets the cost)."""
    bench = _bench()
    bench.SIGMA = 0.0015
    for effects, most in (([0.0] * 13, 2 / 3), ([0.0, 2 * DELTA, 0.0, 0.0, 0.0], 0.8),
                          ([0.0, 4 * DELTA, 0.0, 0.0, 0.0], 0.8)):
        got = {}
        for old in (True, False):
            got[old] = bench.measure(100, np.random.default_rng(35), effects, seeds=(3, 10), old=old)
        print(f"\nseed=auto jobs, effects {effects[:2]}...: old {got[True][2]:.0f}, new {got[False][2]:.0f}; "
              f"false calls {got[True][0]:.0%} / {got[False][0]:.0%}")
        assert got[False][2] <= most * got[True][2] and got[False][0] <= ALPHA + slack(100)


# --- through the files: the report must reach the sweeper's verdicts --------------------------------

def write_sweep(path, rounds, effects_names):
    """The run directories a seed=auto sweep leaves (one job per finished (arm, seed))."""
    num = 0
    for arm, name in zip(rounds.arms, effects_names):
        for (seed, _), acc in arm.scores.items():
            d = path / str(num)
            (d / ".hydra").mkdir(parents=True)
            overrides = ([name] if name else []) + [f"seed={seed}"]
            (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
            (d / "results.json").write_text(json.dumps({
                "status": "completed", "overrides": overrides, "seed": int(seed),
                "val": {"acc": acc}, "test": {"acc": acc}}))
            num += 1
    (path / "multirun.yaml").write_text(yaml.safe_dump({"hydra": {"sweeper": {
        "_target_": "hydra_plugins.ablab_sweepers.ofat_sweeper.OFATSweeper", "metric": "val.acc", "mode": "max",
        "alpha": ALPHA, "correction": "holm", "min_effect": 0.5}, "runtime": {"choices": {"optimizer": "adam"}}},
        "optimizer": {"lr": 0.001}}))
    if rounds.seeds:
        (path / "seed_auto.yaml").write_text(yaml.safe_dump({"min_seeds": rounds.seeds[0],
                                                             "max_seeds": rounds.seeds[1]}))


@pytest.mark.parametrize("seeds", [None, (3, 10)])
def test_sweeps_through_files_match_the_sweeper(tmp_path, seeds):
    rng = np.random.default_rng(31)
    names = [""] + [f"optimizer=o{i}" for i in range(1, 6)]
    effects = [0.0, 2 * DELTA, 0.0, 0.0, -2 * DELTA, 0.0]
    false_any = 0
    for i in range(8):
        rounds = simulate(rng, effects, seeds=seeds, repeats=5)
        sweep = tmp_path / f"s{i}"
        write_sweep(sweep, rounds, names)
        assert main([str(sweep)]) == 0
        rows = list(csv.DictReader(open(sweep / "report.csv")))
        got = {r["name"]: r["verdict"] for r in rows}
        want = {("optimizer=adam (baseline)" if not n else n): (c.verdict if c else "reference")
                for n, c in zip(names, rounds.comparisons)}
        assert got == want
        assert all(r["correction"] == "holm" and r["family"] == "5" for r in rows)
        false_any += any(got[n] in ("better", "worse") for n, e in zip(names[1:], effects[1:]) if e == 0)
        md = (sweep / "report.md").read_text()
        assert "Holm over 5 comparisons" in md and "## In plain words" in md
        if seeds:
            assert "α spent over 8 looks" in md and "why it stopped" in md
    assert false_any <= 2  # 8 sweeps, each at most α: more than 2 would be very unlikely

