"""Sweep report on a synthetic sweep directory: grouping, mean/std, statuses, files, CLI."""
import csv
import json
import subprocess
import sys
from statistics import stdev

import pytest
from scipy import stats as scipy_stats

from ablab.report.__main__ import main
from ablab.report.collect import collect
from ablab.report.table import build_table

COMMON = "trainer.max_epochs=3"
METRICS = ("acc", "precision_micro", "precision_macro", "recall_micro", "recall_macro",
           "f1_micro", "f1_macro")


def job(sweep, num, overrides, status="completed", acc=None, error=None, results=True):
    """A job dir as Hydra and run.py leave it; results=False: still running, nothing written."""
    d = sweep / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if not results:
        return
    split = {m: acc for m in METRICS} | {"loss": None if acc is None else 1 - acc, "per_class_acc": []}
    (d / "results.json").write_text(json.dumps({
        "status": status, "error": error, "overrides": overrides, "seed": 1, "epochs": 3,
        "best_epoch": 2, "wall_s": 10.0 + num, "train_images_per_s": 1000.0, "params": 10,
        "val": split, "test": split}))


@pytest.fixture
def sweep(tmp_path):
    s = tmp_path / "multirun" / "2026-01-01" / "12-00-00"
    for i, acc in enumerate([0.90, 0.92, 0.94]):
        job(s, i, [COMMON, f"seed={i}"], acc=acc)
    job(s, 3, [COMMON, "optimizer=adam", "seed=0"], acc=0.95)
    job(s, 4, [COMMON, "optimizer=adam", "seed=1"], acc=0.97)
    job(s, 5, [COMMON, "optimizer=adam", "seed=2"], status="failed", error="boom\ntraceback")
    job(s, 6, [COMMON, "optimizer=rmsprop", "seed=0"], status="diverged", error="loss is nan")
    job(s, 7, [COMMON, "dropout=0.5", "seed=0"], results=False)
    job(s, 8, [COMMON, "dropout=0.1", "seed=0"], status="running")
    job(s, 9, [COMMON, "dropout=0.2", "seed=0"], acc=0.91)
    job(s, 10, [COMMON, "dropout=0.3", "seed=0"], acc=0.99)
    return s


def test_rows_merge_seeds_and_group_by_factor(sweep):
    table = build_table(collect(sweep))
    assert table.common == [COMMON]
    assert [(r.factor, r.value) for r in table.rows] == [
        ("baseline", "—"), ("optimizer", "adam"), ("optimizer", "rmsprop"),
        ("dropout", "0.5"), ("dropout", "0.1"), ("dropout", "0.2"), ("dropout", "0.3")]
    base, adam, rmsprop, d05, d01, d02, d03 = table.rows
    acc = base.stat("test.acc")
    assert (acc.n, acc.mean, acc.std) == (3, pytest.approx(0.92), pytest.approx(stdev([0.90, 0.92, 0.94])))
    assert adam.stat("test.acc").mean == pytest.approx(0.96) and len(adam.runs) == 3
    assert adam.statuses() == {"completed": 2, "failed": 1}
    assert rmsprop.stat("test.acc").mean is None and rmsprop.statuses() == {"diverged": 1}
    assert d05.statuses() == {"running": 1} and d01.statuses() == {"running": 1}
    assert base.stat("wall_s").mean == pytest.approx(11.0)
    # adam ran seeds 0 and 1 of the baseline's 0, 1, 2: paired on those two (+0.05 each time);
    # dropout=0.3's +0.07 is one run: no ★. Jobs without a finished result get no verdict.
    assert [r.verdict for r in table.rows] == ["reference", "better", "", "", "", "single run", "single run"]
    assert adam.comparison.test == "paired t" and adam.comparison.delta == pytest.approx(0.05)
    assert [r.value for r in table.rows if r.best] == ["adam"]
    # With other seeds than the baseline's, the test is Welch's.
    welch = scipy_stats.ttest_ind([0.95, 0.97], [0.90, 0.92, 0.94], equal_var=False)
    from ablab.report.stats import compare
    c = compare([(("5", None), 0.95), (("6", None), 0.97)], [((str(s), None), v) for s, v in enumerate([0.90, 0.92, 0.94])])
    assert c.test == "Welch t" and c.p_value == pytest.approx(welch.pvalue) and c.verdict == "undecided"


def test_a_single_run_is_never_starred_in_either_mode(sweep):
    for metric, mode in [("test.acc", "max"), ("test.loss", "min")]:
        table = build_table(collect(sweep), metric=metric, mode=mode)
        d03 = next(r for r in table.rows if r.value == "0.3")  # the best mean by far, one run
        assert d03.verdict == "single run" and not d03.best
        assert d03.comparison.delta == pytest.approx(0.07 if mode == "max" else -0.07)


