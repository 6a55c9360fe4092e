"""What a sweep (and a study, which is sweeps in turn) prints: one line per job as it ends,

    [12/106] cnn_search optimizer=adam fold=2 · val acc 0.8641 · 3.2 s · study 4 min in, ~6 min left

and Lightning's model table, device lines and progress bar for the first job of a sweep only
(or every job with `verbose=true`); every job's full log stays in its train.log. A single
run prints what it always did (ablab.run.summary).

The counts come from whoever knows them: the sweep's start (ablab.sweeps.outcome.SweepStart
counts the jobs its sweeper will launch) and a study (ablab.study.runner, all its stages).
State is per process: Hydra's basic launcher runs a sweep's jobs in the process that started it.
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

from ablab import upstream



@dataclass
class _Sweep:
    total: Optional[int] = None
    started: float = field(default_factory=time.time)
    jobs_begun: int = 0


@dataclass
class _Study:
    total: int
    started: float = field(default_factory=time.time)
    stage: str = ""
    done: int = 0


_sweep: Optional[_Sweep] = None
_study: Optional[_Study] = None


def begin_sweep(total: Optional[int]) -> None:
    global _sweep
    _sweep = _Sweep(total)
    _QUIET.active = False  # the first job of every sweep (a study's stage too) shows Lightning's start


def begin_study(total: int) -> None:
    global _study
    _study = _Study(total)


def study_stage(name: str) -> None:
    if _study is not None:
        _study.stage = name


def end_study() -> None:
    global _study
    _study = None


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


def job_line(record: dict, job_num: int, now: Optional[float] = None) -> str:
    """The one line a sweep's job prints as it ends."""
    now = time.time() if now is None else now
    if _study is not None:
        _study.done += 1
        done, total, started, whose = _study.done, _study.total, _study.started, "study"
        prefix = f"{_study.stage} " if _study.stage else ""
    else:
        done = job_num + 1
        total = _sweep.total if _sweep is not None else None
        started = _sweep.started if _sweep is not None else None
        whose, prefix = "sweep", ""
    count = f"[{done}/{total}]" if total else f"[{done}]"
    status = record.get("status")
    val = (record.get("val") or {}).get("acc")
    result = f"val acc {val:.4f}" if status == "completed" and val is not None else str(status)
    parts = [f"{count} {prefix}{record.get('name') or ''}".rstrip(), result, f"{record.get('wall_s') or 0:.1f} s"]
    if started is not None:
        elapsed = now - started
        timing = f"{whose} {_minutes(elapsed)} in"
        if total and done < total:
            timing += f", ~{_minutes(elapsed / done * (total - done))} left"
        parts.append(timing)
    return " · ".join(parts)


def print_job_line(record: dict, job_num: int) -> None:
    print(job_line(record, job_num), file=sys.stdout, flush=True)
