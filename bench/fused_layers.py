"""Per layer type, which stacked form of K members is fastest on this device (issue 28, req. 4).

    python bench/fused_layers.py                  # K = 1, 4, 16; the CPU (or the GPU if there is one)

For each layer the MLP and the CNN train with (a batch of 128), one training step's forward
and backward (gradients of weights and input) of K members, timed as
  loop     K separate layers one after another (what K separate jobs compute),
  stacked  one op over the stacked weights: a batched matmul (baddbmm, as ablab.fused.net does)
           for a Linear, a grouped convolution with K·C channels for a Conv2d,
  vmap     torch.func.vmap of the layer's functional call over the stacked weights.
Medians of 5 repeats, in ms per step; "best" is the fastest form. Pure arithmetic: no
Lightning, no data; the per-step Python a job pays on top is what bench/fused.py measures.
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

B = 128
# (name, layer, input shape without the batch), as in conf/model/mlp.yaml, cnn.yaml at 28x28 input.
LAYERS = [
    ("linear 784->128", lambda: torch.nn.Linear(784, 128), (784,)),
    ("linear 784->512", lambda: torch.nn.Linear(784, 512), (784,)),
    ("linear 128->64", lambda: torch.nn.Linear(128, 64), (128,)),
    ("conv 1->32 3x3 @28", lambda: torch.nn.Conv2d(1, 32, 3, padding=1), (1, 28, 28)),
    ("conv 32->32 3x3 @28", lambda: torch.nn.Conv2d(32, 32, 3, padding=1), (32, 28, 28)),
    ("conv 64->64 3x3 @14", lambda: torch.nn.Conv2d(64, 64, 3, padding=1), (64, 14, 14)),
]


def timed(step, device, repeats: int = 5, n: int = 10) -> float:
    for _ in range(3):
        step()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(n):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / n * 1e3)
    return statistics.median(times)


def forms(make, shape, k: int, device):
    layers = [make().to(device) for _ in range(k)]
    xs = torch.randn(k, B, *shape, device=device, requires_grad=True)
    weight = torch.stack([la.weight.detach() for la in layers]).requires_grad_()
    bias = torch.stack([la.bias.detach() for la in layers]).requires_grad_()
    conv = isinstance(layers[0], torch.nn.Conv2d)

    def loop():
        for la, x in zip(layers, xs):
            la(x).sum().backward()

    def stacked():
        if conv:  # [B, K·C, H, W] with groups=K: member k's channels only see member k's kernels
            x = xs.transpose(0, 1).reshape(B, -1, *shape[1:])
            out = F.conv2d(x, weight.flatten(0, 1), bias.flatten(), padding=layers[0].padding, groups=k)
        else:
            out = torch.baddbmm(bias.unsqueeze(2), weight, xs.transpose(1, 2))
        out.sum().backward()

    def vmapped():
        params = {"weight": weight, "bias": bias}
        out = vmap(lambda p, x: functional_call(layers[0], p, (x,)))(params, xs)
        out.sum().backward()

    return {"loop": loop, "stacked": stacked, "vmap": vmapped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"## one training step's forward + backward per layer, batch {B}, ms ({device}, "
          f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    print("| layer | K | loop | stacked | vmap | best | stacked vs loop |")
    print("|---|---|---|---|---|---|---|")
    for name, make, shape in LAYERS:
        for k in args.members:
            ms = {form: timed(step, device) for form, step in forms(make, shape, k, device).items()}
            best = min(ms, key=ms.get)
            print(f"| {name} | {k} | {ms['loop']:.2f} | {ms['stacked']:.2f} | {ms['vmap']:.2f} | {best} | "
                  f"{ms['loop'] / ms['stacked']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
