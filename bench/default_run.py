"""The first thing a user runs: `python train.py` with no arguments, timed as they would.

    python bench/default_run.py                 # 3 fresh launches, the median and every launch
    python bench/default_run.py --repeats 5 --seeds 0 1 2

Each launch is a new process in a new empty working directory (so nothing is cached
from an earlier one), started the way README says, and timed from launch to exit: the
imports, reading the embedded MNIST sample, 3 epochs of the default CNN, the final
validation and test and the figures all count. The targets (out-of-the-box issue):
at most 60 s wall on the 2-core CPU machine and at least 98.5% validation accuracy.
The 1-minute load average is printed before and after each launch: above the number
of cores, other work was competing and the wall time is inflated.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def launch(seed: int | None, extra: list[str]) -> dict:
    work = Path(tempfile.mkdtemp(prefix="ablab-default-run-"))
    args = ([] if seed is None else [f"seed={seed}"]) + extra
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(REPO / "train.py"), *args], cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"python train.py {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    results = json.loads(next((work / "outputs").glob("*/*/results.json")).read_text())
    return {"seed": results["seed"], "wall_s": wall, "val_acc": results["val"]["acc"],
            "test_acc": results["test"]["acc"], "epochs": results["epochs"],
            "load": (load_before, os.getloadavg()[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="launches per seed (default 3)")
    parser.add_argument("--seeds", type=int, nargs="*", default=None,
                        help="seeds to launch with (default: none given, i.e. the default seed 0)")
    parser.add_argument("extra", nargs="*", help="overrides after --, e.g. -- model=lenet5")
    args = parser.parse_args()
    seeds = args.seeds or [None]
    print(f"cores {os.cpu_count()}, python train.py {' '.join(args.extra)}".rstrip(), flush=True)
    print("| launch | seed | wall s | val acc | test acc | load before-after |")
    print("|---:|---:|---:|---:|---:|---|")
    runs = []
    for repeat in range(args.repeats):
        for seed in seeds:  # interleaved, so a slow spell of the machine spreads over every seed
            r = launch(seed, args.extra)
            runs.append(r)
            print(f"| {len(runs)} | {r['seed']} | {r['wall_s']:.1f} | {100 * r['val_acc']:.2f}% | "
                  f"{100 * r['test_acc']:.2f}% | {r['load'][0]:.2f}-{r['load'][1]:.2f} |", flush=True)
    walls = [r["wall_s"] for r in runs]
    vals = [r["val_acc"] for r in runs]
    print(f"median wall {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}); "
          f"val acc median {100 * statistics.median(vals):.2f}% (min {100 * min(vals):.2f}%); "
          f"targets: <= 60 s, >= 98.50%")


if __name__ == "__main__":
    main()
