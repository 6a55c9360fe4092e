"""Report statistics on synthetic sweeps in the run-directory format, checked against scipy.stats.

Values are drawn from a fixed RNG: a factor with a real effect (2 points apart, std 0.3
points, 5 seeds) must come out better or worse, a factor drawn from the baseline's own
distribution within noise, single runs without a verdict.
"""
import csv
import json
import math

import numpy as np
import pytest
from omegaconf import OmegaConf
from scipy import stats

from ablab.report.__main__ import main
from ablab.report.collect import collect
from ablab.report.ranking import rank_factors
from ablab.report.stats import compare, pooled_std, seeds_needed, summarize
from ablab.report.table import build_table

SEEDS = [0, 1, 2, 3, 4]


def write_job(sweep, num, overrides, acc, status="completed", history=None):
    d = sweep / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    split = {"acc": acc, "loss": None if acc is None else 1 - acc}
    (d / "results.json").write_text(json.dumps({
        "status": status, "error": None, "overrides": overrides, "val": split, "test": split,
        "history": history or []}))


def ofat_sweep(path, values, seeds=SEEDS):
    """values: {override or "" for the baseline: per-seed accuracies}; jobs numbered as Hydra would."""
    num = 0
    for override, accs in values.items():
        for seed, acc in zip(seeds, accs):
            write_job(path, num, ([override] if override else []) + [f"seed={seed}"], float(acc))
            num += 1
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def test_summary_is_the_student_t_interval(rng):
    x = rng.normal(0.9, 0.01, 5)
    s = summarize(x)
    low, high = stats.t.interval(0.95, 4, loc=x.mean(), scale=x.std(ddof=1) / math.sqrt(5))
    assert (s.n, s.mean, s.std) == (5, pytest.approx(x.mean()), pytest.approx(x.std(ddof=1)))
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))
    one = summarize([0.9])
    assert (one.n, one.mean, one.std, one.ci_low, one.ci_high) == (1, 0.9, None, None, None)


def test_real_effect_is_better_or_worse_and_noise_is_within_noise(tmp_path, rng):
    base = rng.normal(0.90, 0.003, 5)
    up = rng.normal(0.92, 0.003, 5)  # a real effect: 2 points, std 0.3 points
    down = rng.normal(0.88, 0.003, 5)
    noise = rng.normal(0.90, 0.003, 5)  # the baseline's own distribution
    sweep = ofat_sweep(tmp_path / "s", {"": base, "optimizer=sgd": up, "optimizer=rmsprop": down,
                                        "dropout=0.1": noise})
    table = build_table(collect(sweep), metric="val.acc")
    verdicts = {r.value: r.verdict for r in table.rows}
    assert verdicts == {"—": "reference", "sgd": "better", "rmsprop": "worse", "0.1": "undecided"}
    sgd = next(r for r in table.rows if r.value == "sgd")
    # Same seeds on both rows: a paired test, by seed.
    paired = stats.ttest_rel(up, base)
    c = sgd.comparison
    # The interval is at the level Holm leaves the row (alpha * p / p_adjusted), so it excludes 0
    # exactly when the adjusted p-value is below alpha.
    low, high = paired.confidence_interval(1 - c.alpha_used)
    assert c.p_adjusted < 0.05 and c.alpha_used < 0.05
    assert c.delta == pytest.approx(up.mean() - base.mean())  # balanced blocks: the mean paired difference
    if c.test == "paired t (own variance)":  # failed the equal-variance check: today's per-row test
        assert c.p_value == pytest.approx(paired.pvalue)
        assert (c.ci_low, c.ci_high) == (pytest.approx(low), pytest.approx(high))
    else:  # four rows × five seeds share one residual variance: 3 × 4 = 12 degrees of freedom
        assert c.test == "pooled t (4 rows, 12 df)" and c.df == 12
    assert sgd.best and [r.value for r in table.rows if r.best] == ["sgd"]
    # In min mode (a loss), the same differences swap sides.
    table = build_table(collect(sweep), metric="val.loss", mode="min")
    assert {r.value: r.verdict for r in table.rows}["sgd"] == "better"  # loss = 1 - acc went down
    assert {r.value: r.verdict for r in table.rows}["rmsprop"] == "worse"


def test_pairs_by_seed_not_by_job_order(tmp_path, rng):
    base = rng.normal(0.90, 0.003, 5)
    shift = base + 0.001 + rng.normal(0, 0.0002, 5)  # tiny, but consistent per seed
    sweep = tmp_path / "s"
    ofat_sweep(sweep, {"": base})
    for i, seed in enumerate(reversed(SEEDS)):  # the value's jobs ran in the other order
        write_job(sweep, 5 + i, ["dropout=0.1", f"seed={seed}"], float(shift[seed]))
    row = build_table(collect(sweep), metric="val.acc").rows[1]
    # Significant, but 0.1 points is inside ±δ = 0.5 points: a real yet negligible difference.
    assert row.comparison.test == "paired t" and row.verdict == "equivalent" and row.comparison.significant
    assert row.comparison.p_value == pytest.approx(stats.ttest_rel(shift, base).pvalue)
    # Unpaired, the same numbers are noise: the seed-to-seed spread swamps a 0.1-point shift.
    assert stats.ttest_ind(shift, base, equal_var=False).pvalue > 0.05


