"""Run a study: each stage is one `train.py -m` sweep in <study dir>/<stage>, in order.

A stage that carries earlier stages starts from their winners: a greedy stage's chosen
overrides (its ofat_best.yaml, where a value wins only beyond noise), otherwise the
configuration with the best mean `metric` over its completed runs. Re-running a study
into its directory (`--out`) continues it: every sweep skips its finished jobs
(ablab.run.resume.earlier) and resumes its interrupted ones.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from statistics import fmean
from typing import Optional

import yaml

from ablab.errors import USER_ERROR, UserError
from ablab.report.collect import Run, collect
from ablab.report.table import key_of
from ablab.run import stop, sweep_output
from ablab.study import plan
from ablab.study.spec import Stage, Study



def in_process(command: str, argv: list[str]) -> int:
    """Run the Hydra app train.py or predict.py runs (ablab.cli.apps) with `argv` in this
    process and return its exit code. One process for the whole study: the imports and
    Hydra's start-up are paid once, not once per stage (about 6 s each on a 2-core CPU)."""
    from ablab.cli import apps

    entry = {"train": apps.train, "predict": apps.predict}[command]
    saved = sys.argv
    sys.argv = [f"{command}.py", *argv]
    try:
        entry()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        sys.argv = saved


def winner(study: Study, stage: Stage, stage_dir: Path) -> list[str]:
    """The overrides (of the keys this stage sweeps) of the stage's chosen configuration."""
    best_yaml = stage_dir / "ofat_best.yaml"
    if stage.sweeper == "greedy" and best_yaml.is_file():
        return [str(o) for o in (yaml.safe_load(best_yaml.read_text()) or {}).get("overrides") or []]
    runs = collect(stage_dir)
    if stage.sweeper == "ofat":
        chosen = ofat_choice(study, stage, stage_dir, runs)
        if chosen is not None:
            return chosen
    config, _ = best_config(study, stage, runs)
    return list(config)


def ofat_choice(study: Study, stage: Stage, stage_dir: Path, runs: list[Run]) -> Optional[list[str]]:
    """An OFAT stage chooses as its report judges: among the values `better` than the baseline after
    the correction over the stage's comparisons, the best mean; none better: the baseline."""
    from ablab.report.__main__ import defaults_of, read_auto
    from ablab.report.table import build_table

    done = [r for r in runs if r.status == "completed" and r.value(study.metric) is not None]
    if not done:
        return None
    auto = read_auto(stage_dir)
    table = build_table(runs, study.metric, study.mode, default_of=defaults_of(stage_dir),
                        seeds=(int(auto["min_seeds"]), int(auto["max_seeds"])) if auto else None)
    base = table.baseline
    if base is None or not base.keyed(study.metric):
        return None
    if not any(r.comparison is not None and r.comparison.p_value is not None for r in table.rows):
        return None  # single runs: nothing to test against, the best mean decides (as in a greedy step)
    better = [r for r in table.rows if r.verdict == "better" and r.reference is base]
    if not better:
        return list(plan.configuration(stage, base.runs[0]))
    sign = 1 if study.mode == "max" else -1
    row = max(better, key=lambda r: sign * r.summary.mean)
    order = list(stage.sweep)
    config = plan.configuration(stage, row.runs[0])
    return sorted(config, key=lambda o: order.index(key_of(o)) if key_of(o) in order else 0)


def best_config(study: Study, stage: Stage, runs: list[Run]) -> tuple[tuple[str, ...], list[Run]]:
    """The swept overrides with the best mean metric over completed runs, and those runs."""
    groups: dict[frozenset[str], list[Run]] = defaultdict(list)
    for run in runs:
        if run.status == "completed" and run.value(study.metric) is not None:
            groups[plan.configuration(stage, run)].append(run)
    if not groups:
        raise UserError(f"study {study.name}: stage {stage.name} has no completed job with {study.metric}; "
                        "the stages after it cannot start (see its jobs' results.json)")
    sign = 1 if study.mode == "max" else -1
    config = max(groups, key=lambda c: sign * fmean(r.value(study.metric) for r in groups[c]))
    order = list(stage.sweep)  # the overrides in the stage's own key order, as a later stage carries them
    return tuple(sorted(config, key=lambda o: order.index(key_of(o)))), groups[config]


