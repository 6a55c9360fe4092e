"""Which checkpoint a run continues from, checked before Lightning is handed it.

A checkpoint Lightning cannot load (truncated, empty, not a checkpoint, another job's or
another model's) fails `trainer.fit` with a traceback, and a sweep job resumed from it
would fail the same way on every rerun. So every candidate is opened first:

- `ckpt_path=<file>` given by the user: a bad file is the user's to fix, one line, and
  it is checked before any data loads;
- a sweep's own `last.ckpt`: a bad one is passed over for the job's `best.ckpt`, or a
  fresh start, and the run says so (one line on stderr, `resume.note` in results.json).

Files are opened with mmap and weights_only, so a check reads little more than the
pickled header.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from ablab.errors import UserError

LIGHTNING_KEYS = ("state_dict", "loops", "optimizer_states", "epoch", "global_step")


@dataclass
class Start:
    checkpoint: Optional[str] = None  # what trainer.fit(ckpt_path=...) gets; None: from scratch
    epoch: int = 0
    step: int = 0  # the logger's step at the checkpoint: later points of an earlier part are replayed
    earlier_s: float = 0.0  # wall time of the parts before, as the checkpoint recorded it
    passed_over: list[str] = field(default_factory=list)  # "<path>: <why>" of each bad candidate
    by_user: bool = False
    rest: list[str] = field(default_factory=list)  # further candidates, for a misfit found later
    overrides: Optional[list[str]] = None

    @property
    def note(self) -> Optional[str]:
        """One line: which checkpoints were passed over and why, and where the run starts instead."""
        if not self.passed_over:
            return None
        then = f"resuming from {self.checkpoint}" if self.checkpoint else "starting afresh"
        return f"{'; '.join(self.passed_over)}; {then}"

    def fitting(self, module: torch.nn.Module) -> "Start":
        """This start, or the next that fits `module` (keys and shapes of every weight)."""
        if self.checkpoint is None:
            return self
        misfit = _misfit(self.checkpoint, module)
        if misfit is None:
            return self
        if self.by_user:
            raise UserError(f"ckpt_path={self.checkpoint}: {misfit}; resume with the config it was trained with")
        following = choose(None, self.rest, self.overrides)
        following.passed_over[:0] = [*self.passed_over, f"{self.checkpoint}: {misfit}"]
        return following.fitting(module)

    def record(self) -> Optional[dict]:
        """results.json's `resume` entry, or None for a plain fresh start."""
        if self.checkpoint is None and self.note is None:
            return None
        return {"checkpoint": self.checkpoint, "epoch": self.epoch if self.checkpoint else None,
                "earlier_wall_s": round(self.earlier_s, 3), "note": self.note}


def choose(user_path: Optional[str], candidates: list[str], overrides: Optional[list[str]] = None) -> Start:
    """The first loadable checkpoint: the user's (or a UserError), else the first good candidate."""
    if user_path:
        raw = _open(user_path)
        problem = raw if isinstance(raw, str) else _problem(raw)
        if problem:
            raise UserError(f"ckpt_path={user_path}: {problem}; use checkpoints/last.ckpt of a train.py run")
        return _start(user_path, raw, by_user=True)
    passed_over = []
    for i, path in enumerate(candidates):
        raw = _open(path)
        problem = raw if isinstance(raw, str) else _problem(raw, overrides)
        if problem is None:
            return _start(path, raw, rest=list(candidates[i + 1:]), overrides=overrides, passed_over=passed_over)
        passed_over.append(f"{path}: {problem}")
    return Start(passed_over=passed_over, overrides=overrides)


def _open(path: str):
    """The checkpoint as a dict, or a string saying why it is none."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except FileNotFoundError:
        return "no such checkpoint file"
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        return f"not a loadable checkpoint ({first})"
    return raw if isinstance(raw, dict) else "not a Lightning checkpoint (not a dict)"


def _problem(raw: dict, overrides: Optional[list[str]] = None) -> Optional[str]:
    missing = [k for k in LIGHTNING_KEYS if k not in raw]
    if missing:
        return f"not a Lightning training checkpoint (no {', '.join(missing)})"
    meta = raw.get("ablab")
    if not isinstance(meta, dict):
        return "not an ablab checkpoint (no 'ablab' metadata)"
    if overrides is not None and list(meta.get("overrides") or []) != list(overrides):
        return f"another job's checkpoint (overrides: {' '.join(meta.get('overrides') or []) or '(none)'})"
    return None


def _misfit(path: str, module: torch.nn.Module) -> Optional[str]:
    saved = torch.load(path, map_location="cpu", weights_only=True, mmap=True)["state_dict"]
    wanted = module.state_dict()
    if saved.keys() != wanted.keys():
        extra, absent = sorted(saved.keys() - wanted.keys()), sorted(wanted.keys() - saved.keys())
        return f"another model's checkpoint (unexpected: {extra[:3]}, missing: {absent[:3]})"
    for key, value in wanted.items():
        if tuple(saved[key].shape) != tuple(value.shape):
            return f"another model's checkpoint ({key} is {tuple(saved[key].shape)}, the model's {tuple(value.shape)})"
    return None


def _start(path: str, raw: dict, **kw) -> Start:
    clock = next((v for k, v in (raw.get("callbacks") or {}).items() if str(k).startswith("RunClock")), {})
    loop = ((raw.get("loops") or {}).get("fit_loop") or {}).get("epoch_loop.state_dict") or {}
    step = int(loop.get("_batches_that_stepped", raw["global_step"]))  # the step Lightning logs at
    return Start(checkpoint=str(path), epoch=int(raw["epoch"]), step=step,
                 earlier_s=float(clock.get("elapsed_s", 0.0)), **kw)
