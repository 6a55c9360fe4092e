"""Long-tail benchmark: plain cross-entropy against the remedies on the MNIST sample's long tail, as a table.

    python bench/longtail.py                         # run every job, then print the table
    python bench/longtail.py --epochs 15 --seeds 0 1 --out multirun/bench-longtail
    python bench/longtail.py --read multirun/bench-longtail   # only print the table

Data: data=mnist_sample_lt, the embedded MNIST sample (the official 10,000-digit test
set) split 8,101 train / 899 validation / 1,000 test (stratified, seeded) with the 8,101
reshaped into an exponential long tail, ratio 100; validation and test stay balanced.
Every job is `model=cnn` for the same epochs through train.py (Hydra multiruns, one per
group of jobs sharing overrides); the table is read back from each job's results.json
(validation metrics); the best checkpoint by val/acc is used for every method alike.
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Name -> (multirun group, overrides). Jobs of one group run in one Hydra process.
REMEDIES = {
    "ce": ("losses", ["loss=ce"]),
    "sampler=balanced": ("samplers", ["sampler=balanced"]),
    "sampler=sqrt": ("samplers", ["sampler=sqrt"]),
    "loss=class_balanced": ("losses", ["loss=class_balanced"]),
    "loss=balanced_softmax": ("losses", ["loss=balanced_softmax"]),
    "loss=drw": ("drw", ["loss=drw", "loss.start_epoch={drw_start}"]),
    "oversample": ("oversample", ["data.longtail.oversample=true"]),
}


def sweeps(epochs: int, seeds: list[int], out: Path, extra: list[str]) -> dict[str, list[str]]:
    """One train.py -m command per group (values of a swept key joined by commas), in <out>/<group>-seed<seeds>."""
    groups: dict[str, list[list[str]]] = {}
    for group, overrides in REMEDIES.values():
        groups.setdefault(group, []).append([o.format(drw_start=int(0.8 * epochs)) for o in overrides])
    commands = {}
    for group, jobs in groups.items():
        swept = {}
        for job in jobs:
            for o in job:
                key, value = o.split("=", 1)
                swept.setdefault(key, []).append(value)
        overrides = [f"{k}={','.join(dict.fromkeys(v))}" for k, v in swept.items()]
        commands[group] = [sys.executable, "train.py", "-m", "data=mnist_sample_lt", "model=cnn",
                           f"trainer.max_epochs={epochs}", f"seed={','.join(map(str, seeds))}", "viz=none",
                           "trainer.enable_progress_bar=false", *overrides, *extra,
                           f"hydra.sweep.dir={out / group}-seed{'-'.join(map(str, seeds))}"]
    return commands


def remedy_of(overrides: list[str]) -> str:
    keys = dict(o.split("=", 1) for o in overrides if "=" in o)
    if keys.get("data.longtail.oversample", "").lower() == "true":  # Hydra records it as True
        return "oversample"
    if keys.get("sampler", "none") != "none":
        return f"sampler={keys['sampler']}"
    return "ce" if keys.get("loss", "ce") == "ce" else f"loss={keys['loss']}"


def collect(out: Path) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {}
    for path in sorted(out.rglob("results.json")):
        r = json.loads(path.read_text())
        if r.get("status") == "completed":
            runs.setdefault(remedy_of(r["overrides"]), []).append(r)
        else:
            print(f"skipped {path.parent}: {r.get('status')} {r.get('error') or ''}", file=sys.stderr)
    return runs


def row(runs: list[dict]) -> list[str]:
    def mean(get):
        values = [v for v in map(get, runs) if v is not None]
        if not values:
            return "-"
        spread = f" ±{statistics.stdev(values):.3f}" if len(values) > 1 else ""
        return f"{statistics.mean(values):.3f}{spread}"

    shots = lambda g: (lambda r: r["test"].get("shots", {}).get(g))  # noqa: E731
    return [mean(lambda r: r["test"]["acc"]), mean(lambda r: r["test"]["f1_macro"]),
            *(mean(shots(g)) for g in ("many", "medium", "few")), str(len(runs)),
            f"{statistics.mean(r['wall_s'] for r in runs):.0f}"]


def table(runs: dict[str, list[dict]]) -> str:
    head = ["remedy", "acc", "macro F1", "many", "medium", "few", "seeds", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name in [n for n in REMEDIES if n in runs] + sorted(set(runs) - set(REMEDIES)):
        lines.append("| " + " | ".join([name, *row(runs[name])]) + " |")
    if runs:
        counts = next(iter(runs.values()))[0].get("train_class_counts", {})
        lines.append(f"\ntraining images per class: {list(counts.values())}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=REPO / "multirun" / "bench-longtail")
    parser.add_argument("--read", type=Path, help="only print the table of a finished benchmark directory")
    parser.add_argument("--only", nargs="+", choices=sorted({g for g, _ in REMEDIES.values()}),
                        help="run only these groups of jobs")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="a folder holding the two t10k IDX files (default: the embedded MNIST sample)")
    parser.add_argument("extra", nargs="*", help="more overrides for every job, e.g. optimizer.lr=3e-3")
    args = parser.parse_args()
    if args.read is None:
        root = [f"data.root={args.data_root.resolve()}"] if args.data_root else []
        for group, command in sweeps(args.epochs, args.seeds, args.out.resolve(), [*root, *args.extra]).items():
            if args.only and group not in args.only:
                continue
            print("$", " ".join(command[1:]), flush=True)
            subprocess.run(command, cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    print(table(collect(args.read or args.out)))


if __name__ == "__main__":
    main()
