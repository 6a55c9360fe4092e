"""How a sweep ended, in one line and an exit code, read from its jobs' results.json.

Hydra runs every job of a batch even when one fails, then the basic sweeper re-raises
the first failure (Optuna's stops on `max_failure_rate`, and Hydra's `on_multirun_end`
callbacks never run after a raise). So ablab's entry point (ablab.cli.entry) lets the sweeper
finish or raise, then reads the run contract of the jobs this invocation ran:

    ablab: 1 of 3 jobs failed: multirun/2026-01-01/12-00-00/1 (data.fold=9 is not allowed ...)

and exits 1 when any job failed. A diverged job is a result, not a failure (as for a
single run): it is named in the line but does not change the exit code; a trial that a
search's pruner stopped (`pruned`) is counted, not named.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from hydra.experimental.callback import Callback

from ablab.paths import shown
from ablab.run.lock import held_elsewhere

SLACK_S = 2.0  # file times vs time.time(): a job written this soon before the start is still ours
SHOWN = 5  # failed jobs named in the line; the rest are counted

_started: dict = {}  # "dir" and "at" of the multirun this process started, set by SweepStart
_failed_here: dict = {}  # job dir -> why, for jobs of this process that failed (job_failed)


class SweepStart(Callback):
    """Hydra callback (hydra.callbacks in conf/hydra/default.yaml): remembers where and
    when this process's multirun started, for the summary once the sweeper is done."""

    def on_multirun_start(self, config, **kwargs) -> None:
        _started.update(dir=Path(str(config.hydra.sweep.dir)), at=time.time())
        from ablab.run import sweep_output
        from ablab.sweeps.precheck import count_jobs

        total, at_most = count_jobs(config)  # each job's line says [k/N]
        sweep_output.begin_sweep(total, at_most, done_before=_completed_in(_started["dir"]))


def _completed_in(sweep: Path) -> int:
    """Jobs an earlier run of this sweep completed: the sweep run again skips them."""
    import json

    done = 0
    for path in sweep.glob("*/results.json"):
        try:
            done += json.loads(path.read_text()).get("status") == "completed"
        except (OSError, ValueError, AttributeError):
            pass
    return done


def sweep_dir() -> Optional[Path]:
    return _started.get("dir")


@dataclass
class Outcome:
    sweep_dir: Path
    jobs: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    diverged: list[tuple[Path, str]] = field(default_factory=list)
    pruned: int = 0  # stopped early by a search's pruner (ablab.sweeps.pruning)

    def line(self) -> str:
        where = shown(self.sweep_dir)
        completed = self.jobs - len(self.diverged) - self.pruned
        if not self.failed and not self.diverged:
            pruned = f"; {self.pruned} pruned" if self.pruned else ""
            return f"ablab: {completed} of {self.jobs} jobs completed{pruned} in {where}"
        parts = [f"{len(self.failed)} of {self.jobs} jobs failed: {_listing(self.failed)}" if self.failed else
                 f"{completed} of {self.jobs} jobs completed"]
        if self.pruned:
            parts.append(f"{self.pruned} pruned")
        if self.diverged:
            parts.append(f"{len(self.diverged)} diverged: {_listing(self.diverged)}")
        return "ablab: " + "; ".join(parts)


def summarize(sweep: Path, since: Optional[float] = None) -> Outcome:
    """The jobs under `sweep` (those Hydra set up at or after `since`, when given) by status."""
    from ablab.report.collect import collect  # the run contract's reader, shared with the report

    outcome = Outcome(Path(sweep))
    for run in collect(Path(sweep)):
        if since is not None and _written(run.path) < since - SLACK_S:
            continue  # another invocation's job, e.g. left in a reused sweep dir
        if run.status == "running" and held_elsewhere(run.path):
            continue  # running in another process: another worker of a search sharing this sweep dir
        outcome.jobs += 1
        launched_as = _launched_as(run.path)
        if since is not None and Path(run.path).resolve() in _failed_here:  # e.g. refused: its dir is in use,
            outcome.failed.append((run.path, _failed_here[Path(run.path).resolve()]))  # what it holds is not ours
        elif run.results and launched_as and run.overrides != launched_as:  # refused, kept as it was
            outcome.failed.append((run.path, "its results.json is another job's (overrides "
                                   f"{' '.join(run.overrides) or '(none)'}); use a new hydra.sweep.dir"))
        elif run.status == "diverged":
            outcome.diverged.append((run.path, run.error or "diverged"))
        elif run.status == "pruned":
            outcome.pruned += 1
        elif run.status != "completed":
            why = run.error or {"running": "results.json still says running: the job died before it finished; "
                                "see its log" if run.results else
                                "no results.json: the job died before writing it; see its log"}.get(run.status, run.status)
            outcome.failed.append((run.path, why))
    return outcome


