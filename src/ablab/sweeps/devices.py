"""Every GPU of a machine busy: a sweep's jobs run side by side, each pinned to one device.

`hydra/launcher=devices` (hydra_plugins/ablab_launchers/devices_launcher.py) hands its jobs
to `launch` here. The machine's devices become slots: every visible GPU `jobs_per_device`
times (4 GPUs, 2 per device: 8 slots). Each slot is one worker process (loky's, the engine of
Hydra's joblib launcher) started with CUDA_VISIBLE_DEVICES=<its GPU> in its environment, so
torch in it sees that GPU alone, as cuda:0, and Lightning's `devices=auto` trains there.
A job takes the first free slot, in job order; a slot takes the next waiting job when its
job ends. Each job is a normal Hydra job (its own directory, results.json with the
`device` it trained on, resume from its last.ckpt), so results and resuming are exactly
those of the basic launcher.

A stop signal (Ctrl-C, a scheduler's SIGTERM to this process alone) is sent on to every worker
(ablab.run.stop.forward), whose own stop handler ends its running job `interrupted` with its
last finished epoch checkpointed; no waiting job starts, and this process exits 130 / 143 once
the running ones have written their results.json.

A slot's worker lives as long as the launcher: torch and Lightning are imported once per
slot, not once per job (~5 s each), and a search's later batches start at once. Without a
GPU (or with `devices=[]`) the jobs run one after another in this process, as with Hydra's
basic launcher.
"""
from __future__ import annotations

import logging
import os
import queue
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from ablab import upstream

log = logging.getLogger(__name__)
Slot = TypeVar("Slot")
Result = TypeVar("Result")


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them for a child ("0", "3"):
    the entries of this process's own CUDA_VISIBLE_DEVICES when set, else 0 .. count-1."""
    import torch

    count = torch.cuda.device_count()  # NVML's count under Lightning's NVML check: no CUDA context here
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(i) for i in range(count)]
    return [d.strip() for d in listed.split(",") if d.strip()][:count]


def slots(devices: Sequence[Any], jobs_per_device: int = 1) -> list[str]:
    """Each device `jobs_per_device` times, round robin: the first jobs spread over every device."""
    if jobs_per_device < 1:
        raise ValueError(f"devices launcher: jobs_per_device must be >= 1, got {jobs_per_device}")
    return [str(d) for _ in range(jobs_per_device) for d in devices]


class FreeSlots:
    """The slots no job holds. One per launcher, so that launch calls made at the same time (a
    search's trials, each launched as its own call) share the devices too."""

    def __init__(self, all_slots: Sequence[Slot]) -> None:
        self.size = len(all_slots)
        self._free: queue.Queue = queue.Queue()
        for slot in all_slots:
            self._free.put(slot)

    def take(self) -> Slot:
        return self._free.get()  # waits while every slot holds a job

    def give(self, slot: Slot) -> None:
        self._free.put(slot)


def run_on_slots(n_jobs: int, free: "FreeSlots | Sequence[Slot]", run: Callable[[int, Slot], Result]) -> list[Result]:
    """run(i, slot) for i = 0 .. n_jobs-1, at most one job per slot at a time, jobs started in
    order as slots free up; the results in job order. One thread per running job waits on it."""
    free = free if isinstance(free, FreeSlots) else FreeSlots(list(free))

    def one(i: int) -> Result:
        slot = free.take()
        try:
            return run(i, slot)
        finally:
            free.give(slot)

    pool = ThreadPoolExecutor(max_workers=max(1, min(n_jobs, free.size)), thread_name_prefix="ablab-slot")
    futures = [pool.submit(one, i) for i in range(n_jobs)]
    try:
        return [f.result() for f in futures]
    finally:
        for f in futures:  # interrupted: nothing new starts; the running jobs end as they are told
            f.cancel()
        pool.shutdown(wait=True)


def execute_job(idx: int, overrides: Sequence[str], hydra_context, config, task_function, singleton_state):
    """One Hydra job in a worker process, as Hydra's joblib launcher runs one."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.singleton import Singleton
    from hydra.core.utils import run_job, setup_globals
    from omegaconf import open_dict

    setup_globals()
    Singleton.set_state(singleton_state)
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
        sweep_config.hydra.job.num = idx
    HydraConfig.instance().set_config(sweep_config)
    return run_job(hydra_context=hydra_context, config=sweep_config, task_function=task_function,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


class Workers:
    """One loky worker process per slot, pinned to the slot's GPU; made on first use, kept. Each
    worker watches for stop signals as an entry point does, and this process's stop is sent on
    to them."""

    def __init__(self) -> None:
        from ablab.run import stop

        self._by_slot: dict[int, Any] = {}
        stop.forward(self.pids)

    def get(self, index: int, device: str):
        from joblib.externals.loky import ProcessPoolExecutor

        from ablab.run import stop

        if index not in self._by_slot:
            self._by_slot[index] = ProcessPoolExecutor(max_workers=1, env={"CUDA_VISIBLE_DEVICES": device},
                                                       initializer=stop.watch)
        return self._by_slot[index]

    def pids(self) -> list[int]:
        """The worker processes now alive (loky keeps them by pid; it replaces one that died)."""
        return [pid for executor in list(self._by_slot.values()) for pid in upstream.worker_pids(executor)]

    def started(self) -> bool:
        return bool(self._by_slot)

    def drop(self, index: int) -> None:
        """A worker that died (killed, out of memory): the slot gets a fresh one for its next job."""
        executor = self._by_slot.pop(index, None)
        if executor is not None:
            executor.shutdown(wait=False, kill_workers=True)

    def close(self) -> None:
        for index in list(self._by_slot):
            self._by_slot.pop(index).shutdown(wait=True)


def launch(launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list:
    """Run the jobs on the launcher's slots (the basic launcher's loop when there is no GPU)."""
    from hydra.core.singleton import Singleton
    from hydra.core.utils import JobReturn, JobStatus, filter_overrides

    free = launcher.free_slots()
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if free is None:
        log.info(f"devices launcher: no GPU visible; {len(job_overrides)} jobs one after another in this process")
        from hydra._internal.core_plugins.basic_launcher import BasicLauncher

        basic = BasicLauncher()
        basic.setup(hydra_context=launcher.hydra_context, task_function=launcher.task_function, config=launcher.config)
        return list(basic.launch(job_overrides, initial_job_idx))
    if len(job_overrides) > 1 or not launcher.workers.started():  # a search launches its trials one by one
        log.info(f"devices launcher: {len(job_overrides)} job(s) on {free.size} slots "
                 f"({launcher.jobs_per_device} per device), into {sweep_dir}")
    state = Singleton.get_state()

    def run(i: int, slot: tuple[int, str]) -> JobReturn:
        from ablab.run import stop

        stop.check()  # a stop signal came while this job waited for a slot: it does not start
        index, device = slot
        idx = initial_job_idx + i
        log.info(f"\t#{idx} on device {device}: {' '.join(filter_overrides(job_overrides[i]))}")
        try:
            future = launcher.workers.get(index, device).submit(
                execute_job, idx, job_overrides[i], launcher.hydra_context, launcher.config, launcher.task_function, state)
            return future.result()
        except Exception as exc:  # the worker itself died: this job failed, the others go on
            launcher.workers.drop(index)
            failed = JobReturn(overrides=list(job_overrides[i]), status=JobStatus.FAILED, _return_value=exc)
            log.error(f"devices launcher: job #{idx} on device {device} lost its worker: {exc}")
            return failed

    return run_on_slots(len(job_overrides), free, run)

