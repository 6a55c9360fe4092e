"""Training throughput three ways on one machine: ablab, a plain PyTorch loop, a conventional pipeline.

    python bench/throughput.py                          # mlp and cnn, 3 repeats, start-up times
    python bench/throughput.py --model mlp --steps 300 --repeats 5 --threads 1
    python bench/throughput.py --model mlp --lightning-floor --no-startup   # + Lightning alone
    python bench/throughput.py --model cnn --device cuda --overrides trainer.precision=bf16-mixed

Same model (built by ablab from the composed config), batch size, optimizer, learning-rate
schedule (one-cycle over the run), loss and training images for all three:
  a) ablab: `train.py`'s own entry (Hydra, validation, data module, Lightning Trainer, the
     default callbacks and metrics, TensorBoard logger, checkpoints, test) run in-process,
     with figures off (viz=none) and the progress bar off, as in a non-interactive job
     (--progress-bar turns it on in a and c);
  b) plain: a bare PyTorch loop over pre-normalised float tensors (the compute limit);
  c) conventional: torchvision's MNIST dataset class (PIL image, per-sample ToTensor and
     Normalize), a DataLoader with --num-workers workers (2 on a 2-core machine, as
     Lightning advises), a minimal LightningModule that logs its loss, a default Trainer;
  d) lightning bare (only with --lightning-floor): b's tensors and batches through the same
     minimal LightningModule without logging, a Trainer with no logger, checkpoints or
     callbacks: Lightning's own cost per step, so ablab's gap to b splits in two.
Each (pipeline, repeat) runs in a fresh process, interleaved a, b, c, a, b, c, ...
Steady state: the first --warmup steps are left out; timing covers every later training
step including data loading and per-step hooks, but not validation or epoch-end work.
images/s is wall time; "images per CPU-s" divides by the CPU time the pipeline's processes
spent (loader workers included, pro rata), which other jobs on a shared machine move far
less than wall time. On a GPU (--device cuda) timing waits for queued work only at the
ends of timed segments, so it adds no sync per step.
Peak memory is each process's peak RSS (VmHWM), everything loaded included.
Start-up: seconds from launching `python train.py ...` to its first training step, with
the decoded-data cache cold (first job) and warm (any later job), and between jobs of
one `-m` sweep (Hydra runs them in one process, so imports are paid once).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl

REPO = Path(__file__).resolve().parents[1]
PIPELINES = {"a": "ablab", "b": "plain", "c": "conventional", "d": "lightning bare"}  # d: with --lightning-floor
DEFAULT_STEPS = {"mlp": 1000, "cnn": 60}  # about 5-10 s of timed training each on 2 CPU cores


# ---------------------------------------------------------------- timing, shared by a, b, c
class Clock:
    """Training time from the first step after warm-up on, in segments that stop at each epoch's end."""

    def __init__(self, warmup: int, sync=None):
        self.warmup, self.step, self.sync = warmup, 0, sync or (lambda: None)
        self.seconds, self.cpu_seconds, self.images, self.steps, self.all_images = 0.0, 0.0, 0, 0, 0
        self._epoch_start = self._start = self._end = None

    def epoch_start(self):
        if self.step >= self.warmup:
            self.sync()
        self._epoch_start = (time.perf_counter(), time.process_time())

    def step_start(self):
        if self.step >= self.warmup and self._start is None:
            # An epoch's first step also pays for starting the epoch (new order, loader workers).
            if self._epoch_start is None:
                self.sync()  # on a GPU: earlier queued work is not this segment's
            self._start = self._epoch_start or (time.perf_counter(), time.process_time())
        self._epoch_start = None

    def step_end(self, n: int, last_of_epoch: bool):
        self.all_images += n
        if self.step >= self.warmup:
            # CPU time (barely moved by other jobs' load) is read at segment ends only: the call is a
            # syscall. On a GPU the segment's end waits for its queued work; no step syncs otherwise.
            if last_of_epoch:
                self.sync()
            self._end = (time.perf_counter(), time.process_time() if last_of_epoch else None)
            self.images += n
            self.steps += 1
        self.step += 1

    def epoch_end(self):
        if self._start is not None and self._end is not None:
            self.seconds += self._end[0] - self._start[0]
            self.cpu_seconds += self._end[1] - self._start[1] if self._end[1] is not None else float("nan")
        self._start = self._end = self._epoch_start = None