def finish(raised: Optional[BaseException] = None) -> Optional[int]:
    """After the sweeper returned (or raised `raised`): print the summary line and return the
    exit code, or None when this process ran no multirun, or the sweep itself failed before
    any job ran (the caller reports that error as it would for a single run)."""
    if sweep_dir() is None:
        return None
    outcome = summarize(sweep_dir(), since=_started["at"])
    # Said once: a study runs several sweeps, and then a prediction, in one process.
    _started.clear()
    _failed_here.clear()
    if raised is not None and not outcome.failed:
        return None
    draw_figures(Path(outcome.sweep_dir))
    print(outcome.line(), file=sys.stderr if outcome.failed or outcome.diverged else sys.stdout)
    return 1 if outcome.failed else 0


def draw_figures(sweep: Path) -> None:
    """The figures the sweep's jobs saved (viz.draw=auto: a job saves its figure data in tens of
    milliseconds instead of a second or more of matplotlib), drawn now by one process per core,
    so the sweep ends with every figure in figures/ and TensorBoard's Images; with
    viz.draw=later they stay saved for `python -m ablab.viz`. viz=none saved none."""
    from ablab.viz.deferral import waiting as figures_waiting  # torch: the sweep's jobs imported it already

    waiting = figures_waiting(sweep)
    later = [run for run in waiting if _draw_setting(run) == "later"]
    runs = [run for run in waiting if run not in later]
    if later:
        jobs = f"{len(later)} job{'' if len(later) == 1 else 's'}"
        print(f"ablab: the figures of {jobs} are saved, not drawn (viz.draw=later); draw them with: "
              f"python -m ablab.viz {shown(sweep)}")
    if not runs:
        return
    from ablab.viz.draw import draw_in_parallel

    jobs = f"{len(runs)} job{'' if len(runs) == 1 else 's'}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, min(cores, len(runs) // 2))  # as draw_in_parallel shares them
    print(f"ablab: drawing the figures of {jobs} ({workers} process{'' if workers == 1 else 'es'}) ...", flush=True)
    started = time.perf_counter()
    draw_in_parallel(runs, workers)
    print(f"ablab: figures of {jobs} drawn in {time.perf_counter() - started:.0f} s "
          "(figures/*.png, TensorBoard's Images)", flush=True)


def _draw_setting(run: Path) -> str:
    """The job's viz.draw, from its composed config (.hydra/config.yaml)."""
    import yaml

    try:
        viz = (yaml.safe_load((run / ".hydra" / "config.yaml").read_text()) or {}).get("viz") or {}
    except (OSError, yaml.YAMLError):
        return "auto"
    return str(viz.get("draw", "auto"))


def interrupted(by: str = "Ctrl-C (SIGINT)") -> None:
    """Say that a stop signal (`by`) ended the run or sweep, and for a sweep how to resume it."""
    if sweep_dir() is None:
        print(f"ablab: interrupted by {by}", file=sys.stderr)
    else:
        print(f"ablab: sweep interrupted by {by}; run the same command with hydra.sweep.dir={shown(sweep_dir())} "
              "to resume it (completed jobs are skipped, interrupted ones go on from their last finished epoch)",
              file=sys.stderr)


def job_failed(job_dir: str, message: str) -> None:
    """Say in one line that one job of a sweep failed, as it fails; the sweep goes on. (A bug's
    traceback is in the job's log: ablab.cli.entry writes it there, not to the console.)"""
    _failed_here[Path(job_dir).resolve()] = message
    print(f"ablab: job {shown(Path(job_dir))} failed: {message}", file=sys.stderr)


def _launched_as(job: Path) -> Optional[list[str]]:
    """The overrides Hydra wrote for the job it launched into this directory."""
    import yaml

    try:
        loaded = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    return [str(o) for o in loaded] if isinstance(loaded, list) else None


def _written(job: Path) -> float:
    for name in (".hydra/overrides.yaml", "results.json"):
        try:
            return (job / name).stat().st_mtime
        except OSError:
            continue
    return 0.0


def _listing(jobs: list[tuple[Path, str]]) -> str:
    named = [f"{shown(path)} ({one_line(why)})" for path, why in jobs[:SHOWN]]
    more = f"; and {len(jobs) - SHOWN} more" if len(jobs) > SHOWN else ""
    return "; ".join(named) + more


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(s.strip() for s in str(text).splitlines() if s.strip())
    return line if len(line) <= limit else line[:limit - 1] + "…"
