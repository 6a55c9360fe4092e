"""Which jobs of a sweep may train together, read from their configs before anything is built.

Two jobs may share a group when their configs are equal after what a fused group keeps per
member is taken out: the seed, the fold, the dropout rate, the penalty's strength, and the whole
optimizer, schedule, loss, initialisation, augmentation and sampler (each member has its own
of these objects, which costs nothing more than keeping only their numbers apart).
Everything else (model, activation, norm, data, batch size, epochs, penalty kind, trainer,
callbacks, figures) must be equal. What can only be known once a member
is built (the network's layers, the optimizer's code path, the data's split sizes) is checked
by the launcher afterwards (ablab.fused.launch).
"""
from __future__ import annotations

import json

from omegaconf import DictConfig, OmegaConf

FUSED_MODELS = ("ablab.models.mlp.MLP",)  # ablab.fused.net: the architectures with a fused form
# What Members calls for each member. Another callback runs its jobs one by one unless its class says
# `fusable = True`: it acts on its own run only, through the hooks ablab.fused.members forwards.
KNOWN_CALLBACKS = {
    "ablab.run.callbacks.ModelCheckpoint", "pytorch_lightning.callbacks.ModelCheckpoint",
    "ablab.run.callbacks.LearningRate", "ablab.run.callbacks.DivergenceGuard", "ablab.run.callbacks.Throughput",
    "pytorch_lightning.callbacks.TQDMProgressBar", "pytorch_lightning.callbacks.RichProgressBar",
}


# Each member keeps its own of these whole: its seed, its dropout rate, its own optimizer and schedule
# (fused.optim), loss object, initial weights, augmentation stream and sampler (its own loader).
PER_MEMBER = ("seed", "dropout", "optimizer", "scheduler", "loss", "init", "augment", "sampler")


def key(cfg: DictConfig) -> str:
    """Equal for jobs that may share a group (JSON of the config without the stackable values)."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    for name in PER_MEMBER:
        plain.pop(name, None)
    plain.get("data", {}).pop("fold", None)
    plain.get("regularizer", {}).pop("strength", None)
    return json.dumps(plain, sort_keys=True, default=str)


def _class(target: str):
    from hydra.utils import get_class

    try:
        return get_class(target)
    except Exception:
        return None  # the run itself will say what is wrong with it


def reason_alone(cfg: DictConfig) -> str | None:
    """Why this job runs one by one whatever the others are, or None when it may be fused."""
    target = cfg.model.get("_target_")
    if target not in FUSED_MODELS:
        # Where fusing pays, measured (bench/fused.py, docs/fused.md): an MLP of any width tried was
        # as fast or faster fused on a 2-core CPU; convolutional and recurrent models have no fused
        # form here (grouped convolutions would be one; a CNN under vmap was 0.6x on this CPU).
        return f"model {cfg.model.get('name') or target} has no fused form (fusion covers the MLP)"
    if cfg.get("ckpt_path"):
        return "ckpt_path is set"
    if cfg.get("compile"):
        return "compile=true"
    trainer = cfg.trainer
    if trainer.get("gradient_clip_val"):
        return "gradient clipping (trainer.gradient_clip_val) is over all of a run's weights"
    if (trainer.get("accumulate_grad_batches") or 1) != 1:
        return "trainer.accumulate_grad_batches is set"
    if str(trainer.get("precision", "32")).split("-")[0] not in ("32",):
        return f"trainer.precision={trainer.get('precision')}"
    devices = trainer.get("devices", 1)
    if devices not in (1, "1", "auto", None) or "ddp" in str(trainer.get("strategy", "auto")):
        return "a run on several devices"
    for name, callback in (cfg.get("callbacks") or {}).items():
        target = callback.get("_target_") if callback else None
        if target and target not in KNOWN_CALLBACKS and not getattr(_class(target), "fusable", False):
            return f"callback {name} ({target}) acts on the whole run (a callback may declare `fusable = True`)"
    if cfg.get("viz") and cfg.viz.get("_target_") and not str(cfg.viz.get("_target_")).startswith("ablab.viz."):
        return f"viz {cfg.viz.get('_target_')}"
    if cfg.data.get("longtail"):
        return "long-tailed data (its report is not fanned out yet)"
    return None
