"""What a report says at the sizes people run: pooled noise, α-spending, bounded intervals, two
seeds, a grid without its defaults, and the per-example evidence of predictions.npz."""
import csv
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from ablab.report.__main__ import main
from ablab.report.collect import collect
from ablab.report.evidence import mcnemar, spread
from ablab.report.pooled import pooled_tests
from ablab.report.sequential import levels, spent
from ablab.report.table import build_table
from ablab.run import predictions
from ablab.sweeps.auto import Arm, SeedRounds
from tests.test_report_stats import ofat_sweep, write_job


@pytest.fixture
def rng():
    return np.random.default_rng(4321)


def keyed(values):
    return [((str(s), None), float(v)) for s, v in enumerate(values)]


def test_pooled_t_is_the_block_design_by_hand(rng):
    """Five rows × four seeds with a per-seed component: one residual variance, 4 × 3 = 12 df."""
    seed = rng.normal(0, 0.01, 4)
    y = np.array([0.9 + seed + rng.normal(0, 0.003, 4) for _ in range(5)])
    pairs = [(i, 0) for i in range(1, 5)]
    got, fell_back = pooled_tests([keyed(r) for r in y], pairs, [None] * 4)
    e = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + y.mean()
    var = (e ** 2).sum() / 12
    for p, (i, _) in enumerate(pairs):
        if p in fell_back:
            continue
        delta, se, df, name = got[p]
        assert delta == pytest.approx(y[i].mean() - y[0].mean()) and df == 12
        assert se == pytest.approx(math.sqrt(2 * var / 4)) and name == "pooled t (5 rows, 12 df)"
    # Folds: the corrected form scales the variance by 1 + n·n_val/n_train (Nadeau & Bengio).
    got_cv, _ = pooled_tests([keyed(r) for r in y], pairs, [0.25] * 4)
    p = next(iter(got_cv))
    assert got_cv[p][1] == pytest.approx(got[p][1] * math.sqrt(1 + 4 * 0.25))
    assert got_cv[p][3].startswith("pooled corrected resampled t")


def test_a_noisy_row_falls_back_to_its_own_test(rng):
    """One row with 10× the others' noise fails the equal-variance check and keeps its paired t."""
    y = [0.9 + rng.normal(0, 0.002, 6) for _ in range(6)]
    y[3] = 0.9 + rng.normal(0, 0.02, 6)
    got, fell_back = pooled_tests([keyed(r) for r in y], [(i, 0) for i in range(1, 6)], [None] * 5)
    assert fell_back == {2} and 2 not in got
    # Its noise is clearly another (F's p < 0.001): it leaves the fit, so the other rows keep
    # intervals of their own noise: 5 rows × 6 seeds, 4 × 5 = 20 degrees of freedom.
    assert {got[p][2] for p in got} == {20.0}


def test_spending_sums_to_alpha_and_front_loads():
    a = levels(3, 10, 0.05)
    assert len(a) == 8 and sum(a) == pytest.approx(0.05) and a[0] > 3 * 0.05 / 8
    assert spent(0.0) == 0 and spent(1.0) == pytest.approx(0.05)


def test_a_clear_effect_is_decided_in_round_one_at_three_seeds():
    """13 rows at 3 seeds, one 4 points better at 0.3 points of noise (13× its noise): round one
    decides it, as a fixed 3-seed sweep would; the per-row paired t at α/8 could not (|t| ≈ 25 needed)."""
    rng = np.random.default_rng(5)
    arms = [Arm([], None)] + [Arm([f"v={i}"], 0) for i in range(1, 13)]
    rounds = SeedRounds(arms, [[]], (3, 10), 0.05, "holm", "max", 0.005)
    batch = rounds.next_batch()
    per_seed = {s: rng.normal(0, 0.003) for s in range(3)}
    rounds.tell([(0.9 + (0.04 if job[:1] == ["v=1"] else 0) + per_seed[int(job[-1][5:])] + rng.normal(0, 0.003),
                  None) for job in batch])
    assert rounds.comparisons[1].verdict == "better" and rounds.comparisons[1].look == 1
    assert rounds.arms[1].seeds == 3 and 1 not in rounds._want  # no more seeds for it


