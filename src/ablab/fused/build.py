"""A fused group's members, built as their separate runs build themselves, and its training.

`build_member` follows run/train.py step for step up to `trainer.fit` (seed, data, network and
callbacks; its optimizer once the group's trainer exists), so member k starts from the weights,
batches and dropout stream its separate run starts from. `train_group` stacks the members (resuming from their own
checkpoints when an earlier run of the sweep left them) and fits them as one Lightning run.
"""
from __future__ import annotations

import os
import sys

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from pytorch_lightning.callbacks import TQDMProgressBar

from ablab.factors import build
from ablab.fused.data import FusedData
from ablab.fused.finish import validate_and_test_best
from ablab.fused.jobs import Job, enter_job_dir, merged_checkpoint_path
from ablab.fused.members import Member, MemberLoggers, Members, SharedClock, ordered
from ablab.fused.module import FusedClassifier
from ablab.fused.net import unsupported as net_unsupported
from ablab.run import names, sweep_output
from ablab.run.callbacks import callbacks_for, progress_bar
from ablab.run.checkpoint_io import AtomicCheckpointIO
from ablab.run.cuda_probe import plain_cuda_check_on_cpu
from ablab.run.results_writer import ResultsWriter
from ablab.run.resume.start import choose
from ablab.run.resume.state import EpochSeed
from ablab.run.train import Job as RunJob
from ablab.run.train import _classifier, _logger, _logging_interval
from ablab.schema import validate


def build_member(job: Job, group_size: int) -> Member | None:
    """Member of a group, or None when an earlier run of the sweep completed the job."""
    run_dir = enter_job_dir(job)
    cfg = job.cfg
    run = RunJob.of_this_process()
    if run.earlier.completed:
        return None
    name = names.job_name(run.hydra, cfg.seed)
    results = ResultsWriter(run_dir / "results.json", name=name, overrides=run.overrides, seed=cfg.seed,
                            description=names.job_description(run.hydra, cfg.seed))
    validate(cfg)
    start = choose(None, run.earlier.checkpoints, run.overrides)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)  # as the separate run: the same weights
    datamodule = build.datamodule(cfg)
    datamodule.setup("fit")
    classifier = _classifier(cfg, datamodule, run.overrides)
    params = sum(p.numel() for p in classifier.model.parameters())
    results.note(train_class_counts=dict(zip(datamodule.classes, datamodule.train_counts)), params=params,
                 val_size=len(datamodule.splits["val"].y))
    start = start.fitting(classifier)
    if start.note:
        print(f"ablab: {run_dir}: {start.note}", file=sys.stderr)
    clock = SharedClock(group_size)
    callbacks = ordered(callbacks_for(cfg, datamodule, EpochSeed(cfg.seed), clock) + [results])
    member = Member(k=0, job_num=job.idx, hydra_config=job.config, cfg=cfg, run_dir=run_dir, name=name,
                    datamodule=datamodule, classifier=classifier, callbacks=callbacks, results=results,
                    clock=clock, logger=None, run=run, start=start, params=params)
    return member


def unsupported_member(member: Member, cpu_max_params: int) -> str | None:
    """Why this built member cannot be fused (or would not train faster fused), or None."""
    why = net_unsupported(member.classifier.model)
    if why:
        return why
    if not on_gpu(member.cfg) and member.params > cpu_max_params:
        # Measured (bench/fused.py, docs/fused.md), 16 members on a 2-core CPU: the 784-784-784-10
        # MLP (1.2M weights) trained at 1.00-1.18x fused, the default 784-512-256-128-10 (0.57M) at
        # 1.95x, the 784-128-64-10 at 2.4x: wide layers keep the cores busy already.
        return (f"an MLP of {member.params:,} weights trains no faster fused on a CPU "
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
            member.start.epoch if member.start.checkpoint else None, type(member.classifier.penalty))


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


def train_group(members: list[Member]) -> None:
    """Fit the members as one model; each member's directory gets what its run would write."""
    cfg = members[0].cfg
    for m in members:  # each member's TensorBoard run, with its hparams (once per run, as run/train.py)
        m.logger = _logger(m.cfg, m.run, m.start, m.params, m.name)
    resumed = members[0].start.checkpoint is not None
    raws = [torch.load(m.start.checkpoint, map_location="cpu", weights_only=True) for m in members] if resumed else []
    for m, raw in zip(members, raws):
        m.classifier.load_state_dict(raw["state_dict"])
    module = FusedClassifier([m.classifier for m in members], [m.cfg.seed for m in members],
                             share=[optimizer_settings(m.cfg) for m in members])
    shown = progress_bar(cfg.trainer)
    callbacks = [Members(members)] + ([TQDMProgressBar(refresh_rate=10)] if shown else [])
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=MemberLoggers(members),
                          plugins=[AtomicCheckpointIO()], enable_checkpointing=False, enable_progress_bar=shown,
                          enable_model_summary=False, default_root_dir=str(members[0].run_dir.parent),
                          log_every_n_steps=_logging_interval(cfg.trainer, len(members[0].datamodule.train_dataloader())))
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
        for m in members:  # each directory as an interrupted run leaves it
            if m.alive:
                m.logger.finalize("interrupted")
                m.results.end("interrupted", "interrupted by the user")
                m.results.note(wall_s=round(m.clock.elapsed_s, 3))
                m.results.write()
                sweep_output.print_job_line(m.results.record, m.job_num)
        raise
    except Exception:
        for m in members:
            if m.alive:
                m.logger.finalize("failed")
        raise
    finally:  # each member's logger stays open: its run's finish writes its last points (fused.launch)
        if merged is not None:
            merged.unlink(missing_ok=True)


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
