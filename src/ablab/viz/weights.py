"""What the first layer learned, drawn as images.

A dense first layer sees the flattened image, so each hidden unit's input weights reshape
to (C, H, W); a first conv's kernels are small (C, kh, kw) images. Each is min-max scaled on
its own so weak and strong units are equally readable. Anything else (an RNN's input
weights, a dense layer on features that are not the image) is shown as a weight matrix.
"""
import math
from collections.abc import Sequence

import torch
from matplotlib.figure import Figure

from ablab.viz.images import image_grid


def _minmax(w: torch.Tensor) -> torch.Tensor:
    # Per unit: scale each (C, H, W) slice to [0, 1] independently.
    flat = w.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp_min(1e-12)).view_as(w)


def first_layer_figure(kind: str, weight: torch.Tensor, input_shape: Sequence[int], n: int = 64) -> Figure:
    """Up to `n` units of the model's first layer (`first_layer_weights`: its kind, conv, dense
    or rnn, and its input weights), for inputs of shape (C, H, W)."""
    c, h, w = input_shape
    if kind == "rnn":
        return _matrix_figure(weight, n, "first RNN layer: input weights")
    weight = weight.detach().float().cpu()
    if kind == "conv":
        kernels = weight[:n]
        if kernels.shape[1] not in (1, 3):
            # Not a grey or RGB input: the channel mean still shows the spatial pattern.
            kernels = kernels.mean(1, keepdim=True)
        kh = kernels.shape[-1]
        title = f"first conv kernels ({len(kernels)} of {weight.shape[0]}, {kh}x{kh})"
        # Mid-grey gaps: white or black ones would merge with a kernel's extreme pixels.
        return image_grid(_minmax(kernels), ncols=min(16, len(kernels)),
                          cell=0.5 if kh <= 7 else 0.8, background=0.6, title=title)
    if weight.shape[1] == c * h * w:
        units = weight[:n].view(-1, c, h, w)
        title = f"first dense layer: input weights of {len(units)} of {weight.shape[0]} units"
        return image_grid(_minmax(units), ncols=min(8, len(units)), cell=1.0, background=0.6,
                          title=title)
    return _matrix_figure(weight, n, "first dense layer: weights")


def _matrix_figure(weight: torch.Tensor, n: int, title: str) -> Figure:
    # Diverging colours centred on zero: sign matters when there is no image to reshape to.
    rows = weight.detach().float().cpu()[:n].numpy()
    lim = float(abs(rows).max()) or 1.0
    aspect = rows.shape[1] / rows.shape[0]
    fig = Figure(figsize=(min(12, 3 + 4 * math.sqrt(aspect)), 5))
    ax = fig.subplots()
    im = ax.imshow(rows, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    fig.colorbar(im, ax=ax)
    ax.set_xlabel("input feature")
    ax.set_ylabel("unit")
    ax.set_title(title)
    fig.tight_layout()
    return fig
