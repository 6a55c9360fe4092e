"""A fused group's members, checked and ordered, and their training as one Lightning run.

Each member is its job's run as run/train.py's `prepare` built it, inside the job's own
`run_job` (ablab.fused.launch), so member k starts from the weights, batches and dropout stream
its separate run starts from. `train_group` stacks the members (from their own checkpoints when
an earlier run of the sweep left them), fits them as one model and validates and tests each
member's best epoch (fused/finish.py).
"""
from __future__ import annotations

import os

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from pytorch_lightning.callbacks import TQDMProgressBar

from ablab.fused.data import FusedData
from ablab.fused.finish import validate_and_test_best
from ablab.fused.jobs import merged_checkpoint_path
from ablab.fused.members import Member, MemberLoggers, Members
from ablab.fused.classifier import FusedClassifier
from ablab.fused.net import unsupported as net_unsupported
from ablab.run import sweep_output
from ablab.run.callbacks import progress_bar
from ablab.run.checkpoint_io import AtomicCheckpointIO
from ablab.run.cuda_probe import plain_cuda_check_on_cpu
from ablab.run.train import logging_interval


def unsupported_member(member: Member, cpu_max_params: int) -> str | None:
    """Why this built member cannot be fused (or would not train faster fused), or None."""
    why = net_unsupported(member.classifier.model)
    if why:
        return why
    if not on_gpu(member.cfg) and member.parts.params > cpu_max_params:
        # Measured (bench/fused.py, docs/fused.md), 16 members on a 2-core CPU: the 784-784-784-10
        # MLP (1.2M weights) trained at 1.00-1.18x fused, the default 784-512-256-128-10 (0.57M) at
        # 1.95x, the 784-128-64-10 at 2.4x: wide layers keep the cores busy already.
        return (f"an MLP of {member.parts.params:,} weights trains no faster fused on a CPU "
                f"(hydra.launcher.cpu_max_params={cpu_max_params})")
    if member.classifier.schedule.monitor:
        return "a schedule that watches a metric (ReduceLROnPlateau)"
    return None


def on_gpu(cfg) -> bool:
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def split_key(member: Member) -> tuple:
    """What a built member must share with the others of its group."""
    dm = member.datamodule
    return (len(dm.train_dataloader()), len(dm.splits["train"].y), len(dm.splits["val"].y), len(dm.splits["test"].y),
            member.parts.start.epoch if member.parts.start.checkpoint else None, type(member.classifier.penalty))


def optimizer_settings(cfg) -> str:
    """What decides a member's optimizer and schedule: members with equal settings share one
    torch optimizer over their range of the stacks (fused.optim)."""
    return OmegaConf.to_yaml(cfg.optimizer, resolve=True) + OmegaConf.to_yaml(cfg.scheduler, resolve=True)


def renumber(members: list[Member]) -> list[Member]:
    """Places in the stack, members with equal optimizer settings next to each other (their jobs
    keep their numbers and directories)."""
    members = sorted(members, key=lambda m: optimizer_settings(m.cfg))  # stable: job order within equal settings
    for k, m in enumerate(members):
        m.k = k
        m.clock.members = len(members)
    return members


def bytes_per_member(member: Member) -> int:
    """Weights, gradients and two optimizer states, and a batch's activations (float32)."""
    params = sum(p.numel() for p in member.classifier.model.parameters())
    widths = sum(member.cfg.model.get("hidden") or []) + int(torch.tensor(member.datamodule.input_shape).prod())
    return 4 * (4 * params + 4 * member.datamodule.batch_size * widths)


def free_bytes(member: Member) -> int:
    if str(member.cfg.trainer.get("accelerator")) in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return torch.cuda.mem_get_info()[0]
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def train_group(members: list[Member]) -> pl.Trainer:
    """Fit the members as one model; each member's directory gets what its run would write.
    Returns the group's trainer (each member's finish reads its epoch and step)."""
    cfg = members[0].cfg
    resumed = members[0].parts.start.checkpoint is not None
    raws = [torch.load(m.parts.start.checkpoint, map_location="cpu", weights_only=True) for m in members] if resumed else []
    for m, raw in zip(members, raws):
        m.classifier.load_state_dict(raw["state_dict"])
    module = FusedClassifier([m.classifier for m in members], [m.cfg.seed for m in members],
                             share=[optimizer_settings(m.cfg) for m in members])
    quiet = sweep_output.quiet_job(members[0].parts.job.hydra, cfg)  # Lightning's start-up lines once a sweep
    shown = progress_bar(cfg.trainer) and not quiet
    callbacks = [Members(members)] + ([TQDMProgressBar(refresh_rate=10)] if shown else [])
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=MemberLoggers(members),
                          plugins=[AtomicCheckpointIO()], enable_checkpointing=False, enable_progress_bar=shown,
                          enable_model_summary=False, default_root_dir=str(members[0].run_dir.parent),
                          log_every_n_steps=logging_interval(cfg.trainer, len(members[0].datamodule.train_dataloader())))
    merged = _merged(module, members, raws) if resumed else None
    data = FusedData([m.datamodule for m in members])
    try:
        with plain_cuda_check_on_cpu(trainer):
            trainer.fit(module, datamodule=data, ckpt_path=str(merged) if merged else None)
            if trainer.interrupted:
                raise KeyboardInterrupt
            validate_and_test_best(trainer, module, members, data)
        if trainer.interrupted:
            raise KeyboardInterrupt
    except (KeyboardInterrupt, SystemExit):  # Lightning ends fit on Ctrl-C with sys.exit(1)
        for m in members:  # its results.json: its job's `recorded` (run/train.py), as the exception passes
            if m.alive:
                m.logger.finalize("interrupted")
        raise
    except Exception:
        for m in members:
            if m.alive:
                m.logger.finalize("failed")
        raise
    finally:  # each member's logger stays open: its run's finish writes its last points (fused.launch)
        if merged is not None:
            merged.unlink(missing_ok=True)
    return trainer


def _merged(module: FusedClassifier, members: list[Member], raws: list[dict]):
    """One Lightning checkpoint of the group, stacked from its members' own (an earlier run's)."""
    checkpoint = {
        "epoch": raws[0]["epoch"], "global_step": raws[0]["global_step"],
        "pytorch-lightning_version": pl.__version__, "loops": raws[0]["loops"],
        "state_dict": module.state_dict(), "optimizer_states": [{"members": [raw["optimizer_states"][0] for raw in raws], "frozen": [False] * len(raws)}], "lr_schedulers": [],
        "callbacks": {"FusedMembers": {"members": [{"callbacks": raw.get("callbacks", {}),
                                                    "lr_schedulers": raw.get("lr_schedulers", [])} for raw in raws]}},
    }
    path = merged_checkpoint_path(members[0].run_dir.parent)
    torch.save(checkpoint, path)
    return path