class StepTimer(pl.Callback):
    """The Clock as a Lightning callback (added to ablab through the config, as a user would)."""

    last = None

    def __init__(self, warmup: int, device: str = "cpu", sync_debug: bool = False):
        self.clock = Clock(warmup, _sync(device))
        self.sync_debug = sync_debug and device == "cuda"
        StepTimer.last = self

    def on_train_epoch_start(self, trainer, pl_module):
        self.clock.epoch_start()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.sync_debug and self.clock.step == self.clock.warmup:
            # From here on PyTorch warns at every operation that waits for the GPU, with its stack.
            import torch

            torch.cuda.set_sync_debug_mode("warn")
        self.clock.step_start()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        last = batch_idx + 1 >= trainer.num_training_batches or trainer.global_step >= trainer.max_steps
        self.clock.step_end(len(batch[1]), last)

    def on_train_epoch_end(self, trainer, pl_module):
        self.clock.epoch_end()


class FirstStepProbe(pl.Callback):
    """Appends wall-clock times of each job's first training step and its end to `path` (start-up probe)."""

    def __init__(self, path: str):
        self.path, self.seen = path, False

    def _write(self, event: str):
        with open(self.path, "a") as f:
            f.write(json.dumps({"event": event, "t": time.time(), "cpu": time.process_time()}) + "\n")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if not self.seen:
            self.seen = True
            self._write("first_step")

    def teardown(self, trainer, pl_module, stage):
        if stage == "test":
            self._write("job_end")


def _sync(device: str):
    import torch

    return torch.cuda.synchronize if device == "cuda" else None


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- the three pipelines (worker side)
def overrides(args) -> list[str]:
    return [f"data={args.data}", f"data.root={Path(args.data_root).resolve()}", f"model={args.model}",
            f"data.batch_size={args.batch_size}", "viz=none", *args.overrides]


def composed(args):
    """The config a user's `python train.py <overrides>` composes, for b and c to build the same parts."""
    from hydra import compose, initialize_config_dir

    from ablab.paths import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("train", overrides(args))


def same_parts(args):
    """Data, model, loss, optimizer and schedule exactly as ablab builds them from the config."""
    from hydra.utils import instantiate

    from ablab.factors import build

    cfg = composed(args)
    pl.seed_everything(cfg.seed, verbose=False)
    dm = build.datamodule(cfg)
    dm.setup("fit")
    model = build.model(cfg, dm.input_shape, dm.num_classes)
    loss = build.loss(cfg, dm.train_counts)
    optimizer = instantiate(cfg.optimizer)
    schedule = instantiate(cfg.scheduler)
    return dm, model, loss, optimizer, schedule


def run_ablab(args) -> Clock:
    sys.path.insert(0, str(REPO))
    import train  # train.py at the repository root: the entry a user runs

    out = tempfile.mkdtemp(prefix="bench-ablab-")
    sys.argv = ["train.py", *overrides(args), f"+trainer.max_steps={args.warmup + args.steps}",
                f"trainer.accelerator={'gpu' if args.device == 'cuda' else 'cpu'}",
                f"+callbacks.bench_timer.device={args.device}", f"+callbacks.bench_timer.sync_debug={args.sync_debug}",
                "trainer.max_epochs=-1", "trainer.enable_progress_bar=" + ("true" if args.progress_bar else "false"),
                f"hydra.run.dir={out}", "+callbacks.bench_timer._target_=__main__.StepTimer",
                f"+callbacks.bench_timer.warmup={args.warmup}"]
    try:
        train.train()
        results = json.loads((Path(out) / "results.json").read_text())
        if results["status"] != "completed":
            raise SystemExit(f"ablab run {results['status']}: {results['error']}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return StepTimer.last.clock


def normalised_train_split(dm, device: str):
    """The training images as float, normalised once up front (no per-batch work left), on `device`."""
    import torch

    x, y = dm.splits["train"]
    mean = torch.tensor(dm.preprocess.mean).view(1, -1, 1, 1)
    std = torch.tensor(dm.preprocess.std).view(1, -1, 1, 1)
    return ((x.float() / 255 - mean) / std).to(device), y.to(device)


def run_plain(args) -> Clock:
    import torch

    dm, model, loss_fn, optimizer, schedule = same_parts(args)
    # Importing Lightning (ablab did, above) makes every optimizer step probe NVML for a GPU;
    # a plain PyTorch program does not pay that, so neither does this loop.
    os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
    x, y = normalised_train_split(dm, args.device)
    model = model.to(args.device)
    opt = optimizer(model.parameters())
    sched = schedule.lr_scheduler(opt, total_steps=args.warmup + args.steps) if schedule.lr_scheduler else None
    generator = torch.Generator(device=args.device).manual_seed(0)
    clock, total = Clock(args.warmup, _sync(args.device)), args.warmup + args.steps
    model.train()
    while clock.step < total:
        clock.epoch_start()
        order = torch.randperm(len(y), generator=generator, device=args.device)
        for start in range(0, len(y), args.batch_size):
            if clock.step >= total:
                break
            clock.step_start()
            idx = order[start:start + args.batch_size]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)  # rows copied as ablab copies them
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            clock.step_end(len(yb), start + args.batch_size >= len(y) or clock.step + 1 >= total)
        clock.epoch_end()
    return clock


