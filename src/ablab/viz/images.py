"""Grids of images with titles: training samples, test predictions, confident mistakes.

Images arrive upright as (N, C, H, W), uint8 or float in [0, 1]; C == 1 is drawn grey,
C == 3 in colour. Only CHW -> HWC happens here, never a spatial transpose.
"""
import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure


WRONG = "tab:red"
RIGHT = "black"


def to_hwc(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) uint8 or float -> float (N, H, W, C) in [0, 1]."""
    x = images.detach().cpu()
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    return x.clamp(0, 1).permute(0, 2, 3, 1).numpy()


def short(name: str, width: int = 12) -> str:
    # Folder names can be long; a grid cell holds about a dozen characters.
    return name if len(name) <= width else name[: width - 1] + "…"


def image_grid(
    images: torch.Tensor,
    titles: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    ncols: int = 8,
    cell: float = 1.2,
    fontsize: float = 8,
    background: float = 1.0,
    title: str | None = None,
) -> Figure:
    """One image per cell of `cell` inches, optional coloured title above each.

    The cells are pasted into one mosaic drawn by a single imshow: one Axes per image
    costs ~25 ms each, too slow for a 64-image grid in a test suite.
    """
    hwc = to_hwc(images)
    n, h, w, _ = hwc.shape
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    if hwc.shape[-1] == 1:
        hwc = hwc.repeat(3, axis=-1)  # grey as equal RGB: the same pixels as a gray cmap
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    inch = cell / max(h, w)  # inches per image pixel
    lines = max(t.count("\n") + 1 for t in titles) if titles else 0
    gap = max(1, round(0.08 / inch))
    top = max(gap, round(lines * fontsize * 1.25 / 72 / inch)) if lines else 0
    cw, ch = w + gap, h + top + gap
    canvas = np.full((nrows * ch + gap, ncols * cw + gap, 3), background, dtype=np.float32)
    # Room for the title is reserved up front: savefig's tight bbox would render twice.
    head = 0.35 if title else 0.0
    width, height = canvas.shape[1] * inch, canvas.shape[0] * inch
    fig = Figure(figsize=(width, height + head))
    ax = fig.add_axes((0, 0, 1, height / (height + head)))
    ax.axis("off")
    for i in range(n):
        r, c = divmod(i, ncols)
        y, x = r * ch + gap + top, c * cw + gap
        canvas[y : y + h, x : x + w] = hwc[i]
        if titles:
            color = colors[i] if colors else RIGHT
            ax.text(x + w / 2 - 0.5, y - 0.8, titles[i], ha="center", va="bottom",
                    fontsize=fontsize, color=color, linespacing=1.1)
    ax.imshow(canvas, interpolation="nearest", aspect="auto")
    if title:
        fig.suptitle(title, y=1 - 0.05 / (height + head), va="top", fontsize=11)
    return fig


def sample_grid(images: torch.Tensor, labels: torch.Tensor, classes: Sequence[str]) -> Figure:
    """Training images with their class names: the check that data is right."""
    titles = [short(classes[int(y)]) for y in labels]
    return image_grid(images, titles, title="training images (classes in turn)")


def prediction_grid(
    images: torch.Tensor,
    pred: torch.Tensor,
    true: torch.Tensor,
    classes: Sequence[str],
    conf: torch.Tensor | None = None,
    title: str | None = None,
) -> Figure:
    """Predicted class above each image; wrong ones in red with the true class underneath.

    With `conf` the prediction's probability is shown too (used for confident mistakes).
    """
    titles, colors = [], []
    for i, (p, t) in enumerate(zip(pred.tolist(), true.tolist())):
        cell = short(classes[p]) + (f" {conf[i]:.2f}" if conf is not None else "")
        if p != t:
            cell += f"\ntrue: {short(classes[t])}"
        titles.append(cell)
        colors.append(WRONG if p != t else RIGHT)
    return image_grid(images, titles, colors, title=title)
