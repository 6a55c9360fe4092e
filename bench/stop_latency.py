"""How long ablab takes to stop after a SIGTERM (ablab.run.stop), as a scheduler's grace period counts it.

    python bench/stop_latency.py           # a run, a fused sweep and a study, the embedded sample's small MLP

Each command trains until its first `last.ckpt` exists, gets SIGTERM a second later, and the
time to its exit is printed with its exit code (143 expected) and what it left: the jobs'
statuses, and for the study whether a later stage started or a report was written (neither
should). Target: well inside a scheduler's grace period (SLURM's KillWait 30 s, `docker stop`
10 s): at most 10 s.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMALL = ["model=mlp", "model.hidden=[64]", "trainer.max_epochs=1000", "trainer.limit_train_batches=5",
         "trainer.limit_val_batches=2", "viz=none"]


def stopped(command: list[str], ready) -> tuple[int, float]:
    """Start `command`, SIGTERM it a second after ready() holds; its exit code and seconds to exit."""
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=300)
    return code, time.monotonic() - sent


def statuses(folder: Path) -> str:
    found = [json.loads(p.read_text())["status"] for p in sorted(folder.rglob("results.json"))]
    return ", ".join(f"{found.count(s)} {s}" for s in sorted(set(found))) or "no results.json"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        run, fused, study = out / "run", out / "fused", out / "study"
        trials = [
            ("a run", [sys.executable, "train.py", *SMALL, f"hydra.run.dir={run}"], run,
             lambda: (run / "checkpoints" / "last.ckpt").exists()),
            ("a fused sweep of 4", [sys.executable, "train.py", "-m", "hydra/launcher=fused", *SMALL, "seed=0,1,2,3",
                                    f"hydra.sweep.dir={fused}"], fused,
             lambda: (fused / "0" / "checkpoints" / "last.ckpt").exists()),
            ("study mnist_mlp_grid", [sys.executable, "-m", "ablab.study", "mnist_mlp_grid", "--out", str(study)], study,
             lambda: any(study.glob("*/*/checkpoints/last.ckpt"))),
        ]
        for name, command, folder, ready in trials:
            code, seconds = stopped(command, ready)
            print(f"{name}: exit {code}, {seconds:.1f} s after SIGTERM; jobs: {statuses(folder)}")
        stages = sorted(p.name for p in study.iterdir() if p.is_dir())
        print(f"study: stages started {stages}; report written: {(study / 'report.md').exists()}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
