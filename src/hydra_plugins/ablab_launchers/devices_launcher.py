"""The `devices` Hydra launcher: one job per GPU at a time, every GPU of the machine busy.

    python train.py -m hydra/launcher=devices optimizer=sgd,adam,rmsprop,adamw seed=0,1
    python train.py -m hydra/launcher=devices hydra.launcher.jobs_per_device=2 ...   # two small jobs per GPU
    python train.py -m hydra/launcher=devices 'hydra.launcher.devices=[0,2]' ...     # these GPUs only

Each job runs in a worker process that sees only its GPU (CUDA_VISIBLE_DEVICES), jobs wait
for a free device in order, and each job's results.json names its `device`. Without a GPU
the jobs run one after another, as with Hydra's basic launcher. The work is in
ablab.sweeps.devices; this class is the plugin Hydra instantiates.
"""
import threading
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


@dataclass
class DevicesLauncherConf:
    _target_: str = "hydra_plugins.ablab_launchers.devices_launcher.DevicesLauncher"
    # GPUs to use, as CUDA_VISIBLE_DEVICES numbers them; null: every GPU this process sees.
    devices: Optional[List[Any]] = None
    jobs_per_device: int = 1  # jobs sharing one GPU at a time (small models leave a GPU idle between steps)


ConfigStore.instance().store(group="hydra/launcher", name="devices", node=DevicesLauncherConf, provider="ablab")


class DevicesLauncher(Launcher):
    def __init__(self, devices: Optional[Sequence[Any]] = None, jobs_per_device: int = 1) -> None:
        from ablab.sweeps.devices import Workers

        self.devices = None if devices is None else [str(d) for d in devices]
        self.jobs_per_device = int(jobs_per_device)
        if self.jobs_per_device < 1:
            raise ValueError(f"devices launcher: jobs_per_device must be >= 1, got {jobs_per_device}")
        self.workers = Workers()  # kept between launch calls: a search's batches reuse them
        self._free = None  # ablab.sweeps.devices.FreeSlots, shared by concurrent launch calls
        self._lock = threading.Lock()
        self._logging = False
        self.config: Optional[DictConfig] = None
        self.task_function: Optional[TaskFunction] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def free_slots(self):
        """The slots (index, GPU) no job holds; None when there is no GPU (jobs run in this process)."""
        from ablab.sweeps.devices import FreeSlots, slots, visible_gpus

        with self._lock:
            if self._free is None:
                devices = self.devices if self.devices is not None else visible_gpus()
                self._free = FreeSlots(list(enumerate(slots(devices, self.jobs_per_device))))
            return self._free if self._free.size else None

    def concurrent_launches(self) -> int:
        """How many launch calls may run at once (a search launches each trial alone): one per slot."""
        free = self.free_slots()
        return free.size if free is not None else 1

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from ablab.sweeps.devices import launch

        with self._lock:  # once: a search calls launch from several threads at a time
            if not self._logging:
                setup_globals()
                configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
                self._logging = True
        return launch(self, job_overrides, initial_job_idx)