def two_seed_grid(path, accs):
    num = 0
    for config, values in accs.items():
        for seed, acc in enumerate(values):
            write_job(path, num, list(config) + [f"seed={seed}"], acc)
            num += 1
    return path


def test_two_seeds_give_bounded_intervals_and_words_not_vast_ones(tmp_path):
    """Two seeds of two configurations: every interval inside what an accuracy can take, and the
    undecided row says in words that two runs cannot decide, with what would."""
    sweep = two_seed_grid(tmp_path / "s", {("optimizer.lr=0.01",): [0.35, 0.93],
                                          ("optimizer.lr=0.1",): [0.10, 0.88]})
    assert main([str(sweep)]) == 0
    rows = {r["value"]: r for r in csv.DictReader(open(sweep / "report.csv"))}
    for r in rows.values():
        assert 0 <= float(r["ci_low"]) <= float(r["ci_high"]) <= 1
    lr = rows["0.1"]
    assert -1 <= float(lr["delta_ci_low"]) and float(lr["delta_ci_high"]) <= 1
    md = (sweep / "report.md").read_text()
    assert "2 runs, too few to decide" in md and "seeds per configuration**" not in md
    assert "below this setup's noise" in md  # σ ≈ 0.3: δ = 0.5 points is beyond any 10 seeds


def test_a_grid_without_its_defaults_compares_with_the_first_listed_value(tmp_path, rng):
    sweep = ofat_sweep(tmp_path / "s", {"optimizer.lr=0.01": rng.normal(0.90, 0.002, 4),
                                        "optimizer.lr=0.1": rng.normal(0.85, 0.002, 4)}, seeds=[0, 1, 2, 3])
    assert main([str(sweep)]) == 0
    rows = {r["value"]: r for r in csv.DictReader(open(sweep / "report.csv"))}
    assert rows["0.01"]["verdict"] == "reference" and rows["0.01"]["name"] == "optimizer.lr=0.01 (first listed)"
    assert rows["0.1"]["verdict"] == "worse"


def test_forest_plot_axis_follows_delta_and_decided_rows(tmp_path, rng):
    sweep = two_seed_grid(tmp_path / "s", {("optimizer.lr=0.01",): [0.35, 0.93], ("optimizer.lr=0.1",): [0.10, 0.88],
                                          ("optimizer.lr=0.001",): [0.36, 0.94]})
    table = build_table(collect(sweep))
    from ablab.report.plot import _limits
    rows = [r for r in table.rows if r.comparison is not None]
    lo, hi = _limits(rows, 100.0, 0.5)
    assert -2 < lo < -0.75 and 0.75 < hi < 2  # no decided row: ±1.5δ and a margin, not ±160 points
    assert main([str(sweep)]) == 0 and (sweep / "report.png").stat().st_size > 1000


def write_predictions(d, pred, label):
    predictions.write(d, {"val": (np.asarray(pred), np.asarray(label)), "test": (np.asarray(pred), np.asarray(label))})


def test_single_runs_get_mcnemar_on_shared_examples(tmp_path, rng):
    label = rng.integers(0, 10, 2000)
    ref = np.where(rng.random(2000) < 0.90, label, (label + 1) % 10)
    row = np.where(rng.random(2000) < 0.93, label, (label + 1) % 10)
    sweep = tmp_path / "s"
    write_job(sweep, 0, [], float((ref == label).mean()))
    write_job(sweep, 1, ["optimizer=sgd"], float((row == label).mean()))
    write_job(sweep, 2, ["optimizer=rmsprop"], 0.91)  # a row after the McNemar row, without predictions
    write_predictions(sweep / "0", ref, label)
    write_predictions(sweep / "1", row, label)
    runs = collect(sweep)
    m = mcnemar(runs[1], runs[0], "val.acc")
    b, c = int(np.sum((ref == label) & (row != label))), int(np.sum((row == label) & (ref != label)))
    assert (m.only_reference, m.only_row) == (b, c)
    assert m.p_value == pytest.approx(stats.binomtest(c, b + c, 0.5).pvalue)
    assert main([str(sweep)]) == 0
    md = (sweep / "report.md").read_text()
    assert "McNemar exact, 2000 examples (test-set noise only; seed noise unknown)" in md
    assert "| optimizer | optimizer=rmsprop | 1 | 91.00 |" in md  # in points, after the McNemar row
    # An older run directory without predictions.npz: reported as before.
    (sweep / "1" / predictions.FILE).unlink()
    assert main([str(sweep)]) == 0 and "McNemar" not in (sweep / "report.md").read_text().split("## Verdicts")[1]


