"""The study's own tables, as its report lays them out, from the stages' results.json.

Three kinds, named by `kind` in a study's `tables:`:
- `rows`: one row per configuration of one or more stages, a column per metric, ★ on
  the configuration each stage chose;
- `greedy`: a greedy stage's steps, one row per factor value, a column per metric and
  stage side by side (e.g. "acc CNN | acc MLP"), ★ on the value each stage chose;
- `final`: one row per metric, a column per stage (the chosen configurations' test).
Every cell is the mean over the configuration's completed runs (± the sample std when
there are several, e.g. folds). Significance is the stages' own reports' business.
"""
from __future__ import annotations

from pathlib import Path
from statistics import fmean, stdev
from typing import Any, Optional

import yaml

from ablab.report.collect import Run, collect
from ablab.report.table import key_of
from ablab.study.plan import configuration as swept
from ablab.study.spec import Stage, Study

CHOSEN = "★"


def metric(run: Run, path: str) -> Optional[float]:
    """A results.json number; `last_epoch.X` is X of the run's last `history` entry (e.g. train_acc)."""
    if path.startswith("last_epoch."):
        history = run.results.get("history") or []
        value = history[-1].get(path.split(".", 1)[1]) if history else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return run.value(path)


def cell(runs: list[Run], path: str) -> str:
    got = [v for r in runs if r.status == "completed" and (v := metric(r, path)) is not None]
    if not got:
        return "—"
    if all(v == int(v) for v in got) and len(got) == 1:
        return str(int(got[0]))  # a count: params, epochs
    # Accuracies and F1 to 4 places, losses and seconds to 3, rates such as images/s whole.
    form = ".4f" if all(0 <= v <= 1 for v in got) else ".3f" if all(abs(v) < 1000 for v in got) else ",.0f"
    return f"{fmean(got):{form}}" + (f" ± {stdev(got):{form}}" if len(got) > 1 else "")


def configurations(stage: Stage, runs: list[Run]) -> list[tuple[str, list[Run]]]:
    """(label, runs) per configuration, in job order; a stage without a sweep is one row."""
    found: dict[frozenset[str], list[Run]] = {}
    for run in runs:
        found.setdefault(swept(stage, run), []).append(run)
    order = [o.split("=", 1)[0] for o in stage.sweep]
    return [(" ".join(sorted(c, key=lambda o: order.index(key_of(o)) if key_of(o) in order else 0))
             or ("baseline" if stage.sweep else stage.name), rs) for c, rs in found.items()]


def _table(head: list[str], rows: list[list[str]], right_from: int) -> list[str]:
    align = ["---"] * right_from + ["---:"] * (len(head) - right_from)
    return ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"] + ["| " + " | ".join(r) + " |" for r in rows]


def rows_table(study: Study, spec: dict[str, Any], out: Path) -> list[str]:
    names, metrics = list(spec["stages"]), dict(spec["metrics"])
    many = len(names) > 1
    head = (["stage"] if many else []) + ["configuration", "n"] + list(metrics)
    rows = []
    for name in names:
        stage = study.stage(name)
        runs = collect(out / name)
        chosen = _chosen(study, stage, out / name, runs)
        for label, group in configurations(stage, runs):
            done = sum(r.status == "completed" for r in group)
            mark = f" {CHOSEN}" if chosen is not None and swept(stage, group[0]) == chosen else ""
            rows.append(([name] if many else []) + [label + mark, str(done)] + [cell(group, p) for p in metrics.values()])
    return _table(head, rows, 2 if many else 1)


def _chosen(study: Study, stage: Stage, stage_dir: Path, runs: list[Run]) -> Optional[frozenset[str]]:
    """The configuration the stage chose (what later stages carry), when it swept anything."""
    from ablab.errors import UserError
    from ablab.study.runner import winner

    if not stage.sweep or not any(r.status == "completed" for r in runs):
        return None
    try:
        return frozenset(winner(study, stage, stage_dir))
    except UserError:
        return None