def test_different_seeds_use_welch(tmp_path, rng):
    base, other = rng.normal(0.90, 0.003, 5), rng.normal(0.92, 0.006, 4)
    sweep = tmp_path / "s"
    ofat_sweep(sweep, {"": base})
    for i, acc in enumerate(other):
        write_job(sweep, 5 + i, ["optimizer=sgd", f"seed={10 + i}"], float(acc))
    row = build_table(collect(sweep), metric="val.acc").rows[1]
    welch = stats.ttest_ind(other, base, equal_var=False)
    low, high = welch.confidence_interval(0.95)
    c = row.comparison
    assert c.test == "Welch t" and c.p_value == pytest.approx(welch.pvalue) and row.verdict == "better"
    assert (c.ci_low, c.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_alpha_decides_significance(rng):
    a, b = [(s, float(v)) for s, v in zip(SEEDS, rng.normal(0.901, 0.003, 5))], \
        [(s, float(v)) for s, v in zip(SEEDS, rng.normal(0.900, 0.003, 5))]
    p = compare(a, b).p_value
    assert compare(a, b, alpha=min(1.0, p * 1.01)).verdict in ("better", "worse")
    assert compare(a, b, alpha=p * 0.99).verdict == "undecided"


def test_single_runs_give_single_run_and_the_seed_count(tmp_path, capsys):
    sweep = ofat_sweep(tmp_path / "s", {"": [0.90], "optimizer=sgd": [0.93], "optimizer=rmsprop": [0.95]},
                       seeds=[0])
    assert main([str(sweep), "--metric", "val.acc", "--min-effect", "1", "--assumed-std", "0.5"]) == 0
    rows = list(csv.DictReader(open(sweep / "report.csv")))
    assert [r["verdict"] for r in rows] == ["reference", "single run", "single run"]
    assert all(r["p_value"] == "" and r["best"] == "0" for r in rows)
    assert float(rows[2]["delta"]) == pytest.approx(0.05)
    md = (sweep / "report.md").read_text()
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    n = math.ceil(2 * (z * 0.005 / 0.01) ** 2)  # assumed std 0.5 points, effect 1 point
    assert "** ★" not in md and f"**{n} seeds per configuration**" in md and "assumed" in md
    assert n == seeds_needed(0.005, 0.01)


def test_seed_count_uses_the_observed_spread(tmp_path, rng):
    base, noise = rng.normal(0.90, 0.003, 5), rng.normal(0.90, 0.003, 5)
    sweep = ofat_sweep(tmp_path / "s", {"": base, "dropout=0.1": noise})
    assert main([str(sweep), "--metric", "val.acc"]) == 0
    sigma = math.sqrt((np.var(base, ddof=1) + np.var(noise, ddof=1)) / 2)  # equal n: the mean variance
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    n = max(2, math.ceil(2 * (z * sigma / 0.005) ** 2))
    md = (sweep / "report.md").read_text()
    if n <= 10:
        assert f"**{n} seeds per configuration**" in md and f"σ = {100 * sigma:.2f} points" in md and "observed" in md
    else:  # capped: beyond max_seeds the advice says what would help instead of a seed count
        assert "below this setup's noise" in md and "seeds per configuration**" not in md


def test_factor_ranking_uses_the_verdicts_tests(tmp_path, rng):
    base = rng.normal(0.90, 0.003, 5)
    values = {"": base, "optimizer=sgd": base + 0.03 + rng.normal(0, 0.002, 5),  # 3 points, significant
              "dropout=0.1": base + 0.005 + rng.normal(0, 0.01, 5)}  # noisy: not significant
    sweep = ofat_sweep(tmp_path / "s", values)
    table = build_table(collect(sweep), metric="val.acc")
    effects = rank_factors(table)
    assert [e.factor for e in effects] == ["optimizer", "dropout"]
    opt, drop = effects
    assert opt.significant and opt.row.verdict == "better" and opt.delta == pytest.approx(0.03, abs=0.005)
    # A factor whose rows are all undecided is never ranked as an effect, however far its means are.
    assert not drop.significant and drop.row.verdict == "undecided"
    groups = [list(values[""]), list(values["optimizer=sgd"])]
    assert pooled_std(groups) == pytest.approx(math.sqrt((np.var(groups[0], ddof=1) + np.var(groups[1], ddof=1)) / 2))


def test_a_grid_compares_to_its_default_value(tmp_path, rng):
    sweep = tmp_path / "grid"
    accs = {"sgd": rng.normal(0.85, 0.003, 3), "adam": rng.normal(0.90, 0.003, 3),
            "rmsprop": rng.normal(0.90, 0.003, 3)}
    num = 0
    for name, values in accs.items():
        for seed, acc in enumerate(values):
            write_job(sweep, num, [f"optimizer={name}", f"seed={seed}"], float(acc))
            num += 1
    # What Hydra saves in a sweep dir: the config without the sweep's values applied.
    OmegaConf.save(OmegaConf.create({"optimizer": {"lr": 0.001}, "hydra": {"runtime": {"choices": {
        "optimizer": "adam"}}}}), sweep / "multirun.yaml")
    assert main([str(sweep), "--metric", "val.acc"]) == 0
    rows = {r["value"]: r for r in csv.DictReader(open(sweep / "report.csv"))}
    assert rows["adam"]["verdict"] == "reference" and rows["sgd"]["verdict"] == "worse"
    assert rows["rmsprop"]["verdict"] == "undecided"
    # Three rows × three shared seeds: the randomized complete block design, by hand. Residual
    # e_ij = y_ij - row mean - seed mean + grand mean, σ² = Σe²/((k-1)(n-1)), Δ's se = sqrt(2σ²/n).
    y = np.array([accs["sgd"], accs["adam"], accs["rmsprop"]])
    e = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + y.mean()
    var = (e ** 2).sum() / (2 * 2)
    t = (y[0].mean() - y[1].mean()) / math.sqrt(2 * var / 3)
    sgd = rows["sgd"]
    if sgd["test"].startswith("pooled"):
        assert sgd["test"] == "pooled t (3 rows, 4 df)"
        assert float(sgd["p_value"]) == pytest.approx(2 * stats.t.sf(abs(t), 4))
    else:
        assert float(sgd["p_value"]) == pytest.approx(stats.ttest_rel(accs["sgd"], accs["adam"]).pvalue)


def test_csv_carries_the_statistics(tmp_path, rng):
    base, up = rng.normal(0.90, 0.003, 5), rng.normal(0.92, 0.003, 5)
    sweep = ofat_sweep(tmp_path / "s", {"": base, "optimizer=sgd": up})
    assert main([str(sweep), "--metric", "val.acc"]) == 0
    head, base_row, sgd = list(csv.reader(open(sweep / "report.csv")))
    assert {"n", "mean", "std", "ci_low", "ci_high", "delta", "delta_ci_low", "delta_ci_high", "p_value",
            "p_adjusted", "p_equivalence", "p_equivalence_adjusted", "test", "correction", "verdict"} <= set(head)
    sgd = dict(zip(head, sgd))
    low, high = stats.t.interval(0.95, 4, loc=up.mean(), scale=stats.sem(up))
    assert int(sgd["n"]) == 5 and float(sgd["std"]) == pytest.approx(up.std(ddof=1))
    assert (float(sgd["ci_low"]), float(sgd["ci_high"])) == (pytest.approx(low), pytest.approx(high))
    assert float(sgd["delta"]) == pytest.approx(up.mean() - base.mean()) and sgd["verdict"] == "better"
    assert dict(zip(head, base_row))["verdict"] == "reference"


def test_unknown_metric_is_one_line_and_exit_2(tmp_path, capsys):
    sweep = ofat_sweep(tmp_path / "s", {"": [0.9], "optimizer=sgd": [0.91]}, seeds=[0])
    assert main([str(sweep), "--metric", "foo.bar"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ablab: error: ") and "foo.bar" in err
    assert "val.acc" in err and "test.acc" in err  # what it could have been
    assert not (sweep / "report.md").exists()


def test_holm_bh_and_tost_by_hand():
    from ablab.report.stats import _p_tost, adjust, decide, raw_compare

    p = [0.01, 0.04, 0.03, 0.2]
    # Holm: sorted 0.01, 0.03, 0.04, 0.2 times 4, 3, 2, 1, made monotone
    assert adjust(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert adjust(p, "bh") == pytest.approx(list(stats.false_discovery_control(p, method="bh")))
    assert adjust(p + [None], "none") == p + [None]
    # TOST: the larger of the two one-sided p-values against ±δ
    assert _p_tost(0.001, 0.001, 4, 0.005) == pytest.approx(max(stats.t.sf(6, 4), stats.t.cdf(-4, 4)))
    # The decision interval excludes 0 exactly when the adjusted p-value is below alpha
    rng = np.random.default_rng(3)
    base = [(s, float(v)) for s, v in zip(SEEDS, rng.normal(0.9, 0.003, 5))]
    raws = [raw_compare([(k, v + shift + float(rng.normal(0, 0.002))) for k, v in base], base, 0.005)
            for shift in (0.0, 0.004, 0.01, 0.02)]
    for c in decide(raws, 0.05, "holm", "max", 0.005):
        assert (c.p_adjusted < 0.05) == (c.ci_low > 0 or c.ci_high < 0)
        assert (c.p_equivalence_adjusted < 0.05) == (-0.005 < c.equiv_low and c.equiv_high < 0.005)