def best_checkpoint(study: Study, stage: Stage, stage_dir: Path) -> Path:
    """best.ckpt of the best run of the stage's chosen configuration."""
    chosen = frozenset(winner(study, stage, stage_dir))
    runs = [r for r in collect(stage_dir) if r.status == "completed" and r.value(study.metric) is not None
            and plan.configuration(stage, r) == chosen]
    if not runs:
        raise UserError(f"study {study.name}: stage {stage.name} has no completed job of its chosen configuration")
    sign = 1 if study.mode == "max" else -1
    best = max(runs, key=lambda r: sign * r.value(study.metric))
    return best.path / "checkpoints" / "best.ckpt"


def run_stage(study: Study, stage: Stage, carried: list[str], extra: list[str], out: Path) -> int:
    args = plan.command(study, stage, carried, extra) + [f"hydra.sweep.dir={out / stage.name}"]
    print(f"ablab-study: stage {stage.name}: train.py -m {' '.join(args)}", flush=True)
    sweep_output.study_stage(stage.name)  # its jobs' lines start with the stage's name
    return in_process("train", ["-m", *args])


def run_predict(study: Study, stage: Stage, out: Path) -> int:
    source = study.stage(stage.predict["from"])
    ckpt = best_checkpoint(study, source, out / source.name)
    given = stage.predict.get("input")
    csv = Path(given) if given else write_test_csv(ckpt.parent.parent, out / stage.name / "test.csv")
    args = [f"ckpt_path={ckpt}", f"input={csv}", f"output={out / stage.name / 'predictions.csv'}",
            f"hydra.run.dir={out / stage.name}"]
    print(f"ablab-study: stage {stage.name}: predict.py {' '.join(args)}", flush=True)
    return in_process("predict", args)


def write_test_csv(job: Path, path: Path) -> Path:
    """The job's own test split as a Kaggle digit-recognizer test.csv (pixel0..pixelN-1, no
    labels), for a quick study that was given no CSV of its own."""
    from omegaconf import OmegaConf

    from ablab.factors import build

    cfg = OmegaConf.load(job / ".hydra" / "config.yaml")
    dm = build.datamodule(cfg)
    dm.setup("test")
    images = dm.splits["test"].x
    flat = images.reshape(len(images), -1).tolist()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.write(",".join(f"pixel{i}" for i in range(len(flat[0]))) + "\n")
        f.writelines(",".join(map(str, row)) + "\n" for row in flat)
    return path


def run(study: Study, extra: list[str], out: Path) -> int:
    """Every stage in order; the exit code of the first stage that could not finish, else
    1 when some job failed (its stage went on with the jobs that completed), else 0.

    A stop signal (ablab.run.stop) ends the study where it finds it: no stage starts after it,
    and the stage it stopped chooses nothing (its incomplete results would choose wrongly); the
    same command goes on from there: finished jobs are skipped, interrupted ones resumed."""
    out.mkdir(parents=True, exist_ok=True)
    winners: dict[str, list[str]] = {}
    failed = 0
    for stage in study.stages:
        stop.check()
        if stage.predict is not None:
            code = run_predict(study, stage, out)
        else:
            carried = plan.merged(*[winners.get(c, []) for c in stage.carry])
            code = run_stage(study, stage, carried, extra, out)
        if stop.requested():  # the stage ended early: nothing may be chosen from it
            return stop.exit_code()
        if code == USER_ERROR:
            return code
        failed += code != 0
        if stage.predict is None and stage.sweep:
            winners[stage.name] = winner(study, stage, out / stage.name)
            print(f"ablab-study: stage {stage.name} chose {' '.join(winners[stage.name]) or '(its baseline)'}",
                  flush=True)
    return 1 if failed else 0


def resume_hint(study: Study, out: Path, argv: Optional[list[str]] = None) -> str:
    return f"ablab-study {study.name} --scale {study.scale} --out {out}" + (" " + " ".join(argv) if argv else "")