def greedy_table(study: Study, spec: dict[str, Any], out: Path) -> list[str]:
    """Steps of greedy stages side by side: technique | value | <metric> <stage> ..."""
    labels, metrics = dict(spec["stages"]), dict(spec["metrics"])
    per_stage = {label: _greedy_cells(study.stage(name), out / name, metrics) for label, name in labels.items()}
    keys = list(dict.fromkeys(k for cells in per_stage.values() for k in cells))
    head = ["technique", "value"] + [f"{m} {label}" for m in metrics for label in labels]
    rows = []
    for technique, value in keys:
        row = [technique, value]
        for m in metrics:
            for label in labels:
                got = per_stage[label].get((technique, value))
                row.append("—" if got is None else got[m] + (f" {CHOSEN}" if got["chosen"] else ""))
        rows.append(row)
    return _table(head, rows, 2)


def _greedy_cells(stage: Stage, stage_dir: Path, metrics: dict[str, str]) -> dict[tuple[str, str], dict]:
    """(factor, value) -> cells of its configuration, walking the steps of ofat_best.yaml."""
    path = stage_dir / "ofat_best.yaml"
    if not path.is_file():
        return {}
    best = yaml.safe_load(path.read_text()) or {}
    runs = collect(stage_dir)
    chosen: list[str] = []  # the incumbent's overrides before each step
    found: dict[tuple[str, str], dict] = {}

    def cells(config: list[str]) -> dict:
        match = [r for r in runs if swept(stage, r) == frozenset(config)]
        return {m: cell(match, p) for m, p in metrics.items()}

    found[("baseline", "—")] = {**cells([]), "chosen": False}
    for step in best.get("steps") or []:
        factor, winner = step["factor"], step["winner"]
        for value in step.get("scores") or {}:
            is_default = value == next(iter(step["scores"]))  # the incumbent is listed first
            config = chosen if is_default else chosen + [f"{factor}={value}"]
            found[(factor, value)] = {**cells(config), "chosen": value == winner}
        if winner != next(iter(step["scores"])):
            chosen = chosen + [f"{factor}={winner}"]
    return found


def final_table(study: Study, spec: dict[str, Any], out: Path) -> list[str]:
    labels, metrics = dict(spec["stages"]), dict(spec["metrics"])
    runs = {label: collect(out / name) for label, name in labels.items()}
    rows = [[m] + [cell(runs[label], p) for label in labels] for m, p in metrics.items()]
    return _table(["metric"] + list(labels), rows, 1)


def figure_row(study: Study, spec: dict[str, Any], out: Path) -> list[str]:
    """Each stage's first completed run's figures/<figure>.png, side by side."""
    name = spec.get("figure")
    if not name:
        return []
    from ablab.viz.deferral import waiting  # torch and matplotlib: only for a figure row
    from ablab.viz.draw import draw_deferred

    stages = spec["stages"]
    labels = dict(stages) if isinstance(stages, dict) else {s: s for s in stages}
    shown = []
    for label, stage in labels.items():
        for run in (r for r in collect(out / stage) if r.status == "completed"):
            png = run.path / "figures" / f"{name}.png"
            if not png.is_file() and waiting(run.path):
                draw_deferred(run.path)  # a sweep's job saves its figures for later: this table shows them
            if png.is_file():
                shown.append((label, png.relative_to(out).as_posix()))
                break
    if not shown:
        return []
    return ["", "| " + " | ".join(label for label, _ in shown) + " |", "|" + "---|" * len(shown),
            "| " + " | ".join(f"![{label} {name}]({p})" for label, p in shown) + " |"]


KINDS = {"rows": rows_table, "greedy": greedy_table, "final": final_table}


def render(study: Study, spec: dict[str, Any], out: Path) -> list[str]:
    kind = spec.get("kind", "rows")
    return [f"### {spec.get('title', kind)}", ""] + KINDS[kind](study, spec, out) + figure_row(study, spec, out)
