"""DDP inside a Hydra job: which process writes, and what the other ranks run.

Lightning's `ddp` strategy starts ranks 1..N-1 by re-running the command line with the
run's `hydra.run.dir`. For a single run that is right. In a sweep (`-m`) the command
line is the whole sweep and `hydra.run.dir` is not the job's directory, so for the
length of one job `prepare` makes both the job's own: `train.py <job overrides>
ckpt_path=<resumed checkpoint>` into the job directory. `release` undoes that and
closes the job's process group, so the next job of the sweep starts its own ranks.

On SLURM (submitit_slurm with one task per GPU) the scheduler starts every rank and
Lightning starts none; inside joblib or submitit_local workers the command line is the
worker's, so DDP there is refused with one line.
"""
from __future__ import annotations

import os
import sys
from typing import Optional

from hydra.types import RunMode
from omegaconf import DictConfig, read_write

from ablab.errors import UserError

_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
_SCHEDULERS = ("SLURM_NTASKS", "SLURM_PROCID")  # a cluster that starts every rank itself
_saved: dict = {}


def is_rank_zero() -> bool:
    """The process that writes the run's files: rank 0 of a DDP job, or the only process."""
    from pytorch_lightning.utilities import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def starts_processes(trainer_cfg: DictConfig) -> bool:
    strategy = str(trainer_cfg.get("strategy") or "")
    devices = trainer_cfg.get("devices")
    one = devices in (1, "1", [0]) or (isinstance(devices, (list, tuple)) and len(devices) == 1)
    return strategy.startswith("ddp") and not strategy.startswith(("ddp_spawn", "ddp_fork", "ddp_notebook")) \
        and not one and not any(v in os.environ for v in _SCHEDULERS)


def prepare(hydra_cfg: DictConfig, trainer_cfg: DictConfig, ckpt_path: Optional[str]) -> None:
    """Before the Trainer is built, in a sweep's job that will start DDP ranks itself."""
    if hydra_cfg.mode != RunMode.MULTIRUN or not starts_processes(trainer_cfg) or "LOCAL_RANK" in os.environ:
        return
    launcher = str(hydra_cfg.runtime.choices.get("hydra/launcher", "basic"))
    if launcher != "basic":
        raise UserError(f"trainer=ddp cannot start its processes inside hydra/launcher={launcher} workers; "
                        "sweep with the basic launcher (jobs one after another, each on all its devices) "
                        "or hydra/launcher=slurm with one task per device")
    job_args = [o for o in hydra_cfg.overrides.task if not o.startswith("ckpt_path=")]
    _saved.update(argv=list(sys.argv), run_dir=hydra_cfg.run.dir, env={k: os.environ.get(k) for k in _ENV})
    sys.argv = [sys.argv[0], *job_args, *([f"ckpt_path={ckpt_path}"] if ckpt_path else [])]
    with read_write(hydra_cfg):  # Lightning's child command reads hydra.run.dir
        hydra_cfg.run.dir = hydra_cfg.runtime.output_dir


def release(hydra_cfg: Optional[DictConfig] = None) -> None:
    """After the job (whatever its end): undo `prepare` and close the process group."""
    import torch.distributed as dist

    if not _saved:
        return
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    sys.argv = _saved["argv"]
    if hydra_cfg is not None:
        with read_write(hydra_cfg):
            hydra_cfg.run.dir = _saved["run_dir"]
    for key, value in _saved["env"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _saved.clear()
