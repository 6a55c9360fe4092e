"""<study dir>/report.md: what the study asks, its tables, then each stage's own report.

Each stage's report is ablab.report's (mean, 95% CI, Δ vs its reference, verdict, curves
per factor), written into the stage's directory and included here with its figure links
pointing into that directory.
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from ablab.report.collect import collect
from ablab.study import tables
from ablab.study.spec import Study


def stage_report(study: Study, name: str, out: Path) -> list[str]:
    from ablab.report.__main__ import main as report

    stage_dir = out / name
    if not any(r.status == "completed" for r in collect(stage_dir)):
        return ["No completed job."]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = report([str(stage_dir), "--metric", study.metric, "--mode", study.mode])
    if code != 0 or not (stage_dir / "report.md").is_file():
        return [f"(no report: ablab-report {stage_dir} exited {code})"]
    text = (stage_dir / "report.md").read_text()
    text = re.sub(r"\]\((?!https?:|/)([^)]+)\)", lambda m: f"]({name}/{m.group(1)})", text)  # links from here
    text = re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text, flags=re.M)  # under the stage
    return text.rstrip().splitlines()


def _choice(study: Study, stage, out: Path) -> list[str]:
    from ablab.errors import UserError
    from ablab.study.runner import winner

    if not stage.sweep or not any(r.status == "completed" for r in collect(out / stage.name)):
        return []
    try:
        chosen = " ".join(f"`{o}`" for o in winner(study, stage, out / stage.name)) or "its baseline"
    except UserError:
        return []
    how = ("greedy, a value kept only when `better` after the correction over its step; every step's tests in "
           f"`{stage.name}/ofat_best.yaml`" if stage.sweeper == "greedy" else
           "the best mean among the values `better` than the baseline after the correction, else the baseline"
           if stage.sweeper == "ofat" else f"the best mean {study.metric}")
    return [f"Chosen: {chosen} ({how}).", ""]


def plain_words(name: str, lines: list[str]) -> list[str]:
    """The stage report's one sentence per factor ("## In plain words"), under the stage's name."""
    said, inside = [], False
    for line in lines:
        if line.lstrip("#").strip() == "In plain words" and line.startswith("#"):
            inside = True
            continue
        if inside and line.startswith("#"):
            break
        if inside and line.startswith("- "):
            said.append(f"- {name}: {line[2:]}")
    return said


def write(study: Study, out: Path) -> Path:
    reports = {stage.name: stage_report(study, stage.name, out) for stage in study.stages if stage.predict is None}
    said = [s for name, lines in reports.items() for s in plain_words(name, lines)]
    parts = [f"# {study.title}", "", study.asks, "",
             f"Scale `{study.scale}`; the ranking metric `{study.metric}` ({study.mode}) picks each stage's winner; "
             "every stage's verdicts are adjusted over that stage's comparisons (Holm).", ""]
    if said:
        parts += ["## In plain words", "", *said, ""]
    parts += ["## Results", ""]
    for spec in study.tables:
        parts += tables.render(study, spec, out) + [""]
    parts += ["## Stages", ""]
    for stage in study.stages:
        parts += [f"### {stage.name}", "", stage.about, ""]
        if stage.predict is not None:
            csv = out / stage.name / "predictions.csv"
            lines = len(csv.read_text().splitlines()) - 1 if csv.is_file() else 0
            parts += [f"{lines} predictions in `{stage.name}/predictions.csv` (ImageId,Label)." if lines
                      else "No predictions written.", ""]
            continue
        parts += _choice(study, stage, out)
        parts += reports[stage.name] + [""]
    path = out / "report.md"
    path.write_text("\n".join(parts).rstrip() + "\n")
    return path
