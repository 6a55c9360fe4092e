"""Write a sweep `Table` as markdown (report.md, the terminal) and CSV (report.csv).

report.md: the verdict table of the ranking metric (mean, CI, difference to the reference,
p-value, verdict), what the verdicts rest on, the factor ranking, the curve figures, then
every metric's mean ± std. The statistics' wording lives next to them here, so the page
says exactly what was computed.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ablab.report.ranking import label, rank_factors
from ablab.report.stats import POWER, SEEDS_FORMULA, pooled_std, seeds_needed
from ablab.report.table import REPEAT_KEYS, STATUSES, Row, Stat, Table

# Rates and losses need four places to tell close runs apart; counts and seconds do not.
_PLACES = {"epochs": 1, "wall_s": 1}
BASELINE_LABEL = "(baseline)"


def _fmt(metric: str, stat: Stat) -> str:
    if stat.mean is None:
        return "—"
    places = _PLACES.get(metric, 4)
    text = f"{stat.mean:.{places}f}"
    return text if stat.std is None else f"{text} ± {stat.std:.{places}f}"


def _statuses(counts: Counter) -> str:
    order = [s for s in STATUSES if s in counts] + sorted(set(counts) - set(STATUSES))
    return ", ".join(f"{counts[s]} {s}" for s in order)


def _cells(row: Row, columns: list[tuple[str, str]]) -> list[str]:
    value = f"**{row.value}** ★" if row.best else row.value
    return [row.factor, value, str(len(row.runs)), _statuses(row.statuses())] + [
        _fmt(m, row.stat(m)) for m, _ in columns]


def distinct_columns(table: Table) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The all-metrics columns without those equal to an earlier column in every row (micro
    precision, recall and F1 equal accuracy for one label per image), and those left out with
    the column each equals."""
    kept, same = [], []
    for metric, title in table.columns():
        means = [table_row.stat(metric).mean for table_row in table.rows]
        twin = next((t for m, t in kept if _same(means, [r.stat(m).mean for r in table.rows])), None)
        if twin is not None:
            same.append((title, twin))
        else:
            kept.append((metric, title))
    return kept, same


def _same(a: list, b: list) -> bool:
    return any(x is not None for x in a) and all(
        (x is None and y is None) or (x is not None and y is not None and abs(x - y) <= 1e-9) for x, y in zip(a, b))


def markdown_table(table: Table, columns: Optional[list[tuple[str, str]]] = None) -> str:
    columns = table.columns() if columns is None else columns
    head = ["factor", "value", "runs", "status"] + [title for _, title in columns]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---", "---", "---:", "---"] + ["---:"] * len(columns)) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(r, columns)) + " |"
              for r in table.rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class Power:
    """What the seed-count estimate assumes: effect to detect and noise, in metric units."""
    min_effect: float = 0.005  # 0.5 accuracy points
    assumed_std: float = 0.005  # used when no configuration ran twice


def _num(x: Optional[float], places: int = 4, sign: bool = False) -> str:
    return "—" if x is None else f"{x:+.{places}f}" if sign else f"{x:.{places}f}"


def _p(p: Optional[float]) -> str:
    return "—" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def verdict_table(table: Table) -> str:
    level = f"{100 * (1 - table.alpha):g}%"
    head = ["factor", "value", "n", "mean ± std", f"{level} CI", f"Δ vs reference [{level} CI]", "p",
            "test", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---:|---:|---:|---:|---|---|"]
    for row in table.rows:
        s, c = row.summary, row.comparison
        mean = _num(s.mean) + ("" if s.std is None else f" ± {s.std:.4f}")
        ci = "—" if s.ci_low is None else f"[{s.ci_low:.4f}, {s.ci_high:.4f}]"
        delta = "—" if c is None or c.delta is None else _num(c.delta, sign=True) + (
            "" if c.ci_low is None else f" [{c.ci_low:+.4f}, {c.ci_high:+.4f}]")
        cells = [row.factor, f"**{row.value}** ★" if row.best else row.value, str(s.n), mean, ci, delta,
                 _p(c.p_value if c else None), (c.test if c else None) or "—", row.verdict or "—"]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)


def _method(table: Table) -> list[str]:
    level = f"{100 * (1 - table.alpha):g}%"
    return [
        f"ranking metric `{table.metric}` ({table.mode}); mean ± sample std over completed runs; "
        f"{level} confidence interval of the mean from Student's t (n − 1 degrees of freedom)",
        "Δ: mean minus the reference row's mean (the baseline, the greedy winner it was run on, or "
        "the default value of a grid), with its interval and p-value from a paired t-test "
        "(scipy.stats.ttest_rel, runs paired by seed and fold) when both rows ran the same seeds/folds, "
        "else Welch's t-test (scipy.stats.ttest_ind, equal_var=False)",
        f"★ **better** / **worse** only when p < α = {table.alpha:g}; otherwise **within noise**; "
        "**single run**: a row or its reference has one run, so there is no noise to test against "
        "and no ★",
    ]


