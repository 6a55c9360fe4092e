"""A sweep's jobs as Hydra's launchers see them: composed first, so that the fused launcher
can group them before any runs (each then runs inside Hydra's own `run_job`)."""
from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, open_dict, read_write


@dataclass
class SweepJob:
    idx: int
    overrides: list[str]
    config: DictConfig  # with hydra, as run_job gets it
    cfg: DictConfig  # without: what the task gets


def compose(launcher, job_overrides, initial_job_idx: int) -> list[SweepJob]:
    jobs = []
    for i, overrides in enumerate(job_overrides):
        idx = initial_job_idx + i
        config = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
        with open_dict(config):
            config.hydra.job.id = idx
            config.hydra.job.num = idx
        jobs.append(SweepJob(idx, list(overrides), config, task_config(config)))
    return jobs


def task_config(config: DictConfig) -> DictConfig:
    cfg = copy.deepcopy(config)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    return cfg


def merged_checkpoint_path(sweep_dir: Path) -> Path:
    fd, path = tempfile.mkstemp(prefix=".fused-resume-", suffix=".ckpt", dir=sweep_dir)
    os.close(fd)
    return Path(path)
