"""The `fused` Hydra launcher: a sweep's compatible jobs trained together as one model.

    python train.py -m hydra/launcher=fused model=mlp model.hidden=[128,64] seed=0,1,2,3 optimizer.lr=0.01,0.1

Jobs that differ only in values a fused group keeps per member (seed, fold, the optimizer's
and schedule's numbers, dropout, the penalty's strength, the loss's numbers) train as one
stacked model, one step for all; each still writes its own job directory exactly as it would
alone. Jobs that cannot be fused run one by one, and the launcher says why in one line. The
work is in ablab.fused; this class is the plugin Hydra instantiates.
"""
from dataclasses import dataclass
from typing import Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


@dataclass
class FusedLauncherConf:
    _target_: str = "hydra_plugins.ablab_launchers.fused_launcher.FusedLauncher"
    max_members: int = 16  # jobs per fused group at most (groups are also capped by memory)
    # On a CPU, an MLP with more weights than this runs one by one: measured, it trains no faster
    # fused (bench/fused.py; docs/fused.md). A GPU fuses any MLP.
    cpu_max_params: int = 600_000


ConfigStore.instance().store(group="hydra/launcher", name="fused", node=FusedLauncherConf, provider="ablab")


class FusedLauncher(Launcher):
    def __init__(self, max_members: int = 16, cpu_max_params: int = 600_000) -> None:
        self.max_members, self.cpu_max_params = int(max_members), int(cpu_max_params)
        self.config: Optional[DictConfig] = None
        self.task_function: Optional[TaskFunction] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from pathlib import Path

        from ablab.fused.launch import launch

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        return launch(self, job_overrides, initial_job_idx)