def test_greedy_and_grid_sweeps_are_named_sensibly(tmp_path):
    job(tmp_path / "g", 0, [], acc=0.9)
    job(tmp_path / "g", 1, ["optimizer=adam"], acc=0.95)
    job(tmp_path / "g", 2, ["optimizer=adam", "dropout=0.1"], acc=0.97)
    rows = build_table(collect(tmp_path / "g")).rows
    assert [(r.factor, r.value, r.verdict) for r in rows] == [
        ("baseline", "—", "reference"), ("optimizer", "adam", "single run"),
        ("dropout (with optimizer=adam)", "0.1", "single run")]
    assert rows[2].reference is rows[1]  # the carried winner is the next factor's reference
    grid = [(o, s) for o in ("optimizer=sgd", "optimizer=adam") for s in ("scheduler=step", "scheduler=cos")]
    for i, (o, s) in enumerate(grid):
        job(tmp_path / "grid", i, [o, s], acc=0.8 + i / 100)
    rows = build_table(collect(tmp_path / "grid")).rows
    assert {r.factor for r in rows} == {"optimizer, scheduler"} and len(rows) == 4
    # No defaults known (no multirun.yaml): the row with every key at its first listed value is the
    # reference, named so, and every other row is compared with it.
    assert [r.verdict for r in rows] == ["reference"] + ["single run"] * 3
    assert rows[0].name == "optimizer=sgd scheduler=step (first listed)"
    assert all(r.reference is rows[0] for r in rows[1:])
    main([str(tmp_path / "grid")])
    text = (tmp_path / "grid" / "report.md").read_text()
    assert "(first listed)" in text and "over 0 comparisons" not in text


def test_cli_writes_md_csv_png_and_prints_the_table(sweep, capsys):
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    md = (sweep / "report.md").read_text()
    assert "| baseline | (baseline) | 3 | 3 completed | 92.00 ± 2.00 |" in md  # rates in points
    assert md.split("## Verdicts")[1].count("★") == 2  # adam, in both tables
    assert "2 completed, 1 failed" in md and "1 diverged" in md
    assert "`5` optimizer=adam — failed: boom" in md and "`7` dropout=0.5 — running" in md
    assert "`trainer.max_epochs=3`" in md and "| baseline |" in out
    rows = list(csv.DictReader(open(sweep / "report.csv")))
    assert rows[0]["factor"] == "baseline" and float(rows[0]["test.acc_mean"]) == pytest.approx(0.92)
    assert rows[1]["failed"] == "1" and rows[1]["best"] == "1" and rows[1]["verdict"] == "better" and rows[2]["test.acc_mean"] == ""
    assert (sweep / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main([str(tmp_path)]) == 2
    assert "no jobs" in capsys.readouterr().err


def test_module_entry_point(sweep):
    proc = subprocess.run([sys.executable, "-m", "ablab.report", str(sweep / "nope")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("ablab: error: no such sweep directory")


def test_report_md_is_titled_by_its_command_links_relatively_and_drops_equal_columns(sweep):
    """A report a person can paste: the sweep's command as its title (no absolute path inside),
    figures linked relative to the sweep directory, and the micro metrics (equal to accuracy for
    one label per image) left out of the all-metrics table and named once."""
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    hydra:\n    - hydra.sweep.dir=" + str(sweep) + "\n"
        "    task:\n    - trainer.max_epochs=3\n    - optimizer=adam,rmsprop\n    - seed=0,1,2\n"
        "    - data.root=/somewhere/far/mnist\n"
        "  runtime:\n    choices:\n      optimizer: sgd\n      data: mnist\n")
    assert main([str(sweep)]) == 0
    md = (sweep / "report.md").read_text()
    assert md.splitlines()[0] == ("# Sweep report: mnist: `train.py -m trainer.max_epochs=3 optimizer=adam,rmsprop "
                                  "seed=0,1,2 data.root=…/mnist` (sweep 12-00-00)")  # the dataset named, no path
    assert str(sweep) not in md and str(sweep.parent) not in md and "/somewhere" not in md
    assert "![forest plot](report.png)" in md
    table = md.split("## All metrics")[1].split("\n\n")[1]
    head = table.splitlines()[0]
    assert "test accuracy" in head and "micro" not in head  # spelt out
    dropped = md.split("Not shown, equal in every row to the column named: ")[1].splitlines()[0]
    assert "test micro precision (= test accuracy)" in dropped and "test micro F1 (= test accuracy)" in dropped
    # One unit: rates in points, said once; only the explanations that apply (no folds, no pooled rows).
    assert "are in **points** throughout" in md and "Nadeau" not in md and "pooled t" not in md
    assert "single run**: a row" in md  # dropout's rows ran once
    # report.html: the same report, self-contained (figures embedded, nothing fetched).
    page = (sweep / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "@media print" in page
    assert "data:image/png;base64," in page and 'src="report.png"' not in page and "http" not in page