class ShuffledBatches:
    """The plain loop's batches as an iterable Lightning can train on: a new order each epoch."""

    def __init__(self, x, y, batch_size: int):
        import torch

        self.x, self.y, self.batch_size = x, y, batch_size
        self.generator = torch.Generator(device=y.device).manual_seed(0)

    def __len__(self):
        return -(-len(self.y) // self.batch_size)

    def __iter__(self):
        import torch

        order = torch.randperm(len(self.y), generator=self.generator, device=self.y.device)
        for start in range(0, len(self.y), self.batch_size):
            idx = order[start:start + self.batch_size]
            yield self.x.index_select(0, idx), self.y.index_select(0, idx)


def minimal_lightning_module(model, loss, optimizer, schedule, total_steps: int, log_loss: bool):
    """A LightningModule as its docs write one: training_step returns the loss; optimizer and schedule."""

    class Minimal(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model, self.loss = model, loss

        def training_step(self, batch, batch_idx):
            x, y = batch
            value = self.loss(self.model(x), y)
            if log_loss:
                self.log("train_loss", value)
            return value

        def configure_optimizers(self):
            opt = optimizer(self.parameters())
            if schedule.lr_scheduler is None:
                return opt
            sched = schedule.lr_scheduler(opt, total_steps=total_steps)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return Minimal()


def run_lightning_bare(args) -> Clock:
    """d) The plain loop's tensors, batches and parts through Lightning's automatic optimisation and
    nothing else (no logger, checkpoints, metrics or callbacks but the timer, NVML probe off as in b):
    what Lightning's loop costs by itself, so ablab's gap to b splits into Lightning's and ablab's own."""
    dm, model, loss_fn, optimizer, schedule = same_parts(args)
    os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
    x, y = normalised_train_split(dm, args.device)
    del dm
    total = args.warmup + args.steps
    timer = StepTimer(args.warmup, args.device)
    trainer = pl.Trainer(accelerator="gpu" if args.device == "cuda" else "cpu", devices=1, max_steps=total,
                         max_epochs=-1, logger=False, enable_checkpointing=False, callbacks=[timer],
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(minimal_lightning_module(model, loss_fn, optimizer, schedule, total, log_loss=False),
                train_dataloaders=ShuffledBatches(x, y, args.batch_size))
    return timer.clock


def run_conventional(args) -> Clock:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    class MNISTFromTensors(datasets.MNIST):
        """torchvision's MNIST (its __getitem__: PIL image, then the transforms), over given uint8 images."""

        def __init__(self, images, targets, transform):
            datasets.VisionDataset.__init__(self, root=None, transform=transform)
            self.train, self.data, self.targets = True, images, targets

    dm, model, loss_fn, optimizer, schedule = same_parts(args)
    x, y = dm.splits["train"]
    if x.shape[1] != 1:
        raise SystemExit("the conventional pipeline here reads MNIST-format (1-channel) data")
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(dm.preprocess.mean, dm.preprocess.std)])
    loader = DataLoader(MNISTFromTensors(x[:, 0].clone(), y.clone(), tf), batch_size=args.batch_size,
                        shuffle=True, num_workers=args.num_workers, pin_memory=args.device == "cuda")
    del dm  # only the dataset's own copy stays
    total = args.warmup + args.steps
    timer = StepTimer(args.warmup, args.device)
    out = tempfile.mkdtemp(prefix="bench-conventional-")
    try:
        trainer = pl.Trainer(accelerator="gpu" if args.device == "cuda" else "cpu", devices=1, max_steps=total,
                             max_epochs=-1, default_root_dir=out, callbacks=[timer],
                             enable_progress_bar=args.progress_bar, enable_model_summary=False)
        trainer.fit(minimal_lightning_module(model, loss_fn, optimizer, schedule, total, log_loss=True),
                    train_dataloaders=loader)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return timer.clock


def worker(args) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    run = {"a": run_ablab, "b": run_plain, "c": run_conventional, "d": run_lightning_bare}[args.worker]
    clock = run(args)
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest DataLoader worker
    # CPU time of this process in the timed steps, plus the loader workers' share (they exit
    # at each epoch's end, so their CPU is known only in total): pro rata of the images loaded.
    times = os.times()
    cpu = clock.cpu_seconds + (times.children_user + times.children_system) * clock.images / clock.all_images
    print("BENCH " + json.dumps({"images_per_s": clock.images / clock.seconds, "steps": clock.steps,
                                 "seconds": clock.seconds, "cpu_images_per_s": clock.images / cpu,
                                 "peak_rss_mb": peak_rss_mb(),
                                 "worker_rss_mb": children, "threads": torch.get_num_threads()}))


# ---------------------------------------------------------------- start-up (fresh train.py processes)
def startup_times(args, jobs: int = 3) -> dict:
    """Cold cache first job, warm cache later job, and jobs 2.. of one -m sweep."""
    tiny = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
            "trainer.limit_test_batches=1", "trainer.enable_progress_bar=false"]
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    root = work / "data"  # a private copy, so its cache starts cold and nobody else's is touched
    shutil.copytree(Path(args.data_root), root, ignore=shutil.ignore_patterns(".ablab-cache"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), os.environ.get("PYTHONPATH", "")]),
           "ABLAB_CACHE": str(work / "cache")}

    def launch(name, extra, flags=()):
        probe = work / f"{name}.jsonl"
        cmd = [sys.executable, "train.py", *flags, *[o for o in overrides(args) if not o.startswith("data.root")],
               f"data.root={root}", *tiny, *extra,
               "+callbacks.probe._target_=throughput.FirstStepProbe", f"+callbacks.probe.path={probe}"]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"start-up run failed:\n{proc.stderr[-2000:]}")
        events = [json.loads(line) for line in probe.read_text().splitlines()]
        return t0, events

    try:
        times = {"cold": [], "warm": [], "sweep_next": [], "cold_cpu": [], "warm_cpu": []}
        for i in range(args.startup_repeats):
            shutil.rmtree(root / ".ablab-cache", ignore_errors=True)
            t0, ev = launch(f"cold{i}", [f"hydra.run.dir={work / f'cold{i}'}"])
            times["cold"].append(ev[0]["t"] - t0)
            times["cold_cpu"].append(ev[0]["cpu"])  # CPU seconds of the process to its first step
            t0, ev = launch(f"warm{i}", [f"hydra.run.dir={work / f'warm{i}'}"])
            times["warm"].append(ev[0]["t"] - t0)
            times["warm_cpu"].append(ev[0]["cpu"])
        t0, ev = launch("sweep", ["seed=" + ",".join(str(s) for s in range(jobs)), f"hydra.sweep.dir={work / 'sweep'}"],
                        flags=["-m"])
        firsts = [e["t"] for e in ev if e["event"] == "first_step"]
        ends = [e["t"] for e in ev if e["event"] == "job_end"]
        times["sweep_next"] = [f - e for f, e in zip(firsts[1:], ends)]
        return {k: statistics.median(v) for k, v in times.items()} | {"all": times}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- driver
