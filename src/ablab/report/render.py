"""Write a sweep `Table` as markdown (report.md, the terminal) and CSV (report.csv).

report.md: what the verdicts rest on, one plain sentence per factor, the verdict table of
the ranking metric (mean, CI, difference to the reference, raw and adjusted p-value, test,
verdict), the factor ranking by the same tests, the forest plot, the curve figures, then
every metric's mean ± std. The statistics' wording lives next to them here, so the page
says exactly what was computed.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ablab.report.ranking import rank_factors, value_in
from ablab.report.sequential import GAMMA
from ablab.report.stats import POWER, SEEDS_FORMULA, metric_range, pooled_std, seeds_needed, too_few
from ablab.report.table import BASELINE, REPEAT_KEYS, STATUSES, Row, Stat, Table

# Rates and losses need four places to tell close runs apart; counts and seconds do not.
_PLACES = {"epochs": 1, "wall_s": 1}
BASELINE_LABEL = "(baseline)"
MAX_SEEDS = 10  # the seed advice's cap without seed=auto: the OFAT sweeper's default max_seeds


def portable(override: str) -> str:
    """An override as a report shows it, without where this machine keeps things: an absolute
    path is shown relative to the working directory when under it, else by its last part
    (`data.root=…/mnist`), so the report can be handed on."""
    key, sep, value = override.partition("=")
    if not sep or not value.startswith("/"):
        return override
    path = Path(value)
    try:
        return f"{key}={path.relative_to(Path.cwd())}"
    except ValueError:
        return f"{key}=…/{path.name}"


def is_rate(metric: str) -> bool:
    """Rates (accuracy, precision, recall, F1) are shown in points (0.01); losses, epochs,
    seconds and counts in their own units."""
    name = metric.rsplit(".", 1)[-1]
    return not any(w in name for w in ("loss", "wall", "epoch", "param", "images"))


def in_unit(metric: str, x: Optional[float], sign: bool = False) -> str:
    """A value of `metric` as the report shows it: 91.10 (points) for a rate of 0.9110."""
    if x is None:
        return "—"
    scale, places = (100.0, 2) if is_rate(metric) else (1.0, _PLACES.get(metric, 4))
    text = f"{scale * x:+.{places}f}" if sign else f"{scale * x:.{places}f}"
    return text.replace("-", "−")


def _fmt(metric: str, stat: Stat) -> str:
    if stat.mean is None:
        return "—"
    text = in_unit(metric, stat.mean)
    return text if stat.std is None else f"{text} ± {in_unit(metric, stat.std)}"


def _statuses(counts: Counter) -> str:
    order = [s for s in STATUSES if s in counts] + sorted(set(counts) - set(STATUSES))
    return ", ".join(f"{counts[s]} {s}" for s in order)


def _cells(row: Row, columns: list[tuple[str, str]]) -> list[str]:
    name = row.name or row.value
    value = f"**{name}** ★" if row.best else name
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
    head = ["factor", "configuration", "runs", "status"] + [title for _, title in columns]
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


def _p(p: Optional[float]) -> str:
    return "—" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def in_points(table: Table) -> bool:
    """Rates (accuracy, F1, ...) are read in points (0.01); losses and counts in their own units."""
    return metric_range(table.metric) is not None


def _pt(table: Table, x: float, sign: bool = True) -> str:
    """A difference as people read it: +0.2 (points) for rates, +0.0021 for a loss."""
    if in_points(table):
        text = f"{100 * x:+.2f}" if sign else f"{100 * x:.2f}"
    else:
        text = f"{x:+.4f}" if sign else f"{x:.4f}"
    return text.replace("-", "−")


def metric_words(table: Table) -> str:
    return table.metric.replace(".", " ").replace("_", " ")


def correction_words(table: Table) -> str:
    family = table.family
    rule = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no correction"}[table.correction]
    words = f"{rule} over {family} comparison{'' if family == 1 else 's'}" if table.correction != "none" else rule
    if family == 0 and table.correction != "none":
        words = f"{rule}, no comparison testable yet (single runs)"
    if table.looks > 1:
        words += f", α spent over {table.looks} looks"
    return words


def stopped(table: Table, row: Row) -> str:
    """seed=auto: why the row has the seeds it has."""
    if table.auto is None:
        return ""
    n, top = row.seeds(table.metric), int(table.auto.get("max_seeds", 0))
    if row.comparison is not None and row.verdict in ("better", "worse", "equivalent"):
        return f"decided ({row.verdict})"
    if row.comparison is not None and row.verdict == "undecided":
        return "max_seeds reached" if n >= top else "stopped early (sweep not finished)"
    if row.is_reference:
        return "reference: pairs with its rows' seeds"
    return ""


def seed_cap(table: Table) -> int:
    return int(table.seeds[1]) if table.seeds else MAX_SEEDS


def advised_seeds(table: Table, power: "Power" = None) -> tuple[int, float, bool]:
    """(seeds per configuration to detect δ at 80% power, the σ it assumed, whether σ was observed);
    capped at one more than the cap (seed_cap): that many means "more than this setup can give"."""
    power = power or Power(table.min_effect or 0.005)
    observed = pooled_std([[v for _, v in r.keyed(table.metric)] for r in table.rows])
    sigma = observed if observed else power.assumed_std
    n = seeds_needed(sigma, power.min_effect, table.levels[-1], POWER, cap=seed_cap(table))
    return n, sigma, bool(observed)


def verdict_words(table: Table, row: Row) -> str:
    """The verdict cell: a row too small to decide says so, and what would decide it."""
    c = row.comparison
    if c is None or not too_few(c, table.family):
        return row.verdict or "—"
    n, _, _ = advised_seeds(table)
    cap = seed_cap(table)
    runs = min(row.summary.n, row.reference.summary.n) if row.reference else row.summary.n
    if n > cap:
        return (f"undecided: {runs} runs, too few to decide; δ is below this setup's noise even at {cap} seeds "
                "(see the note under the table)")
    return f"undecided: {runs} runs, too few to decide; seed=auto or ≥ {n} seeds would"


def verdict_table(table: Table) -> str:
    level = f"{100 * (1 - table.alpha):g}%"
    extra = [c for c in ("test.acc",) if c != table.metric and any(r.stat(c).mean is not None for r in table.rows)]
    auto = table.auto is not None
    head = ["factor", "configuration", "n", "mean ± std", f"{level} CI", "Δ vs reference [CI]", "p", "p adj.",
            "test", "verdict"] + (["seeds", "why it stopped"] if auto else []) + [
        f"{c} (test data, not used to decide)" for c in extra]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---", "---"]
                            + (["---:", "---"] if auto else []) + ["---:"] * len(extra)) + "|"]
    m = table.metric
    for row in table.rows:
        s, c = row.summary, row.comparison
        mean = in_unit(m, s.mean) + ("" if s.std is None else f" ± {in_unit(m, s.std)}")
        ci = "—" if s.ci_low is None else f"[{in_unit(m, s.ci_low)}, {in_unit(m, s.ci_high)}]"
        short = c is not None and too_few(c, table.family)
        delta = "—" if c is None or c.delta is None else in_unit(m, c.delta, sign=True) + (
            "" if c.ci_low is None or short else f" [{in_unit(m, c.ci_low, sign=True)}, {in_unit(m, c.ci_high, sign=True)}]")
        name = row.name or row.value
        test, p = (c.test if c else None) or "—", _p(c.p_value if c else None)
        if row.mcnemar is not None:
            mc = row.mcnemar
            test = f"McNemar exact, {mc.examples} examples (test-set noise only; seed noise unknown)"
            p = _p(mc.p_value)
        cells = [row.factor, f"**{name}** ★" if row.best else name, str(s.n), mean, ci, delta,
                 p, _p(c.p_adjusted if c else None), test, verdict_words(table, row)]
        if auto:
            cells += [str(row.seeds(table.metric)), stopped(table, row) or "—"]
        cells += [_fmt(x, row.stat(x)) for x in extra]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)


def _method(table: Table) -> list[str]:
    """What the verdicts rest on: only the tests, references and verdicts this sweep has."""
    level = f"{100 * (1 - table.alpha):g}%"
    delta = table.min_effect
    d = "—" if not delta else f"±{_pt(table, delta, sign=False)}{' points' if in_points(table) else ''}"
    tests = " ".join(r.comparison.test or "" for r in table.rows if r.comparison is not None)
    folds = any(r.folds(table.metric) > 1 for r in table.rows)
    verdicts = {r.verdict for r in table.rows}
    few = any("too few" in verdict_words(table, r) for r in table.rows if r.comparison is not None)
    refs = {"(first listed)" if r.reference.first_listed else r.reference.factor
            for r in table.rows if r.reference is not None}
    kinds = (["the baseline"] if BASELINE in refs else []) + (
        ["the first value listed, named *(first listed)*"] if "(first listed)" in refs else []) + (
        ["the greedy winner it was run on, or the default value of a grid"] if refs - {BASELINE, "(first listed)"} else [])
    how = ["Δ: mean minus the reference row's mean (" + ", or ".join(kinds or ["its reference"]) + ")"]
    if "pooled" in tests:
        how.append("test: rows that ran the same seeds share one noise estimate, **pooled t** (a randomized "
                   "complete block design, seed as block: y = row + seed + noise, one residual variance with "
                   "(k − 1)(n − 1) degrees of freedom for k rows × n seeds; Δ's variance 2σ²/n)")
    if "own variance" in tests:
        how.append("a row whose own paired differences vary more than that noise allows (F test against the "
                   "other rows' pooled variance, p < 0.2) keeps its own **paired t (own variance)**")
    if "paired t" in tests.replace("paired t (own variance)", ""):
        how.append("two rows alone: **paired t** over the seeds they share")
    if "Welch" in tests:
        how.append("rows with different seeds: **Welch's t-test**")
    if folds:
        how.append("the repeats are folds of a k-fold split, so the **corrected resampled** form (Nadeau & Bengio "
                   "2003: variance scaled by 1/n + n_val/n_train instead of 1/n, n = seeds × folds), since the "
                   "folds' training sets overlap")
    if is_rate(table.metric):
        how.append("intervals of a rate are bounded to what it can take (a mean to [0, 100] points, a difference "
                   "to [−100, +100]: cut at the bound, which never excludes the true value)")
    verdict_text = (f"smallest effect of interest δ = {d} (`--min-effect`). Verdicts: ★ **better** / **worse**: "
                    "significant after correction and not inside ±δ; **equivalent**: both one-sided tests against ±δ "
                    "(TOST) reject after the same correction, i.e. the difference lies inside ±δ (it may still be "
                    "significant, but it is negligible); **undecided**: neither, more runs could decide")
    if "single run" in verdicts:
        verdict_text += ("; **single run**: a row or its reference has one run, no seed noise to test against (when "
                         "both runs stored their predictions, McNemar's exact test on the examples they share says "
                         "whether the gap exceeds what these examples alone would give: test-set noise only)")
    if few:
        verdict_text += ("; **undecided: n runs, too few to decide**: at its level the t critical value is more than "
                         "twice the normal one, so its interval would only say that this many runs cannot tell")
    lines = [
        f"verdict metric `{table.metric}` ({table.mode}), the sweep's selection metric; test metrics are shown "
        f"beside it and never decide; mean ± sample std over completed runs; {level} confidence interval of "
        "the mean from Student's t (n − 1 degrees of freedom)",
        "; ".join(how),
        f"**{correction_words(table)}**: the p-values of all rows compared here are adjusted together "
        + {"holm": f"(Holm's step-down, family-wise error rate ≤ α = {table.alpha:g})",
           "bh": f"(Benjamini-Hochberg, false discovery rate ≤ α = {table.alpha:g})",
           "none": f"(each comparison at α = {table.alpha:g}; with many rows some false calls are expected)"}[
            table.correction]
        + "; `p` is raw, `p adj.` adjusted; the Δ interval is at the level the correction leaves each row, "
          "so it excludes 0 exactly when `p adj.` < α",
        verdict_text,
    ]
    if not any(r.reference is not None for r in table.rows):  # nothing was compared: say why, not "over 0"
        lines[2] = ("**no comparisons**: no factor here has two values to compare (every configuration differs "
                    "from the others in more than one way, or the sweep ran one configuration): sweep a factor's "
                    "values, or one factor at a time (`hydra/sweeper=ofat`), whose baseline is every row's reference")
    if table.seeds and table.looks > 1:
        first, last = table.levels[0], table.levels[-1]
        lines.append(
            f"`seed=auto` (min_seeds {table.seeds[0]}, max_seeds {table.seeds[1]}): seeds were added only to rows "
            f"with an undecided comparison (and their reference), looking at the data up to {table.looks} times; "
            f"look m tests at its share of α from an α-spending function (Hwang–Shih–DeCani, γ = {GAMMA:g}, of "
            f"the fraction seeds/max_seeds: {first:.4g} at the first look, {last:.4g} at the last, {table.alpha:g} "
            "in all), and a comparison once decided keeps its verdict")
    return lines


def _seed_note(table: Table, power: Power) -> list[str]:
    """How many seeds would tell a difference of min_effect from noise, when the sweep could not."""
    verdicts = {r.verdict for r in table.rows}
    if not verdicts & {"single run", "undecided"}:
        return []
    n, sigma, observed = advised_seeds(table, power)
    cap = seed_cap(table)
    level = table.levels[-1]
    source = ("the pooled within-configuration std observed in this sweep" if observed else
              "an assumed seed-to-seed std (no configuration here ran twice; set `--assumed-std`)")
    why = ("Rows marked *single run* get no verdict from seeds: with one run per configuration seed noise "
           "cannot be measured, so any difference may be noise. " if "single run" in verdicts else "")
    unit = " points" if in_points(table) else ""
    if n > cap:
        return ["", f"{why}δ = {_pt(table, power.min_effect, sign=False)}{unit} "
                f"is below this setup's noise: at σ = {_pt(table, sigma, sign=False)}{unit} ({source}) even {cap} seeds per configuration "
                f"would detect it with less than {POWER:.0%} power ({SEEDS_FORMULA} at α = {level:.4g}). What "
                "would help: less noise per run (a larger validation split, more epochs or a schedule that "
                "settles, a larger batch of evaluation data), or a larger δ (`--min-effect`) if smaller "
                "differences do not matter to you."]
    return ["", f"{why}To detect a difference of δ = {_pt(table, power.min_effect, sign=False)}{unit} (`--min-effect "
            f"{100 * power.min_effect:g}`) with {POWER:.0%} power at α = "
            f"{level:.4g}, about **{n} seeds per configuration** would do: {SEEDS_FORMULA} with σ = "
            f"{_pt(table, sigma, sign=False)}{unit}, {source} (two-sample normal approximation, before the correction over "
            "comparisons). Or let ablab decide: rerun the sweep with `seed=auto`, which adds seeds only where "
            "a verdict is still undecided."]


def spread_note(table: Table) -> list[str]:
    """How much of the seed-to-seed spread the finite evaluation set explains (report/evidence.py)."""
    from ablab.report.evidence import spread

    got = spread(table.rows, table.metric)
    if got is None or got.observed <= 0:
        return []
    split = {"val": "validation", "test": "test"}[table.metric.split(".", 1)[0]]
    how = ("per-example error rates over each configuration's runs (Jordan 2024: Σ pᵢ(1 − pᵢ)/n²)" if got.shared
           else f"the binomial acc(1 − acc)/n, the runs' {split} examples being drawn per seed (an upper "
                "estimate: a stratified draw varies less)")
    share = got.share
    ratio = got.finite_set / got.observed
    if ratio > 1:  # more than observed: the spread is all finite-set noise (or k runs happened to agree)
        return ["", f"Seed-to-seed spread of {table.metric}: observed std {100 * got.observed ** 0.5:.2f} points; "
                f"the finite {split} set of {got.examples} examples alone predicts {100 * got.finite_set ** 0.5:.2f} "
                f"points, from {how}: no spread is left for training to explain. So a larger {split} split, not "
                "more seeds, is what narrows each run."]
    if share >= 0.7:
        advice = (f"most of the spread is the finite {split} set: a larger {split} split narrows every run; "
                  "more seeds narrow the means only as 1/√n")
    elif share <= 0.3:
        advice = "most of the spread comes from training (weights, data order): more seeds, or `seed=auto`, help"
    else:
        advice = (f"both matter: more seeds narrow the training part, a larger {split} split the rest")
    return ["", f"Seed-to-seed spread of {table.metric}: observed std {100 * got.observed ** 0.5:.2f} points; "
            f"the finite {split} set of {got.examples} examples alone predicts {100 * got.finite_set ** 0.5:.2f} "
            f"points ({share:.0%} of the variance), from {how}. So {advice}."]


def ranking_table(table: Table) -> list[str]:
    effects = rank_factors(table)
    if not effects:
        return []
    unit = " (points)" if in_points(table) else ""
    lines = ["", "## Which factor matters most", "",
             "By the same tests as the verdicts: each factor's largest difference that is significant after "
             "the correction, with its interval. Factors without one follow, their largest observed "
             "difference shown but not counted as an effect.", "",
             f"| rank | factor | largest difference{unit} [CI] | value | verdicts |",
             "|---:|---|---:|---|---|"]
    for i, e in enumerate(effects, 1):
        c = e.row.comparison
        ci = "" if c.ci_low is None or too_few(c, table.family) else f" [{_pt(table, c.ci_low)}, {_pt(table, c.ci_high)}]"
        diff = f"{_pt(table, c.delta)}{ci}" if e.significant else f"none beyond noise (largest {_pt(table, c.delta)}{ci})"
        counts = ", ".join(f"{n} {v}" for v, n in e.verdicts.items())
        cells = [str(i) if e.significant else "—", e.factor, diff, e.row.name or e.row.value, counts]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return lines


def _how(table: Table, rows: list[Row]) -> str:
    """'paired t over 5 seeds' / 'corrected resampled t (paired) over 2 seeds × 4 folds'."""
    tests = list(dict.fromkeys(r.comparison.test for r in rows if r.comparison and r.comparison.test))
    if not tests:
        return ""
    n_seeds = sorted({r.seeds(table.metric) for r in rows})
    n_folds = max(r.folds(table.metric) for r in rows)
    seeds = f"{n_seeds[0]}" if len(n_seeds) == 1 else f"{n_seeds[0]}–{n_seeds[-1]}"
    over = f"{seeds} seed{'' if seeds == '1' else 's'}" + (f" × {n_folds} folds" if n_folds > 1 else "")
    return f"{' / '.join(tests)} over {over}; {correction_words(table)}"


def sentences(table: Table) -> list[str]:
    """One sentence per factor, in plain words, that can be pasted into a paper or a chat."""
    out = []
    unit = " points" if in_points(table) else ""
    words = metric_words(table)
    margin = "" if not table.min_effect else f"±{_pt(table, table.min_effect, sign=False)}"
    for factor in table.factors():
        rows = [r for r in table.rows if r.factor == factor and r.comparison is not None
                and r.comparison.delta is not None and r.reference is not None]
        if not rows:
            continue
        clauses = []
        for r in rows:
            c = r.comparison
            ci = "" if c.ci_low is None or too_few(c, table.family) else f" [{_pt(table, c.ci_low)}, {_pt(table, c.ci_high)}]"
            verdict = "undecided (too few runs to decide)" if too_few(c, table.family) else {"equivalent": f"equivalent within {margin}" + (
                           ", a real but negligible difference" if c.significant else ""),
                       "undecided": "undecided (more runs could decide)",
                       "single run": "a single run, not tested" if r.mcnemar is None else
                       f"a single run (McNemar p = {_p(r.mcnemar.p_value)}, test-set noise only)"}.get(
                           r.verdict, r.verdict)
            clauses.append(f"{r.value}: {_pt(table, c.delta)}{unit} {words}{ci}, {verdict}")
        ref = rows[0].reference
        if ref.factor == BASELINE:  # the baseline by its value of this factor, where the defaults know it
            value = value_in(ref.name or "", rows[0].key or factor)
            ref_name = f"{rows[0].key or factor}={value} (the baseline)" if value else "the baseline"
        else:
            ref_name = ref.name
        how = _how(table, rows)
        out.append(f"- **{factor}**: replacing {ref_name} with " + "; with ".join(clauses)
                   + (f" ({how})." if how else "."))
    return out


def markdown(table: Table, title: str, power: Power = Power(),
             figures: Optional[dict[str, str]] = None, forest: Optional[str] = None) -> str:
    """`figures`: factor -> curve PNG file name (in the sweep dir), embedded under "Curves";
    `forest`: the forest plot (report.png), embedded after the verdicts. Links are relative
    to the sweep directory, so the folder can be moved or zipped with its report."""
    runs = [run for row in table.rows for run in row.runs]
    total = Counter(run.status for run in runs)
    repeated = [k for k in REPEAT_KEYS if any(o.split("=", 1)[0] == k for run in runs for o in run.overrides)]
    facts = [f"{len(runs)} jobs: {_statuses(total)}"]
    if repeated:
        facts.append("runs merged across " + ", ".join(f"`{k}=`" for k in repeated))
    if is_rate(table.metric):
        facts.append("rates (accuracy, precision, recall, F1) are in **points** throughout: 1 point = 0.01 of the "
                     "rate, so an accuracy of 0.9110 reads 91.10; losses, epochs and seconds in their own units")
    facts += _method(table)
    if table.common:
        facts.insert(1, "every job: " + " ".join(f"`{portable(o)}`" for o in table.common))
    said = sentences(table)
    parts = [f"# Sweep report: {title}", "", "\n".join(f"- {f}" for f in facts), ""]
    if said:
        parts += ["## In plain words", "", *said, ""]
    parts += [f"## Verdicts ({table.metric})", "", verdict_table(table), *_seed_note(table, power), *spread_note(table),
              *ranking_table(table)]
    if forest:
        parts += ["", "## Differences to the reference", "",
                  "Each row's Δ with its interval (thin: the difference test's; thick: the equivalence "
                  "test's), a line at 0 and the band ±δ, coloured by verdict.", "", f"![forest plot]({forest})", "",
                  f"*{table.metric}: each configuration's difference to its reference, coloured by verdict.*"]
    if figures:
        over = "seeds and folds" if any(r.folds(table.metric) > 1 for r in table.rows) else "seeds"
        parts += ["", "## Curves", "", f"Mean over {over} per epoch (from each run's `history`), "
                  "shaded from the lowest to the highest run; each line named by its value."]
        for factor, name in figures.items():
            parts += ["", f"### {factor}", "", f"![{factor}]({name})", "",
                      f"*{factor}: loss and accuracy per epoch (counted from 1), one line per value.*"]
    columns, same = distinct_columns(table)
    parts += ["", "## All metrics", "", markdown_table(table, columns)]
    if any("macro" in t for _, t in columns):
        parts += ["", "Macro precision, recall and F1: each class's own, averaged over the classes with equal "
                  "weight; mean ± sample std over the configuration's completed runs."]
    if same:
        parts += ["", "Not shown, equal in every row to the column named: " + ", ".join(
            f"{t} (= {twin})" for t, twin in same) + ". Micro-averaged precision, recall and F1 equal "
                  "accuracy when each image has one label."]
    unfinished = [(row, run) for row in table.rows for run in row.runs if run.status != "completed"]
    if unfinished:
        parts += ["", "## Not completed", ""]
        for row, run in unfinished:
            why = f": {str(run.error).splitlines()[0]}" if run.error else ""
            label = run.results.get("name") or row.name or " ".join(row.overrides) or BASELINE_LABEL  # as TensorBoard
            parts.append(f"- `{run.path.name}` {label} — {run.status}{why}")
    return "\n".join(parts) + "\n"



def write_csv(table: Table, path: Path) -> None:
    columns = ["factor", "value", "overrides", "runs", *STATUSES, "other", "best"]
    for metric, _ in table.columns():
        columns += [f"{metric}_mean", f"{metric}_std"]
    # The ranking metric's statistics (report/stats.py), under plain names.
    columns += ["n", "mean", "std", "ci_low", "ci_high", "delta", "delta_ci_low", "delta_ci_high",
                "p_value", "verdict", "name", "p_adjusted", "p_equivalence", "p_equivalence_adjusted",
                "equiv_ci_low", "equiv_ci_high", "test", "correction", "family", "alpha_look", "min_effect",
                "seeds", "folds", "stopped", "mcnemar_p"]
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
            line += [row.verdict, row.name]
            line += [_blank(getattr(c, k, None)) for k in ("p_adjusted", "p_equivalence", "p_equivalence_adjusted",
                                                            "equiv_low", "equiv_high")]
            line += [(c.test if c else None) or "", table.correction, table.family,
                     _blank(c.look_level if c is not None and c.p_value is not None else None),
                     _blank(table.min_effect), row.seeds(table.metric), row.folds(table.metric), stopped(table, row),
                     _blank(row.mcnemar.p_value if row.mcnemar is not None else None)]
            out.writerow(line)


def _blank(x: Optional[float]):
    return "" if x is None else x
