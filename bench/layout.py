"""NCHW or NHWC (channels_last) weights: training-step and evaluation time of each conv model.

    python bench/layout.py                               # every conv model, batch 128, 5 repeats
    python bench/layout.py --models cnn lenet5 --repeats 7 --threads 1

Each model's `channels_last` default (conf/model/*.yaml) comes from this table: true where
NHWC trains faster on the CPU, false where it is slower (LeNet-5's 6- and 16-channel convs).
Per model: one net built by ablab from `model=<name>` (default factors: batch norm, ReLU,
Adam), copied into the two layouts; a training step is forward, cross-entropy, backward and
an optimizer step on one random batch, an evaluation batch is a forward pass under
inference_mode in eval mode. The two layouts alternate, repeat by repeat, in one process,
so a change in machine load hits both alike; each figure is the median of the repeats.
The logits of the two layouts are compared too: they must agree to float rounding.
"""
import argparse
import copy
import os
import statistics
import time

import torch
from hydra import compose, initialize_config_dir

from ablab.paths import CONF_DIR
from ablab.factors import build

# (model option, input shape): the digit nets at MNIST's size, the colour nets at CIFAR-10's.
MODELS = {"cnn": (1, 28, 28), "cnn_mnist": (1, 28, 28), "cnn_digits": (1, 28, 28), "cnn_emnist": (1, 28, 28),
          "cnn_cifar": (3, 32, 32), "alexnet": (3, 32, 32), "vgg": (3, 32, 32), "resnet": (3, 32, 32),
          "lenet5": (1, 28, 28)}


def nets(name: str, shape) -> dict:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", [f"model={name}", "model.channels_last=false"])
    torch.manual_seed(0)
    nchw = build.model(cfg, shape, 10)
    return {"NCHW": nchw, "NHWC": copy.deepcopy(nchw).to(memory_format=torch.channels_last)}


def timed(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def measure(name: str, shape, batch: int, repeats: int, budget_s: float) -> dict:
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    models = nets(name, shape)
    with torch.inference_mode():
        logits = {k: m.eval()(x) for k, m in models.items()}
    gap = (logits["NCHW"] - logits["NHWC"]).abs().max().item()
    optimizers = {k: torch.optim.Adam(m.parameters()) for k, m in models.items()}

    def train_step(k):
        m, opt = models[k].train(), optimizers[k]
        loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def eval_batch(k):
        with torch.inference_mode():
            models[k].eval()(x)

    # Warm-up (oneDNN picks and caches kernels per shape), then steps per repeat to fill the budget.
    per_train = max(timed(lambda: train_step(k), 1) for k in models)
    per_eval = max(timed(lambda: eval_batch(k), 1) for k in models)
    n_train, n_eval = max(1, round(budget_s / per_train)), max(1, round(budget_s / per_eval))
    train = {k: [] for k in models}
    evals = {k: [] for k in models}
    for _ in range(repeats):
        for k in models:
            train[k].append(timed(lambda: train_step(k), n_train))
            evals[k].append(timed(lambda: eval_batch(k), n_eval))
    median = {f"{phase} {k}": 1000 * statistics.median(v) for phase, d in (("train", train), ("eval", evals))
              for k, v in d.items()}
    return median | {"gap": gap}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget", type=float, default=0.4, help="seconds of work per repeat and layout")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load = lambda: " ".join(f"{v:.2f}" for v in os.getloadavg())  # noqa: E731
    print(f"# torch {torch.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, {args.repeats} repeats; load average at start {load()}")
    print("| model | input | train ms/step NCHW | NHWC | NHWC / NCHW | eval ms/batch NCHW | NHWC | NHWC / NCHW "
          "| max logit gap |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        shape = MODELS[name]
        m = measure(name, shape, args.batch_size, args.repeats, args.budget)
        print(f"| {name} | {'x'.join(map(str, shape))} | {m['train NCHW']:.1f} | {m['train NHWC']:.1f} "
              f"| {m['train NHWC'] / m['train NCHW']:.2f} | {m['eval NCHW']:.1f} | {m['eval NHWC']:.1f} "
              f"| {m['eval NHWC'] / m['eval NCHW']:.2f} | {m['gap']:.1e} |", flush=True)
    print(f"\nload average at end {load()}")


if __name__ == "__main__":
    main()
