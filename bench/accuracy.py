"""Accuracy benchmark: each model's validation accuracy on real images, against its target.

    python bench/accuracy.py                              # every case, one at a time, then the table
    python bench/accuracy.py --cases cnn,mlp --out multirun/bench-accuracy
    python bench/accuracy.py --cases resnet -- model.width=32 trainer.max_epochs=4   # try other settings
    python bench/accuracy.py --read multirun/bench-accuracy                          # only print the table
    python bench/accuracy.py --cases cnn_cifar --cifar-root <folder of CIFAR-10 JPEGs, train/<class>/*.jpg>

A case is one experiment config (conf/experiment/<name>.yaml: model, data and the settings
that get there); each runs as `python train.py experiment=<name> viz=none` in a fresh
process, one after another so they do not compete for the CPU, into <out>/<case>/
(an earlier run of that case there is replaced). The table is read back from each run's
results.json: val acc is the best checkpoint's, on the held-out split (899 digits of the
embedded MNIST sample; 10% of the CIFAR folder's images); the cnn_cifar case runs only with
--cifar-root (a folder dataset, e.g. 5,000 CIFAR-10 JPEGs in train/<class>/); train images/s is steady-state training throughput; wall s is the
whole process from launch to exit and CPU s its user + system time (all threads), so CPU
s is the better measure of cost on a busy machine. Load is the 1-minute load average at
the start and end of the case: with more runnable processes than cores, wall time and
images/s are inflated by other work.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    experiment: str
    target: float  # validation accuracy to reach
    needs_root: bool = False  # a folder dataset: data.root from --cifar-root


CASES = {
    "cnn": Case("mnist_sample_cnn", 0.985),
    "resnet": Case("mnist_sample_resnet", 0.985),
    "lenet5": Case("mnist_sample_lenet5", 0.98),
    "rnn": Case("mnist_sample_rnn", 0.97),
    "mlp": Case("mnist_sample_mlp", 0.965),
    "cnn_cifar": Case("folder_cifar_cnn", 0.65, needs_root=True),
}


def run(name: str, case: Case, out: Path, extra: list[str]) -> None:
    run_dir = out / name
    if (run_dir / "results.json").exists() or (run_dir / ".hydra").exists():
        shutil.rmtree(run_dir)  # a stale best.ckpt would make Lightning save best-v1.ckpt beside it
    command = [sys.executable, "train.py", f"experiment={case.experiment}", "viz=none",
               "trainer.enable_progress_bar=false", *extra, f"hydra.run.dir={run_dir}"]
    print("$", " ".join(["python", *command[1:]]), flush=True)
    load_start = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    log = run_dir.parent / f"{name}.log"
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as stream:
        code = subprocess.run(command, cwd=REPO, stdout=stream, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "bench.json").write_text(json.dumps({
        "command": command[1:], "exit_code": code, "process_wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
        "load_start": load_start, "load_end": os.getloadavg()[0], "target": case.target,
    }, indent=2))
    if code:
        print(f"  exit code {code}; see {log}", flush=True)


def row(name: str, run_dir: Path) -> list[str]:
    bench = json.loads((run_dir / "bench.json").read_text())
    choices = {}
    hydra_yaml = run_dir / ".hydra" / "hydra.yaml"
    if hydra_yaml.exists():
        choices = yaml.safe_load(hydra_yaml.read_text())["hydra"]["runtime"]["choices"]
    results_path = run_dir / "results.json"
    r = json.loads(results_path.read_text()) if results_path.exists() else {"status": "no results.json"}
    target = bench["target"]
    if r.get("status") == "completed":
        acc = r["val"]["acc"]
        verdict = "pass" if acc >= target else "FAIL"
        figures = [f"{r['params']:,}", str(r["epochs"]), f"{100 * acc:.2f}%"]
    else:
        verdict = r.get("status", "?")
        figures = [f"{r['params']:,}" if r.get("params") else "-", "-", "-"]
    ips = r.get("train_images_per_s")
    extra = [o for o in bench["command"][1:] if o.split("=")[0] not in
             ("viz", "trainer.enable_progress_bar", "hydra.run.dir") and not o.startswith("experiment=")]
    experiment = " ".join([choices.get("experiment") or name, *extra])
    return [choices.get("model", "?"), choices.get("data", "?"), experiment,
            *figures, f"{100 * target:.1f}%", verdict, f"{ips:,.0f}" if ips else "-",
            f"{bench['process_wall_s']:.0f}", f"{bench['cpu_s']:.0f}",
            f"{bench['load_start']:.1f}-{bench['load_end']:.1f}"]


def table(out: Path, names: list[str]) -> str:
    head = ["model", "data", "experiment", "params", "epochs", "val acc", "target", "result",
            "train img/s", "wall s", "CPU s", "load"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * 4 + ":---:|" + "---:|" * 4]
    for name in names:
        if (out / name / "bench.json").exists():
            lines.append("| " + " | ".join(row(name, out / name)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="cases: " + ", ".join(f"{n} (experiment={c.experiment}, target "
                                                                  f"{100 * c.target:.1f}%)" for n, c in CASES.items()))
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "multirun" / "bench-accuracy",
                        help="directory of the case run directories and logs (default: multirun/bench-accuracy)")
    parser.add_argument("--read", action="store_true", help="only print the table of the runs already in --out")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="for the MNIST cases: a folder holding the two t10k IDX files (default: the embedded sample)")
    parser.add_argument("--cifar-root", type=Path, default=None,
                        help="image folder (train/<class>/*.jpg) for the cnn_cifar case; without it that case is left out")
    parser.add_argument("extra", nargs="*", help="more overrides for every case, after --, e.g. -- seed=1")
    args = parser.parse_args()
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    if args.cifar_root is None and not args.read:
        names = [n for n in names if n not in CASES or not CASES[n].needs_root]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    out = args.out.resolve()
    if not args.read:
        for name in names:
            root = [f"data.root={args.cifar_root.resolve()}"] if CASES[name].needs_root else (
                [f"data.root={args.data_root.resolve()}"] if args.data_root else [])
            run(name, CASES[name], out, [*root, *args.extra])
            print(table(out, [name]).splitlines()[-1], flush=True)
    text = table(out, names)
    print(text)
    # Exit 1 when a case missed its target, did not complete or has no run yet, so a script can tell.
    rows = text.splitlines()[2:]
    sys.exit(0 if len(rows) == len(names) and all(" | pass | " in r for r in rows) else 1)


if __name__ == "__main__":
    main()
