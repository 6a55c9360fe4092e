"""One search worker without training, for tests/test_search.py: the real `Search` loop on a
journal file, each trial's "job" a short sleep that writes results.json, and a line per start
and end of a job in <sweep dir>/jobs.log (to count how often each job ran).

    python -m tests.search_worker <sweep dir> <n_trials> <seconds per job> [<seed>]
"""
import json
import os
import sys
import time
from pathlib import Path

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser

from ablab.sweeps.search import Ended, Search, open_storage, storage_url
from ablab.sweeps.search_space import search_space


def fake_launch(sweep: Path, seconds: float):
    def launch(jobs, first):
        ended = []
        for num, overrides in enumerate(jobs, start=first):
            with open(sweep / "jobs.log", "a") as log:
                log.write(f"start {num} {os.getpid()}\n")
            time.sleep(seconds)
            x = float(overrides[-1].split("=")[1])
            (sweep / str(num)).mkdir(parents=True, exist_ok=True)
            (sweep / str(num) / "results.json").write_text(json.dumps({"status": "completed", "overrides": overrides}))
            with open(sweep / "jobs.log", "a") as log:
                log.write(f"end {num} {os.getpid()}\n")
            ended.append(Ended("completed", -(x - 0.3) ** 2))
        return ended
    return launch


def open_search(sweep: Path, n_trials: int, seed: int = 0, n_jobs: int = 1) -> Search:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = search_space(OverridesParser.create().parse_overrides(["model=mlp", "x=interval(0, 1)"]))
    study = optuna.create_study(storage=open_storage(storage_url(None, sweep)), study_name="ablab",
                                direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed),
                                load_if_exists=True)
    return Search(study, space, n_trials, n_jobs, sweep, heartbeat_s=60)


if __name__ == "__main__":
    where, trials, seconds = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    search = open_search(where, trials, int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    search.run(fake_launch(where, seconds))
    print(f"ran {search.ran}")
