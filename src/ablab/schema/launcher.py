"""Schema of hydra/launcher: the keys of ablab's fused and devices launchers (src/hydra_plugins/ablab_launchers)
and the numbers of the launchers ablab configures (joblib, submitit's SLURM and local), checked
before the sweep starts: a launcher given a value it cannot use fails only after the sweep
directory exists (joblib: n_jobs=0; devices: jobs_per_device=0), or never says so (fused:
cpu_max_params=-5 fuses nothing; devices=[0,0] runs two jobs on GPU 0 and calls it two devices)."""
from ablab.schema.rules import Rule, Schema, integer, is_integer, number, one_of

FUSED = "hydra_plugins.ablab_launchers.fused_launcher.FusedLauncher"
DEVICES = "hydra_plugins.ablab_launchers.devices_launcher.DevicesLauncher"
JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
LOCAL = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"

_SUBMITIT = {
    "timeout_min": integer(ge=1),
    "cpus_per_task": integer(ge=1),
    "gpus_per_node": integer(ge=0),
    "tasks_per_node": integer(ge=1),
    "mem_gb": integer(ge=1),
    "nodes": integer(ge=1),
}



def _gpu(v) -> bool:
    """A GPU as CUDA_VISIBLE_DEVICES names it: its number (0, 3) or its UUID (GPU-..., MIG-...)."""
    return (is_integer(v) and v >= 0) or (isinstance(v, str) and v.startswith(("GPU-", "MIG-")))


_DEVICES = Rule(lambda v: isinstance(v, list) and all(_gpu(d) for d in v) and len(set(map(str, v))) == len(v),
                "a list of distinct GPU numbers >= 0, e.g. [0,2] (or null: every visible GPU)")

SCHEMA = Schema(targets={
    FUSED: {
        "max_members": integer(ge=1),
        "cpu_max_params": integer(ge=0, allowed="an integer >= 0 (the most weights an MLP may have to fuse on a CPU)"),
    },
    DEVICES: {
        "devices": _DEVICES,
        "jobs_per_device": integer(ge=1, allowed="an integer >= 1 (jobs sharing one GPU at a time)"),
    },
    JOBLIB: {
        # joblib's own rule: a count of workers, or -1 all CPUs, -2 all but one, ...; 0 is refused.
        "n_jobs": Rule(lambda v: is_integer(v) and v != 0, "an integer other than 0 (-1: every CPU)"),
        "backend": one_of("loky", "threading", "multiprocessing"),
        "prefer": one_of("processes", "threads"),
        "require": one_of("sharedmem"),
        "verbose": integer(ge=0),
        "timeout": number(gt=0),
    },
    SLURM: {**_SUBMITIT, "signal_delay_s": integer(ge=0), "max_num_timeout": integer(ge=0),
            "array_parallelism": integer(ge=1)},
    LOCAL: _SUBMITIT,
})  # jobs_per_device=null: refused by the launcher's structured config (an int) when Hydra composes
