"""The fused launcher against one job after another, through ablab (Lightning included).

    python bench/fused.py                      # throughput, the 8-job sweep, both quick studies
    python bench/fused.py --part throughput    # or: sweep, studies
    python bench/fused.py --members 1 4 16 --models mlp_small mlp

1. throughput: training images/s of K members fused (the sum of the members' shares in their
   results.json) against K separate jobs (all the jobs' images over all their training
   seconds), for K in --members, per model: the MLP at hidden [128,64] ("mlp_small") and at
   its default width, the CNN and the ResNet. Each job trains 2 epochs of --batches batches
   (the first epoch is left out of images/s: results.json's own rule) on a Fashion-MNIST-size
   set of synthetic 28x28 images (60,000 train, written once into a temp folder in the IDX
   format, so torchvision's own loader reads it). A model the launcher does not fuse runs one
   by one: its two figures are the same kind of run, and the table says so.
2. sweep: the wall time, start-up included, of an 8-job small-MLP sweep (seed=0..7, 1 and 3
   epochs of the 60,000 images: --epochs) with and without the fused launcher.
3. studies: the wall time of `ablab-study mnist_mlp_grid` and `mnist_mlp_factors` (quick
   scale, --studies) with and without `hydra/launcher=fused`.

The per-layer arithmetic (loop, stacked, vmap) is bench/fused_layers.py.

Repeats are interleaved (fused, separate, fused, ...) and medians reported; the 1-minute load
average is printed before each part: above the core count, other work competed.
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
MODELS = {
    "mlp_small": ["model=mlp", "model.hidden=[128,64]"],
    "mlp": ["model=mlp"],
    "mlp_wide": ["model=mlp", "model.hidden=[784,784]"],  # mnist_mlp_factors' two-layer width
    "cnn": ["model=cnn"],
    "resnet": ["model=resnet"],
}


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def fashion_sized(root: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from tests import fakes  # the test suite's IDX writer: real on-disk formats, synthetic images

    if not (root / "FashionMNIST").exists():
        fakes.mnist_root(root, folder="FashionMNIST", n_train=60000, n_test=10000)
    return root


def sweep(out: Path, launcher: str, *overrides: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "train.py", "-m", f"hydra/launcher={launcher}", *overrides,
                           f"hydra.sweep.dir={out}"], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: sweep failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def records(out: Path, jobs: int) -> list[dict]:
    return [json.loads((out / str(j) / "results.json").read_text()) for j in range(jobs)]


def images_per_s(out: Path, jobs: int, fused: bool) -> float:
    rs = records(out, jobs)
    if fused:  # each member's figure is its share of the group's
        return sum(r["train_images_per_s"] for r in rs)
    return jobs / sum(1 / r["train_images_per_s"] for r in rs)  # equal images per job: all over all seconds


def throughput(data: Path, work: Path, members: list[int], models: list[str], batches: int, repeats: int) -> None:
    print(f"## throughput ({load()})")
    print("| model | K | fused images/s | separate images/s | ratio | how |")
    print("|---|---|---|---|---|---|")
    for model in models:
        for k in members:
            common = ["data=fashion_mnist", f"data.root={data}", "data.download=false", *MODELS[model],
                      f"seed={','.join(map(str, range(k)))}" if k > 1 else "seed=0", "trainer.max_epochs=2",
                      f"trainer.limit_train_batches={batches}", "trainer.limit_val_batches=2",
                      "trainer.limit_test_batches=2", "viz=none"]
            fused, separate, how = [], [], ""
            for r in range(repeats):
                out = work / f"{model}-{k}-fused-{r}"
                proc_out = subprocess.run([sys.executable, "train.py", "-m", "hydra/launcher=fused", *common,
                                           f"hydra.sweep.dir={out}"], cwd=REPO, capture_output=True, text=True)
                if proc_out.returncode != 0:
                    sys.exit(f"bench: sweep failed:\n{proc_out.stderr[-3000:]}")
                said = [line for line in proc_out.stderr.splitlines() if line.startswith("ablab: fused launcher:")]
                how = "fused" if any("fused group" in line for line in said) else "one by one"
                fused.append(images_per_s(out, k, fused=how == "fused"))
                out = work / f"{model}-{k}-basic-{r}"
                sweep(out, "basic", *common)
                separate.append(images_per_s(out, k, fused=False))
            f, s = statistics.median(fused), statistics.median(separate)
            print(f"| {model} | {k} | {f:,.0f} | {s:,.0f} | {f / s:.2f}x | {how} |", flush=True)


def eight_job_sweep(data: Path, work: Path, repeats: int, epochs: int) -> None:
    print(f"\n## 8-job small-MLP sweep, {epochs} epoch(s) of 60,000 images, start-up included ({load()})")
    common = ["data=fashion_mnist", f"data.root={data}", "data.download=false", *MODELS["mlp_small"],
              "seed=0,1,2,3,4,5,6,7", f"trainer.max_epochs={epochs}", "viz=none"]
    times = {"fused": [], "basic": []}
    for r in range(repeats):
        for launcher in times:
            times[launcher].append(round(sweep(work / f"sweep-{epochs}-{launcher}-{r}", launcher, *common), 1))
    f, b = statistics.median(times["fused"]), statistics.median(times["basic"])
    print(f"fused {f:.1f} s, one by one {b:.1f} s: {b / f:.2f}x  (repeats: fused {times['fused']}, "
          f"one by one {times['basic']})".replace("[", "").replace("]", ""))


def studies(work: Path, names: list[str], repeats: int) -> None:
    print(f"\n## quick studies, wall time ({load()})")
    for name in names:
        times = {"fused": [], "basic": []}
        for r in range(repeats):  # interleaved: fused, one by one, fused, ...
            for launcher in times:
                start = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "ablab.study", name, f"hydra/launcher={launcher}",
                                       "--out", str(work / f"{name}-{launcher}-{r}")],
                                      cwd=REPO, capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.exit(f"bench: study failed:\n{proc.stderr[-3000:]}")
                times[launcher].append(round(time.perf_counter() - start))
        f, b = statistics.median(times["fused"]), statistics.median(times["basic"])
        print(f"{name}: fused {f:.0f} s, one by one {b:.0f} s: {b / f:.2f}x  (repeats: fused {times['fused']}, "
              f"one by one {times['basic']}; {load()})".replace("[", "").replace("]", ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "throughput", "sweep", "studies"], default="all")
    parser.add_argument("--members", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batches", type=int, default=100, help="training batches per epoch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 3], help="of the 8-job sweep")
    parser.add_argument("--studies", nargs="+", default=["mnist_mlp_grid", "mnist_mlp_factors"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ablab-bench-fused-") as tmp:
        work = Path(tmp)
        data = fashion_sized(work / "data")
        if args.part in ("all", "throughput"):
            throughput(data, work, args.members, args.models, args.batches, args.repeats)
        if args.part in ("all", "sweep"):
            for epochs in args.epochs:
                eight_job_sweep(data, work, args.repeats, epochs)
        if args.part in ("all", "studies"):
            studies(work, args.studies, args.repeats)


if __name__ == "__main__":
    main()