def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(args, model: str) -> dict:
    runs = {p: [] for p in PIPELINES if p != "d" or args.lightning_floor}
    for r in range(args.repeats):
        for p in runs:  # interleaved, so a change in machine load hits every pipeline alike
            cmd = [sys.executable, __file__, "--worker", p, "--model", model, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--batch-size", str(args.batch_size), "--data", args.data,
                   "--data-root", args.data_root, "--num-workers", str(args.num_workers),
                   "--threads", str(args.threads), "--device", args.device, "--overrides", *args.overrides]
            cmd += ["--sync-debug"] if args.sync_debug else []
            cmd += ["--progress-bar"] if args.progress_bar else []
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH ")), None)
            if proc.returncode != 0 or line is None:
                raise SystemExit(f"{PIPELINES[p]} failed:\n{proc.stderr[-3000:]}")
            if args.sync_debug and p == "a":  # Python shows each warning once per code location
                places = [ln for ln in proc.stderr.splitlines() if "synchronizing CUDA operation" in ln]
                print(f"    code locations that made ablab wait for the GPU after warm-up: {len(places)}"
                      + "".join(f"\n      {ln.strip()}" for ln in places), flush=True)
            runs[p].append(json.loads(line[6:]))
            print(f"  {model} repeat {r + 1} {PIPELINES[p]:>12}: {runs[p][-1]['images_per_s']:9.0f} images/s  "
                  f"(load {load()})", flush=True)
    return runs


