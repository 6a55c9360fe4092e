"""Write a sweep `Table` as markdown (report.md, the terminal) and CSV (report.csv)."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

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


def markdown_table(table: Table) -> str:
    columns = table.columns()
    head = ["factor", "value", "runs", "status"] + [title for _, title in columns]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---", "---", "---:", "---"] + ["---:"] * len(columns)) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(r, columns)) + " |"
              for r in table.rows]
    return "\n".join(lines)


def markdown(table: Table, title: str) -> str:
    runs = [run for row in table.rows for run in row.runs]
    total = Counter(run.status for run in runs)
    facts = [f"{len(runs)} jobs: {_statuses(total)}",
             "runs merged across " + ", ".join(f"`{k}=`" for k in REPEAT_KEYS),
             f"★ best value of a factor by {table.metric} ({table.mode}), when it beats the baseline",
             "mean ± sample std over completed runs"]
    if table.common:
        facts.insert(1, "every job: " + " ".join(f"`{o}`" for o in table.common))
    parts = [f"# Sweep report: {title}", "", "\n".join(f"- {f}" for f in facts), "",
             markdown_table(table)]
    unfinished = [(row, run) for row in table.rows for run in row.runs if run.status != "completed"]
    if unfinished:
        parts += ["", "## Not completed", ""]
        for row, run in unfinished:
            why = f": {str(run.error).splitlines()[0]}" if run.error else ""
            label = " ".join(row.overrides) or BASELINE_LABEL
            parts.append(f"- `{run.path.name}` {label} — {run.status}{why}")
    return "\n".join(parts) + "\n"



def write_csv(table: Table, path: Path) -> None:
    columns = ["factor", "value", "overrides", "runs", *STATUSES, "other", "best"]
    for metric, _ in table.columns():
        columns += [f"{metric}_mean", f"{metric}_std"]
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
            out.writerow(line)