def _seed_note(table: Table, power: Power) -> list[str]:
    """How many seeds would tell a difference of min_effect from noise, when the sweep could not."""
    verdicts = {r.verdict for r in table.rows}
    if not verdicts & {"single run", "within noise"}:
        return []
    observed = pooled_std([[v for _, v in r.keyed(table.metric)] for r in table.rows])
    sigma = observed if observed else power.assumed_std
    n = seeds_needed(sigma, power.min_effect, table.alpha, POWER)
    source = ("the pooled within-configuration std observed in this sweep" if observed else
              "an assumed seed-to-seed std (no configuration here ran twice; set `--assumed-std`)")
    why = ("Rows marked *single run* get no verdict: with one run per configuration seed noise "
           "cannot be measured, so any difference may be noise. " if "single run" in verdicts else "")
    return ["", f"{why}To detect a difference of δ = {power.min_effect:g} (`--min-effect "
            f"{100 * power.min_effect:g}`, in points of 0.01) with {POWER:.0%} power at α = {table.alpha:g}, run "
            f"**{n} seeds per configuration** (`-m seed=0,...,{n - 1}`): {SEEDS_FORMULA} with σ = "
            f"{sigma:.4f}, {source} (two-sample normal approximation)."]


def ranking_table(table: Table) -> list[str]:
    effects = rank_factors(table)
    if not effects:
        return []
    lines = ["", "## Which factor matters most", "",
             "Range of the configuration means (reference included) over their pooled "
             "within-configuration std: how many noise widths apart the best and worst value are.", "",
             "| rank | factor | values | lowest → highest mean | range | noise (pooled std) | range / noise |",
             "|---:|---|---:|---|---:|---:|---:|"]
    for i, e in enumerate(effects, 1):
        span = (f"{label(e.low, e.factor)} ({e.low.summary.mean:.4f}) → "
                f"{label(e.high, e.factor)} ({e.high.summary.mean:.4f})")
        cells = [str(i), e.factor, str(e.values), span, f"{e.range:.4f}", _num(e.noise),
                 "— (no repeats)" if e.ratio is None else f"{e.ratio:.1f}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def markdown(table: Table, title: str, power: Power = Power(),
             figures: Optional[dict[str, str]] = None, plot: Optional[str] = None) -> str:
    """`figures`: factor -> curve PNG file name (in the sweep dir), embedded under "Curves";
    `plot`: the metric's plot (report.png), embedded after the verdicts. Links are relative
    to the sweep directory, so the folder can be moved or zipped with its report."""
    runs = [run for row in table.rows for run in row.runs]
    total = Counter(run.status for run in runs)
    facts = [f"{len(runs)} jobs: {_statuses(total)}",
             "runs merged across " + ", ".join(f"`{k}=`" for k in REPEAT_KEYS), *_method(table)]
    if table.common:
        facts.insert(1, "every job: " + " ".join(f"`{o}`" for o in table.common))
    parts = [f"# Sweep report: {title}", "", "\n".join(f"- {f}" for f in facts), "",
             f"## Verdicts ({table.metric})", "", verdict_table(table), *_seed_note(table, power),
             *ranking_table(table)]
    if plot:
        parts += ["", f"![{table.metric} per configuration]({plot})", "",
                  f"*{table.metric} of every configuration: mean and interval over seeds/folds.*"]
    if figures:
        parts += ["", "## Curves", "", "Mean over seeds/folds per epoch (from each run's `history`), "
                  "shaded from the lowest to the highest run."]
        for factor, name in figures.items():
            parts += ["", f"### {factor}", "", f"![{factor}]({name})", "",
                      f"*{factor}: loss and accuracy per epoch (counted from 1), one line per value.*"]
    columns, same = distinct_columns(table)
    parts += ["", "## All metrics", "", markdown_table(table, columns)]
    if same:
        parts += ["", "Not shown, equal in every row to the column named: " + ", ".join(
            f"{t} (= {twin})" for t, twin in same) + ". Micro-averaged precision, recall and F1 equal "
                  "accuracy when each image has one label."]
    unfinished = [(row, run) for row in table.rows for run in row.runs if run.status != "completed"]
    if unfinished:
        parts += ["", "## Not completed", ""]
        for row, run in unfinished:
            why = f": {str(run.error).splitlines()[0]}" if run.error else ""
            label = run.results.get("name") or " ".join(row.overrides) or BASELINE_LABEL  # as TensorBoard names it
            parts.append(f"- `{run.path.name}` {label} — {run.status}{why}")
    return "\n".join(parts) + "\n"



def write_csv(table: Table, path: Path) -> None:
    columns = ["factor", "value", "overrides", "runs", *STATUSES, "other", "best"]
    for metric, _ in table.columns():
        columns += [f"{metric}_mean", f"{metric}_std"]
    # The ranking metric's statistics (report/stats.py), under plain names.
    columns += ["n", "mean", "std", "ci_low", "ci_high", "delta", "delta_ci_low", "delta_ci_high",
                "p_value", "verdict"]
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(columns)
        for row in table.rows:
            counts = row.statuses()
            other = sum(n for s, n in counts.items() if s not in STATUSES)
            line = [row.factor, row.value, " ".join(row.overrides), len(row.runs),
                    *[counts.get(s, 0) for s in STATUSES], other, int(row.best)]
            for metric, _ in table.columns():
                stat = row.stat(metric)
                line += ["" if stat.mean is None else stat.mean, "" if stat.std is None else stat.std]
            s, c = row.summary, row.comparison
            line += [s.n] + [_blank(x) for x in (s.mean, s.std, s.ci_low, s.ci_high)]
            line += [_blank(getattr(c, k, None)) for k in ("delta", "ci_low", "ci_high", "p_value")]
            out.writerow(line + [row.verdict])


def _blank(x: Optional[float]):
    return "" if x is None else x
