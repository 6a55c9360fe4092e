"""Re-running a sweep into its own directory: finished jobs are not trained again.

Hydra numbers a sweep's job directories by job index, so the same command line with
`hydra.sweep.dir=<that sweep>` lands every job in the directory it had before. There,
`earlier_run` reads what the job left:

- results.json says completed: the job is skipped and its recorded metric returned;
- interrupted or failed with a checkpoints/last.ckpt: training continues from it (or,
  when ablab.run.resume.start finds it damaged, from best.ckpt, or from scratch);
- diverged (its last checkpoint may hold the non-finite weights), or nothing: from scratch.

A directory holding another job's results (a different command line) is refused rather
than overwritten.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ablab.errors import UserError

log = logging.getLogger(__name__)
RESUMABLE = ("interrupted", "failed", "running")  # "running": stopped before it could say more


@dataclass(frozen=True)
class Earlier:
    status: Optional[str] = None  # of the results.json found, if any
    metric: Optional[float] = None  # what the job returned when it completed (validation accuracy)
    checkpoint: Optional[str] = None  # last.ckpt to continue from
    fallbacks: tuple[str, ...] = ()  # older checkpoints of the job, should last.ckpt not load
    wall_s: Optional[float] = None  # of the earlier part, from its results.json

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def checkpoints(self) -> list[str]:
        return [self.checkpoint, *self.fallbacks] if self.checkpoint else []


NOTHING = Earlier()


def earlier_run(run_dir: Path, overrides: list[str]) -> Earlier:
    results = _read(run_dir / "results.json")
    last = run_dir / "checkpoints" / "last.ckpt"
    fallbacks = tuple(str(p) for p in [run_dir / "checkpoints" / "best.ckpt"] if p.is_file())
    if results is None or results.get("status") == "unreadable":
        if last.is_file() and _checkpoint_overrides(last) in (list(overrides), None):
            # killed before results.json was written; an unreadable last.ckpt is resume.start's to pass over
            return Earlier(checkpoint=str(last), fallbacks=fallbacks)
        return NOTHING
    if list(results.get("overrides") or []) != list(overrides):
        raise UserError(f"{run_dir} holds another job's results (overrides: "
                        f"{' '.join(results.get('overrides') or []) or '(none)'}); "
                        "run this sweep in a new hydra.sweep.dir")
    status = results.get("status")
    if status == "completed":
        log.info(f"{run_dir}: completed in an earlier run of this sweep (results.json); not run again")
        return Earlier(status, metric=(results.get("val") or {}).get("acc"))
    if status in RESUMABLE and last.is_file():
        log.info(f"{run_dir}: {status} in an earlier run of this sweep; continuing from {last}")
        return Earlier(status, checkpoint=str(last), fallbacks=fallbacks, wall_s=results.get("wall_s"))
    return Earlier(status)


def _read(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"status": "unreadable"}  # rerun: a torn file is no result (writes are atomic, so rare)
    return data if isinstance(data, dict) else {"status": "unreadable"}


def _checkpoint_overrides(path: Path) -> Optional[list[str]]:
    import torch

    try:  # mmap: read the small "ablab" entry without loading every weight
        meta = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("ablab") or {}
    except Exception:  # a half-written checkpoint is not one to resume from
        return None
    return list(meta.get("overrides") or [])
