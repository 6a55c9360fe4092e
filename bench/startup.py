"""Start-up: how long `python train.py` takes to reach its first training step, and how much
of that is Lightning's own import (which ablab does not fight) rather than ablab's.

    python bench/startup.py                 # 5 interleaved repeats of each
    python bench/startup.py --repeats 9 --model mlp
    python bench/startup.py --device cuda   # trainer=gpu; the first step then includes CUDA's initialisation

Per repeat, in turn, each a fresh process:
    bare        python -c "import pytorch_lightning"          (launch to the import done; with
                --device cuda also a CUDA context, which is torch's cost, not ablab's)
    import      python -c "import ablab.run.train"                   (ablab's modules on top of Lightning's)
    first step  python train.py ... to its first training step (a probe callback prints the
                wall clock there and ends the process; bench/phase_probe.py:FirstStep)
ablab's share is first step minus bare: Hydra's composition and run directory, ablab's
imports, loading the embedded sample, building the model and the Trainer. Medians are
printed with the 1-minute load average before and after: above the core count, other work
competed and the figures are not worth keeping.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported(module: str, env, device: str = "cpu") -> float:
    """Launch to the moment `module` is imported (printed then, so the interpreter's exit,
    which tears torch down for about a second, is not counted: train.py's probe ends at once too).
    On cuda the CUDA context is created too: every GPU run pays that before its first step."""
    cuda = "; import torch; torch.zeros(1, device='cuda')" if device == "cuda" else ""
    code = f"import time, {module}{cuda}; print(f'IMPORTED {{time.time():.6f}}', flush=True)"
    start = time.time()
    done = subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env, capture_output=True, text=True)
    return float(done.stdout.split("IMPORTED ")[1].split()[0]) - start


def first_step(model: str, device: str, out: Path, env) -> float:
    trainer = ["trainer=gpu"] if device == "cuda" else []
    cmd = [sys.executable, "train.py", f"model={model}", *trainer, "viz=none", "trainer.max_epochs=1",
           "+callbacks.first_step._target_=phase_probe.FirstStep", f"hydra.run.dir={out}"]
    start = time.time()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("FIRST_STEP ")), None)
    if line is None:
        sys.exit(f"train.py never reached a training step:\n{done.stderr[-2000:]}")
    return float(line.split()[1]) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: train.py runs trainer=gpu")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), os.environ.get("PYTHONPATH", "")])}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    times: dict[str, list[float]] = {"bare": [], "import": [], "first step": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):  # interleaved, so drift in the machine's load hits all three alike
            times["bare"].append(imported("pytorch_lightning", env, args.device))
            times["import"].append(imported("ablab.run.train", env, args.device))
            times["first step"].append(first_step(args.model, args.device, Path(tmp) / f"run{i}", env))
            print(f"repeat {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\nmedians of {args.repeats} (model={args.model}, device={args.device}):")
    print("| launch to | median s |\n|---|---:|")
    for k, v in med.items():
        print(f"| {k} | {v:.2f} |")
    print(f"| ablab's share (first step - bare) | {med['first step'] - med['bare']:.2f} |")
    print(f"| of which ablab's imports (import - bare) | {med['import'] - med['bare']:.2f} |")


if __name__ == "__main__":
    main()
