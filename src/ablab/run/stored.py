"""Configs that earlier versions of ablab stored, read as today's.

A checkpoint keeps its run's resolved config and its preprocessing (`checkpoint["ablab"]`), and
a run directory its `.hydra/config.yaml`; both name classes by import path (`_target_`). When
a class moves, its old path goes in MOVED, and `current` rewrites it wherever a stored config
is loaded (run/checkpoint.py for eval.py, predict.py; `load` for a run directory's config), so
old checkpoints and run directories keep evaluating, predicting and resuming. Checkpoints pickle
no ablab class (only tensors and plain values), so no other path needs a rule.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# old `_target_` (a module prefix ending in ".", or a whole class path) -> where it is now
MOVED = {
    **{f"ablab.{old}.": f"ablab.{new}." for old, new in (  # the package's root, before run/ and cli/
        ("callbacks", "run.callbacks"), ("checkpoint", "run.checkpoint"), ("checkpoint_io", "run.checkpoint_io"),
        ("cuda_probe", "run.cuda_probe"), ("devices", "run.devices"), ("distributed", "run.distributed"),
        ("evaluate", "run.evaluate"), ("hints", "cli.hints"), ("predict", "run.predict"), ("quiet", "cli.quiet"),
        ("results", "run.results"), ("results_writer", "run.results_writer"), ("resumable", "run.resume.state"),
        ("resume_from", "run.resume.start"), ("run_lock", "run.lock"), ("sigint", "run.stop"),
        ("summary", "run.summary"), ("sweeps.resume", "run.resume.earlier"))},
    "ablab.data.module.": "ablab.data.datamodule.",  # ImageDataModule, the datasets' base
    "ablab.cli.CheckConfig": "ablab.cli.check.CheckConfig",
    "ablab.data.augment.Digits": "ablab.data.augment.Affine",
    "ablab.data.augment.Cifar": "ablab.data.augment.CropFlip",
}


def current_target(target: str) -> str:
    """Where the class an old `_target_` names is now (the target itself when it has not moved)."""
    if target in MOVED:
        return MOVED[target]
    for old, new in MOVED.items():
        if old.endswith(".") and target.startswith(old):
            return new + target[len(old):]
    return target


def current(stored: Any) -> Any:
    """A stored config (plain dicts and lists) with every `_target_` rewritten to where it is now."""
    if isinstance(stored, dict):
        return {k: current_target(v) if k == "_target_" and isinstance(v, str) else current(v)
                for k, v in stored.items()}
    if isinstance(stored, list):
        return [current(v) for v in stored]
    return stored


def load(path: Path) -> DictConfig:
    """A stored YAML config (a run directory's .hydra/config.yaml), its targets current."""
    return OmegaConf.create(current(OmegaConf.to_container(OmegaConf.load(path), resolve=False)))
