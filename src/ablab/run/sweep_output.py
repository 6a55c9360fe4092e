"""What a sweep (and a study, which is sweeps in turn) prints: one line per job as it ends,

    [12/106] cnn_search adam f2 s0 · val acc 0.8641 · 3.2 s · study 4 min in, ~6 min left
    [3/30] sgd s1 · completed before · val acc 0.8555
    [16/≤90] sgd s4 · val acc 0.8555 · 48.6 s · sweep 11 min in, ≤ ~51 min left

`[k/N]`: k the lines so far, every job counted once, a job an earlier run of the sweep finished
included ("completed before", its result read back, nothing trained); N the jobs planned, or
with seed=auto `≤N`, every configuration at max_seeds (its rounds stop sooner when decided).
The time left is the time per trained job (the sweep's time so far over the jobs it trained)
times the jobs left, so jobs completed before neither count as trained nor make the rest look
quick. A fused group trains its members at once and then ends them one by one: once it has
trained, its members count as trained (`group_trained`), each its share of the group's time,
so its first member's line does not read the group's time as one job's.

Lightning's model table, device lines and progress bar are shown for the first job of a sweep
only (or every job with `verbose=true`); every job's full log stays in its train.log. Lines
that Lightning logs where Hydra's own console format is in force (a fused group trains between
Hydra's jobs) keep their logger's label, `[lightning]`, not `[HYDRA]` (`ByOrigin`). A single
run prints what it always did (ablab.run.summary).

The counts come from whoever knows them: the sweep's start (ablab.sweeps.outcome.SweepStart
counts the jobs its sweeper will launch) and a study (ablab.study.runner, all its stages).
State is per process: Hydra's basic launcher and the fused launcher run a sweep's jobs in the
process that started it (a launcher that runs jobs in other processes, joblib's, prints `[k]`
with the job's number and no total there).
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

from ablab import upstream



@dataclass
class _Progress:
    total: Optional[int] = None
    at_most: bool = False  # total is a bound (seed=auto)
    started: float = field(default_factory=time.time)
    jobs_begun: int = 0
    lines: int = 0
    trained: int = 0
    resumed: int = 0
    pending: int = 0  # members of a trained fused group whose lines are still to come
    done_before: int = 0  # jobs an earlier run of the sweep completed (their lines say so)
    stage: str = ""

    def count(self, resumed: bool) -> None:
        self.lines += 1
        if resumed:
            self.resumed += 1
            return
        self.trained += 1
        self.pending = max(0, self.pending - 1)  # a fused member: counted since its group trained

    def left_s(self, now: float) -> Optional[float]:
        """Time per trained job times the jobs left; None before a job trained or once none is left."""
        trained = self.trained + self.pending
        left = (self.total or 0) - self.lines - self.pending - max(0, self.done_before - self.resumed)
        if not self.total or trained == 0 or left <= 0:
            return None
        return (now - self.started) / trained * left


_sweep: Optional[_Progress] = None
_study: Optional[_Progress] = None


def begin_sweep(total: Optional[int], at_most: bool = False, done_before: int = 0) -> None:
    global _sweep
    _sweep = _Progress(total, at_most, done_before=done_before)
    _QUIET.active = False  # the first job of every sweep (a study's stage too) shows Lightning's start


def begin_study(total: int) -> None:
    global _study
    _study = _Progress(total)


def study_stage(name: str) -> None:
    if _study is not None:
        _study.stage = name


def end_study() -> None:
    global _study
    _study = None


def group_trained(members: int) -> None:
    """A fused group of `members` jobs has trained; their lines follow one by one."""
    progress = _study if _study is not None else _sweep
    if progress is not None:
        progress.pending += members


class ByOrigin(logging.Formatter):
    """Hydra's console format (conf/hydra/default.yaml, hydra_logging) for Hydra's own lines,
    `[time][HYDRA] message`; any other logger's line under its package's name, e.g.
    `[time][lightning] GPU available: False`. `format`: Hydra's format string, as configured."""

    def __init__(self, format: str = "[%(asctime)s][HYDRA] %(message)s", **kwargs):
        super().__init__(format)
        self._other = logging.Formatter("[%(asctime)s][%(origin)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name.startswith("hydra") or record.name == "root":
            return super().format(record)
        record.origin = record.name.split(".", 1)[0].replace("pytorch_lightning", "lightning")
        return self._other.format(record)


def in_sweep(hydra_cfg) -> bool:
    from hydra.types import RunMode

    return hydra_cfg.mode == RunMode.MULTIRUN


class _Quiet(logging.Filter):
    """While a sweep's jobs are quiet, drops from the console Lightning's info lines (devices,
    LOCAL_RANK) and Hydra's `#N : <every override>` line per job, which the job's own line replaces."""

    active = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.active or record.levelno > logging.INFO:
            return True
        if record.name.startswith(("pytorch_lightning", "lightning")):
            return False
        return not (record.name.startswith("hydra") and str(record.msg).startswith("\t#"))


_QUIET = _Quiet()


def quiet_job(hydra_cfg, cfg) -> bool:
    """Whether this job keeps Lightning's start-up output off the console: a sweep's job after
    the first, unless `verbose=true`. Also turns the console filter on or off for the job."""
    quiet = False
    if in_sweep(hydra_cfg):
        first = int(hydra_cfg.job.num) == 0 if _sweep is None else _sweep.jobs_begun == 0
        if _sweep is not None:
            _sweep.jobs_begun += 1
        quiet = not first and not cfg.get("verbose", False)
    for logger in (logging.getLogger(), logging.getLogger("pytorch_lightning"), logging.getLogger("lightning")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                if _QUIET not in handler.filters:
                    handler.addFilter(_QUIET)
    launcher = logging.getLogger(upstream.BASIC_LAUNCHER_LOGGER)  # its handlers are remade per job
    if _QUIET not in launcher.filters:
        launcher.addFilter(_QUIET)
    _QUIET.active = quiet
    return quiet


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def job_line(record: dict, job_num: int, now: Optional[float] = None, resumed: bool = False) -> str:
    """The one line a sweep's job prints as it ends; `resumed`: an earlier run of the sweep
    completed it, and nothing was trained now."""
    now = time.time() if now is None else now
    progress, whose = (_study, "study") if _study is not None else (_sweep, "sweep")
    if progress is not None:
        progress.count(resumed)
        done, total = progress.lines, progress.total
        prefix = f"{progress.stage} " if progress.stage else ""
        bound = "≤" if progress.at_most else ""
    else:
        done, total, prefix, bound = job_num + 1, None, "", ""
    count = f"[{done}/{bound}{total}]" if total else f"[{done}]"
    status = record.get("status")
    val = (record.get("val") or {}).get("acc")
    result = f"val acc {val:.4f}" if status == "completed" and val is not None else str(status)
    head = f"{count} {prefix}{record.get('name') or ''}".rstrip()
    if resumed:
        return " · ".join([head, "completed before", result])
    parts = [head, result, f"{record.get('wall_s') or 0:.1f} s"]
    if progress is not None:
        timing = f"{whose} {_minutes(now - progress.started)} in"
        left = progress.left_s(now)
        if left is not None:
            timing += f", {'≤ ' if progress.at_most else ''}~{_minutes(left)} left"
        parts.append(timing)
    return " · ".join(parts)


def print_job_line(record: dict, job_num: int, resumed: bool = False) -> None:
    print(job_line(record, job_num, resumed=resumed), file=sys.stdout, flush=True)


def print_done_before(run_dir, job_num: int) -> None:
    """The line of a job an earlier run of the sweep completed (its results.json read back)."""
    import json
    from pathlib import Path

    try:
        record = json.loads((Path(run_dir) / "results.json").read_text())
    except (OSError, ValueError):
        record = {"status": "completed"}
    print_job_line(record, job_num, resumed=True)
