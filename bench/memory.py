"""Peak memory of EMNIST-balanced-size and CIFAR-10-size data through train.py: uint8, no float copy.

    python bench/memory.py                       # both datasets, cold and warm cache
    python bench/memory.py --dataset cifar10 --steps 50 --model mlp

Fake datasets in the real on-disk formats (tests/fakes.py: IDX files for EMNIST balanced,
112,800 + 18,800 images; CIFAR-10 pickles, 50,000 + 10,000) are written to a temporary
root, then `train.py`'s entry runs in a fresh process per case with a probe callback that
reads the process's memory (VmRSS now, VmHWM peak) after the imports, after data set-up,
at the first validation (so over set-up and the training steps) and at the end (with the
evaluation batches, data.eval_batch_size). The first job decodes the raw files (cache cold); a later
job maps the decoded cache (warm). Figures are in MB; "data" is the uint8 size of the set.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = {"emnist": (112_800, 18_800, 47, 1, 28), "cifar10": (50_000, 10_000, 10, 3, 32)}


def memory_mb() -> dict:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {k: int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def write_fake(name: str, root: Path) -> None:
    sys.path.insert(0, str(REPO))
    from tests import fakes

    n_train, n_test, classes, _, _ = SIZES[name]
    if name == "emnist":
        fakes.emnist_root(root, n_train=n_train, n_test=n_test, classes=classes)
    else:
        fakes.cifar10_root(root, per_batch=n_train // 5, n_test=n_test)


def worker(args) -> None:
    import pytorch_lightning as pl

    sys.path.insert(0, str(REPO))
    import train
    import ablab.run.train  # noqa: F401  everything train.py imports, before any data

    marks = {"after imports": memory_mb()}

    class Probe(pl.Callback):
        def setup(self, trainer, pl_module, stage):
            if stage != "fit":  # validate and test call setup again, after training's peaks
                return
            marks["after data set-up"] = memory_mb()  # run.py sets the data up before the trainer
            dm = trainer.datamodule
            marks["tensors"] = {s: [str(t.dtype) for t in dm.splits[s]] for s in dm.splits}

        def on_validation_start(self, trainer, pl_module):
            marks.setdefault("training steps", memory_mb())

    global MemoryProbe
    MemoryProbe = Probe
    out = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    sys.argv = ["train.py", f"data={args.dataset}", f"data.root={args.root}", f"model={args.model}",
                "trainer.max_epochs=1", f"trainer.limit_train_batches={args.steps}", "trainer.limit_val_batches=2",
                "trainer.limit_test_batches=2", "trainer.enable_progress_bar=false", "viz=none",
                f"hydra.run.dir={out}", "+callbacks.memory_probe._target_=__main__.MemoryProbe"]
    try:
        train.train()
        status = json.loads((out / "results.json").read_text())["status"]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    marks["end"] = memory_mb()
    print("BENCH " + json.dumps({"status": status, **marks}))


MemoryProbe = None  # set in the worker; Hydra instantiates __main__.MemoryProbe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=[*SIZES, "both"], default="both")
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--steps", type=int, default=20, help="training steps per case")
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    rows = ["| data | cache | data uint8 MB | a float32 copy would be MB | RSS after imports | after set-up (peak) "
            "| peak to end of training steps | peak to end of run | split dtypes |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in (list(SIZES) if args.dataset == "both" else [args.dataset]):
        n_train, n_test, _, c, s = SIZES[name]
        data_mb = (n_train + n_test) * c * s * s / 2**20
        work = Path(tempfile.mkdtemp(prefix=f"bench-memory-{name}-"))
        try:
            t = time.perf_counter()
            write_fake(name, work / "data")
            print(f"{name}: fake data written in {time.perf_counter() - t:.0f} s", flush=True)
            for cache in ("cold", "warm"):
                cmd = [sys.executable, __file__, "--worker", "--dataset", name, "--root", str(work / "data"),
                       "--model", args.model, "--steps", str(args.steps)]
                env = {**os.environ, "ABLAB_CACHE": str(work / "cache")}  # used if the root were read-only
                t = time.perf_counter()
                proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")), None)
                if proc.returncode or line is None:
                    raise SystemExit(f"{name} ({cache}) failed:\n{proc.stderr[-3000:]}")
                m = json.loads(line[6:])
                print(f"  {cache}: {time.perf_counter() - t:.0f} s, {json.dumps(m)}", flush=True)
                dtypes = sorted({d for ds in m["tensors"].values() for d in ds})
                rows.append(f"| {name} | {cache} | {data_mb:.0f} | {4 * data_mb:.0f} | {m['after imports']['VmRSS']:.0f} "
                            f"| {m['after data set-up']['VmRSS']:.0f} ({m['after data set-up']['VmHWM']:.0f}) "
                            f"| {m['training steps']['VmHWM']:.0f} | {m['end']['VmHWM']:.0f} | {', '.join(dtypes)} |")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