def report(model: str, runs: dict) -> list[str]:
    def median(p, key):
        return statistics.median(r[key] for r in runs[p])

    ips = {p: median(p, "images_per_s") for p in runs}
    cpu = {p: median(p, "cpu_images_per_s") for p in runs}
    rows = []
    for p in runs:
        name = PIPELINES[p]
        workers = f" + {median(p, 'worker_rss_mb'):.0f}/worker" if p == "c" else ""
        rows.append(f"| {model} | {name} | {ips[p]:,.0f} | {ips['b'] / ips[p]:.2f} | {ips[p] / ips['c']:.2f} "
                    f"| {cpu[p]:,.0f} | {cpu['b'] / cpu[p]:.2f} | {median(p, 'peak_rss_mb'):.0f}{workers} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default: mlp 1000, cnn 60)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    ap.add_argument("--repeats", type=int, default=3, help="0: start-up times only")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--data", default="mnist_sample", help="ablab data config (an MNIST-format dataset)")
    ap.add_argument("--data-root", default=str(REPO / "src" / "ablab" / "data" / "mnist_sample"),
                    help="its data.root (default: the embedded MNIST sample, the t10k IDX files)")
    ap.add_argument("--num-workers", type=int, default=2, help="DataLoader workers of the conventional pipeline")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where all three train")
    ap.add_argument("--progress-bar", action="store_true", help="progress bars on in a and c")
    ap.add_argument("--sync-debug", action="store_true",
                    help="with --device cuda: ablab warns at every host-device sync after warm-up (stderr)")
    ap.add_argument("--overrides", nargs="*", default=[], metavar="KEY=VALUE",
                    help="extra train.py overrides, for every pipeline (e.g. optimizer=sgd, norm=none)")
    ap.add_argument("--lightning-floor", action="store_true",
                    help="also d) the plain loop's tensors through a bare Lightning Trainer: Lightning's own cost")
    ap.add_argument("--startup-repeats", type=int, default=2)
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--worker", choices=list(PIPELINES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.steps = args.steps or DEFAULT_STEPS[args.model]
        return worker(args)

    import torch

    models = ["mlp", "cnn"] if args.model == "both" else [args.model]
    print(f"# torch {torch.__version__}, pytorch_lightning {pl.__version__}, {os.cpu_count()} CPUs, "
          f"threads {args.threads or torch.get_num_threads()}, batch {args.batch_size}, data {args.data}, "
          f"warm-up {args.warmup} steps, {args.repeats} repeats; load average at start {load()}")
    table = ["| model | pipeline | images/s | time / plain's | speed-up vs conventional | images per CPU-s "
             "| CPU time / plain's | peak RSS MB |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for model in models if args.repeats else []:  # --repeats 0: start-up times only
        steps = args.steps or DEFAULT_STEPS[model]
        table += report(model, measure(argparse.Namespace(**{**vars(args), "steps": steps}), model))
    if args.repeats:
        print("\n" + "\n".join(table))
    if not args.no_startup:
        s = startup_times(argparse.Namespace(**{**vars(args), "model": models[0]}))
        print(f"\nstart-up, launch of `python train.py` to first training step ({models[0]}, medians):")
        print(f"  first job, cache cold: {s['cold']:.2f} s ({s['cold_cpu']:.2f} CPU-s);  later job, cache warm: "
              f"{s['warm']:.2f} s ({s['warm_cpu']:.2f} CPU-s);  next job inside one -m sweep: {s['sweep_next']:.2f} s")
        print(f"  all: {json.dumps({k: [round(t, 2) for t in v] for k, v in s['all'].items()})}")
    print(f"\nload average at end {load()}")


if __name__ == "__main__":
    main()
