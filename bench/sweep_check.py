"""What checking every job of a sweep before the first one costs (ablab.cli.check).

    python bench/sweep_check.py            # a 100-job grid and a 25-value OFAT sweep, 5 repeats

Composes the multirun config as `train.py -m` would, then times the check of every job's
values (ablab.sweeps.precheck: one compose per distinct set of group choices, plain values
set on a copy); the data check is not included (it loads the dataset the jobs load next).
Target (reliability issue): under 1 s for a 100-job sweep on the 2-core CPU.
"""
import os
import statistics
import time

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode

from ablab.cli.check import _check_every_job
from ablab.paths import CONF_DIR
from ablab.sweeps.precheck import planned_jobs

SWEEPS = {
    "basic grid, 5 optimizers x 4 lr x 5 seeds": ["optimizer=sgd,adam,rmsprop,adamw,adagrad",
                                                  "optimizer.lr=0.1,0.01,0.001,0.0001", "seed=0,1,2,3,4"],
    "ofat, 6 factors x 4 seeds": ["hydra/sweeper=ofat", "optimizer=sgd,adam,rmsprop", "activation=relu,gelu,tanh",
                                  "dropout=0,0.1,0.3", "norm=batch,layer,none", "loss=ce,focal",
                                  "optimizer.lr=0.01,0.001", "seed=0,1,2,3"],
}


def main() -> None:
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    print("| sweep | jobs | check s (median of 5) | min-max |\n|---|---:|---:|---|")
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        hydra = GlobalHydra.instance().hydra
        for name, overrides in SWEEPS.items():
            config = hydra.compose_config("train", overrides, run_mode=RunMode.MULTIRUN)
            jobs = len(planned_jobs(config))
            times = []
            for _ in range(5):
                started = time.perf_counter()
                _check_every_job(config, "train")
                times.append(time.perf_counter() - started)
            print(f"| {name} | {jobs} | {statistics.median(times):.2f} | {min(times):.2f}-{max(times):.2f} |")
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
