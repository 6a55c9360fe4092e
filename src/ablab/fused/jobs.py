"""A sweep's jobs as Hydra's launchers see them, and the job directory Hydra's `run_job` makes.

The fused launcher composes every job of a batch first (to group them) and trains a group
before Hydra runs any of its jobs, so it makes each member's directory itself, as `run_job`
would: the output dir set in the job's config and in HydraConfig (which the callbacks'
`${hydra:runtime.output_dir}` reads), created, with its .hydra files.
"""
from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import _save_config
from omegaconf import DictConfig, OmegaConf, open_dict, read_write


@dataclass
class Job:
    idx: int
    overrides: list[str]
    config: DictConfig  # with hydra, as run_job gets it
    cfg: DictConfig  # without: what the task gets


def compose(launcher, job_overrides, initial_job_idx: int) -> list[Job]:
    jobs = []
    for i, overrides in enumerate(job_overrides):
        idx = initial_job_idx + i
        config = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
        with open_dict(config):
            config.hydra.job.id = idx
            config.hydra.job.num = idx
        jobs.append(Job(idx, list(overrides), config, task_config(config)))
    return jobs


def task_config(config: DictConfig) -> DictConfig:
    cfg = copy.deepcopy(config)
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    return cfg


def enter_job_dir(job: Job) -> Path:
    """What run_job does before calling the task: the job's output dir, set in its config and in
    HydraConfig (the callbacks' `${hydra:runtime.output_dir}`), created, with its .hydra files."""
    config = job.config
    HydraConfig.instance().set_config(config)
    output_dir = os.path.join(str(OmegaConf.select(config, "hydra.sweep.dir")),
                              str(OmegaConf.select(config, "hydra.sweep.subdir")))
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = os.path.abspath(output_dir)
    HydraConfig.instance().set_config(config)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    if config.hydra.output_subdir is not None:
        hydra_dir = Path(config.hydra.runtime.output_dir) / str(config.hydra.output_subdir)
        _save_config(job.cfg, "config.yaml", hydra_dir)
        _save_config(copy.deepcopy(HydraConfig.instance().cfg), "hydra.yaml", hydra_dir)
        _save_config(config.hydra.overrides.task, "overrides.yaml", hydra_dir)
    return Path(config.hydra.runtime.output_dir)


def merged_checkpoint_path(sweep_dir: Path) -> Path:
    fd, path = tempfile.mkstemp(prefix=".fused-resume-", suffix=".ckpt", dir=sweep_dir)
    os.close(fd)
    return Path(path)