def test_spread_split_by_per_example_rates(tmp_path, rng):
    """Runs on the same examples: the finite-set variance is Σ p_i(1 - p_i)/n² with p_i each
    example's error rate over the runs (× k/(k-1)); here runs differ only by per-example coin
    flips, so the finite test set explains about all of the spread."""
    n, k = 3000, 6
    label = rng.integers(0, 10, n)
    p = rng.beta(0.5, 4, n)  # per-example error rates
    sweep = tmp_path / "s"
    wrong = []
    for s in range(k):
        miss = rng.random(n) < p
        pred = np.where(miss, (label + 1) % 10, label)
        wrong.append(miss)
        write_job(sweep, s, [f"seed={s}"], float(1 - miss.mean()))
        write_predictions(sweep / str(s), pred, label)
    table = build_table(collect(sweep))
    got = spread(table.rows, "val.acc")
    rate = np.mean(wrong, axis=0)
    assert got.shared and got.finite_set == pytest.approx(np.sum(rate * (1 - rate)) * k / (k - 1) / n ** 2)
    assert got.observed == pytest.approx(np.var([1 - w.mean() for w in wrong], ddof=1))
    assert main([str(sweep)]) == 0
    assert "alone predicts" in (sweep / "report.md").read_text()


def test_undecided_rows_get_the_familys_interval_not_a_narrower_one():
    """Holm over 4 comparisons, none rejected: each undecided row's interval is drawn at α/4 (the
    level the first step needed), not at α·p/p_adj (95.5% for the row with p = 0.9)."""
    from ablab.report.stats import Comparison, decide

    raw = []
    for t in (1.7, 1.0, 0.6, 0.1):
        p = float(2 * stats.t.sf(t, 24))
        raw.append(Comparison(t * 0.01, p_value=p, se=0.01, df=24, verdict="undecided"))
    half = stats.t.ppf(1 - 0.05 / 4 / 2, 24) * 0.01
    for c in decide(raw, 0.05, "holm"):
        assert c.verdict == "undecided" and c.alpha_used == pytest.approx(0.0125)
        assert c.ci_high - c.ci_low == pytest.approx(2 * half) and c.ci_low < 0 < c.ci_high
    # One rejected: the other three are read at α/3; the rejected one still excludes 0.
    raw[0] = replace(raw[0], delta=0.06, p_value=float(2 * stats.t.sf(6.0, 24)))
    got = decide(raw, 0.05, "holm")
    assert got[0].verdict == "better" and got[0].ci_low > 0
    assert all(c.alpha_used == pytest.approx(0.05 / 3) and c.ci_low < 0 < c.ci_high for c in got[1:])


def test_a_noisy_row_beside_noiseless_ones_is_not_pooled():
    """The other rows reproduce exactly (a configuration stuck at chance on every seed): their
    residual variance is 0, so a noisy row's F is infinite and it keeps its own test rather than
    pooling its noise over 3 × 2 degrees of freedom."""
    rows = [keyed([0.5, 0.5, 0.5])] * 3 + [keyed([0.55, 0.62, 0.48])]
    got, fell_back = pooled_tests(rows, [(1, 0), (2, 0), (3, 0)], [None] * 3)
    assert fell_back == {2} and 2 not in got


def test_a_nan_metric_is_no_measurement_and_leaves_the_pool_intact(tmp_path, rng):
    """A completed run whose metric is NaN (results.json writes NaN for a loss that overflowed) is
    left out like a missing value: its row is tested on its two other runs, not given a NaN p."""
    values = {"": rng.normal(0.9, 0.003, 3)}
    for v in ("a", "b", "c"):
        values[f"model.act={v}"] = rng.normal(0.9, 0.003, 3)
    values["model.act=c"][1] = float("nan")
    table = build_table(collect(ofat_sweep(tmp_path / "s", values, seeds=[0, 1, 2])))
    rows = {r.value: r for r in table.rows}
    assert rows["c"].summary.n == 2 and math.isfinite(rows["c"].summary.mean)
    assert all(math.isfinite(r.comparison.p_value) for r in table.rows if r.comparison is not None)
