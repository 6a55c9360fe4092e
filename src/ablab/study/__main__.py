"""CLI: `ablab-study NAME` (or `python train.py study=NAME`) runs a whole reference study.

    ablab-study emnist_ofat                   # the quick scale: a CPU, minutes
    ablab-study emnist_ofat --scale paper     # the study's own epochs and data: a GPU
    ablab-study emnist_ofat --dry-run         # list every job, train nothing
    ablab-study emnist_ofat data.root=/data   # any train.py override, for every job
    ablab-study mnist_models vars.test_csv=test.csv   # a study variable (its YAML's vars)
    python train.py -m study=emnist_ofat --dry-run    # the same, from train.py

Writes <out>/<stage>/ (one Hydra sweep per stage) and <out>/report.md. Exit codes as
train.py: 2 a user error (before anything trains), 1 some job failed, 130 Ctrl-C, 143 SIGTERM
(the running jobs end interrupted, no stage starts and no report is written; the same
command with --out goes on).
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

from ablab.errors import FAILED, USER_ERROR, UserError, say


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ablab.study import plan, spec

    parser = argparse.ArgumentParser(prog="ablab-study", description=__doc__.splitlines()[0])
    parser.add_argument("name", help=f"a study of conf/study/: {', '.join(spec.available())}")
    parser.add_argument("--scale", default="quick", help="quick (default: minutes on a CPU) or paper")
    parser.add_argument("--dry-run", action="store_true", help="print one line per job and `N jobs`; train nothing")
    parser.add_argument("--out", type=Path, help="study directory (default multirun/<name>-<scale>/<date>_<time>); "
                                                 "an existing one is continued")
    parser.add_argument("--seeds", choices=("auto",), default=None,
                        help="auto: OFAT and greedy stages start each configuration with 3 seeds and add seeds "
                             "only where a verdict is still undecided (the sweeper's seed=auto), up to 10")
    parser.add_argument("--verbose", action="store_true",
                        help="Lightning's model table, devices and progress bar for every job (default: each stage's first)")
    parser.add_argument("overrides", nargs="*", help="train.py overrides applied to every job, e.g. data.root=/data")
    args = parser.parse_intermixed_args(argv)  # options and overrides in any order
    variables = dict(o[len("vars."):].split("=", 1) for o in args.overrides if o.startswith("vars.") and "=" in o)
    args.overrides = [o for o in args.overrides if not o.startswith("vars.")]
    composed = []  # every config the check composed: their datasets are opened before any job
    try:
        study = spec.load(args.name, args.scale, variables)
        study.stages = [plan.pinned(stage, args.overrides) for stage in study.stages]
        if args.seeds == "auto":
            study.stages = [plan.auto_seeds(stage) for stage in study.stages]
        plans = _checked_plans(study, args.overrides, composed)
    except UserError as exc:
        say(str(exc))
        return USER_ERROR
    if args.dry_run:
        _print_plan(plans)
        return 0

    from ablab.run import stop, sweep_output
    from ablab.study import report, runner

    out = args.out or Path("multirun") / f"{study.name}-{study.scale}" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    try:
        lock = _claimed(out, composed)
    except UserError as exc:
        say(str(exc))
        return USER_ERROR
    stop.watch()  # a stop signal from here on: the running jobs end interrupted, and the study with them
    sweep_output.begin_study(sum(len(p.jobs) for p in plans))  # each job's line: [i/n] and the time left
    try:
        try:
            code = runner.run(study, list(args.overrides) + (["verbose=true"] if args.verbose else []), out)
        except UserError as exc:
            say(str(exc))
            code = FAILED
        if not stop.requested():
            written = report.write(study, out)
            print(f"ablab-study: {study.name} ({study.scale}) done; report: {written}")
            return code
    except KeyboardInterrupt:  # Ctrl-C, or a stop signal outside a stage's jobs (stop.Stopped)
        pass
    finally:
        sweep_output.end_study()
        lock.release()
    # Stopped: never "done", no report; the same command goes on where the stop left the study.
    again = (["--seeds", "auto"] if args.seeds else []) + args.overrides
    print(f"ablab-study: interrupted; continue with: {runner.resume_hint(study, out, again)}", file=sys.stderr)
    return stop.exit_code()


def _claimed(out: Path, composed: list):
    """The study directory, made writable and locked for this study alone (a second study into
    it is refused), with every dataset its jobs use opened once: refused before any job."""
    from ablab.factors.build import datamodule
    from ablab.paths import remove_if_empty, writable_dir
    from ablab.run.lock import RunLock
    from ablab.sweeps.precheck import open_datasets

    writable_dir(out, "study directory", "--out <dir>")
    lock = RunLock(out, what="study directory").acquire()
    try:
        open_datasets(composed, datamodule)
    except BaseException:
        lock.release()
        remove_if_empty(out)  # refused before any job: leave no empty study directory behind
        raise
    return lock


def _checked_plans(study, overrides: list[str], composed: list):
    from ablab.study import plan

    plans, seen = [], set()
    for stage in study.stages:
        if stage.predict is not None:
            plans.append(plan.Plan(stage, [], []))
            continue
        fixed = plan.fixed_overrides(study, stage, [], overrides)
        defaults = plan.check(study, stage, fixed, seen, composed)
        shown = plan.fixed_overrides(study, stage, [f"<winner of {c}>" for c in stage.carry], overrides)
        plans.append(plan.Plan(stage, shown, plan.jobs(stage, defaults)))
    return plans


def _print_plan(plans) -> None:
    total = 0
    for p in plans:
        if p.stage.predict is not None:
            print(f"# {p.stage.name}: predictions of the best checkpoint of stage {p.stage.predict['from']} (trains nothing)")
            continue
        auto = ("; seed=auto: the first round's seeds, more only where a verdict is undecided"
                if p.stage.auto_seeds else "")
        print(f"# {p.stage.name} ({p.stage.sweeper}, {_jobs(len(p.jobs))}{auto})")
        for job in p.jobs:  # every override the job gets; <winner of S> / <best>: chosen as the study runs
            print(f"{p.stage.name}: {' '.join(p.fixed + job)}")
        total += len(p.jobs)
    print(_jobs(total))


def _jobs(n: int) -> str:
    return f"{n} job" + ("" if n == 1 else "s")


def from_train_argv(argv: Sequence[str]) -> list[str]:
    """`train.py [-m] study=NAME ...` as ablab-study's arguments: NAME first, -m dropped."""
    name = next(a.split("=", 1)[1] for a in argv if a.startswith("study="))
    return [name] + [a for a in argv if not a.startswith("study=") and a not in ("-m", "--multirun")]


if __name__ == "__main__":
    sys.exit(main())
