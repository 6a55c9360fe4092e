"""What a sweep job pays besides training: one -m sweep of 10 one-batch jobs, phase by phase.

    python bench/sweep_overhead.py                       # figures on, then viz=none
    python bench/sweep_overhead.py --jobs 10 --data-root <folder with the t10k IDX files>

Each job trains one batch (trainer.limit_train_batches=1, one epoch) of the default CNN on
the embedded MNIST sample (or --data-root), with the default callbacks; the sweep is
`-m seed=0..N-1`, so every job is a real, separate configuration in one Hydra process, as
a study's jobs are. A probe callback (`PhaseProbe`, bench/phase_probe.py) times each job's phases from
Lightning's hooks and by wrapping the calls that write (Trainer.save_checkpoint, the
TensorBoard SummaryWriter, the figures callback), counting a nested call once:

    between     from the previous job's results.json to this job's start: the previous job's last
                words, then Hydra composing this job's config (~0.1 s for train.yaml's ~30 files)
                and making its directory (0 for the first job: its start is the process's)
    set-up      Hydra's job set-up and ablab's, up to the first training step (data, model, trainer)
    train       the training steps (first batch start to last batch end)
    val         validation passes during fit
    final       validate + test of the best checkpoint after fit
    figures     the figures callback's work (histograms, grids, confusion matrices, PNGs)
    ckpt        checkpoint writes;  tb: TensorBoard writes outside the figures
    rest        from the last probed event to results.json written (and the summary printed)

A job's wall time runs from the previous job's results.json (the first job: from its own
start) to its own results.json, so the jobs' walls add up to the sweep's. Overhead is a
job's wall time minus its training steps and one validation pass; "own" is overhead minus
the between-jobs time (Hydra's) and the test pass (a result, and compute). Medians
are over the jobs after the first (the first pays imports and the data decode). The
1-minute load average is printed: above the core count, other work competed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHASES = ["between", "setup", "train", "val", "final", "figures", "ckpt", "tb", "rest"]


# ---------------------------------------------------------------- the bench (outside)
def phases(job: Path, previous_end: float | None) -> dict:
    """One job's seconds per phase; `previous_end`: when the job before it wrote its results.json."""
    probe = json.loads((job / "phases.json").read_text())
    t, spent = probe["t"], probe["spent"]

    def total(category=None, span=None) -> float:
        return sum(v for k, v in spent.items() if (category is None or k.startswith(category + "/"))
                   and (span is None or k.endswith("/" + span)))

    end = (job / "results.json").stat().st_mtime  # written last, after the summary is assembled
    job_start = (job / ".hydra" / "config.yaml").stat().st_mtime  # Hydra writes it as the job begins
    final_span = t.get("teardown_test", end) - t.get("final_start", t.get("teardown_test", end))
    out = {
        "wall": end - (job_start if previous_end is None else previous_end),
        "between": 0.0 if previous_end is None else job_start - previous_end,
        "setup": t["first_batch"] - job_start - total(span="setup"),  # probed writes are their own columns
        "train": t["last_batch_end"] - t["first_batch"],
        "val": probe["val_fit"] - total(span="val"),  # one pure validation pass (one epoch)
        "final": final_span - total(span="final"),
        "figures": total("figures"),
        "ckpt": total("ckpt"),
        "tb": total("tb"),
    }
    out["rest"] = out["wall"] - sum(out[k] for k in PHASES if k != "rest")
    out["overhead"] = out["wall"] - out["train"] - out["val"]
    out["own"] = out["overhead"] - out["between"] - (t["teardown_test"] - t["test_start"])
    return out


def run_sweep(args, viz: str, work: Path) -> list[dict]:
    sweep = work / f"viz-{viz}"
    seeds = ",".join(str(i) for i in range(args.jobs))
    root = [f"data.root={Path(args.data_root).resolve()}"] if args.data_root else []
    command = [sys.executable, str(REPO / "train.py"), "-m", f"seed={seeds}", *root, f"viz={viz}",
               "trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.enable_progress_bar=false",
               "+callbacks.probe._target_=phase_probe.PhaseProbe", *args.overrides, f"hydra.sweep.dir={sweep}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), os.environ.get("PYTHONPATH", "")])}
    print("$ " + " ".join(["python", *command[1:]]), flush=True)
    load = os.getloadavg()[0]
    proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    jobs = sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    ends = [(j / "results.json").stat().st_mtime for j in jobs]
    rows = [phases(j, ends[i - 1] if i else None) for i, j in enumerate(jobs)]
    print(f"load average {load:.2f} -> {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    return rows


def table(name: str, rows: list[dict]) -> str:
    cols = ["wall", *PHASES, "overhead", "own"]
    lines = [f"{name}: seconds per job",
             "| job | " + " | ".join(cols) + " |", "|---:|" + "---:|" * len(cols)]
    for i, r in enumerate(rows):
        lines.append(f"| {i} | " + " | ".join(f"{r[c]:.3f}" for c in cols) + " |")
    later = rows[1:] or rows
    lines.append("| median 1.. | " + " | ".join(f"{statistics.median(r[c] for r in later):.3f}" for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--data-root", default=None,
                        help="a folder holding the t10k IDX files (default: the embedded MNIST sample)")
    parser.add_argument("--viz", nargs="*", default=["default", "none"], help="viz options to run, in order")
    parser.add_argument("overrides", nargs="*", help="more overrides for every job, after --")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ablab-sweep-overhead-"))
    for viz in args.viz:
        rows = run_sweep(args, viz, work)
        print(table(f"viz={viz}", rows), flush=True)
        later = rows[1:] or rows
        median = {k: statistics.median(r[k] for r in later) for k in ("overhead", "own", "between")}
        print(f"viz={viz}: median overhead {median['overhead']:.3f} s per job (targets: 1.5 s with figures, "
              f"0.5 s with viz=none); of it Hydra between jobs {median['between']:.3f} s, ablab's own "
              f"{median['own']:.3f} s besides the test pass\n", flush=True)


if __name__ == "__main__":
    main()
