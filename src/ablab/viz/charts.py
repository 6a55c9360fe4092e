"""Charts of test results: confusion matrix (counts or row-normalised) and per-class accuracy.

Sizes and fonts scale with the number of classes K so 47 EMNIST classes stay legible;
numbers are written in the cells only when K is small enough for them to fit.
"""
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.colors import Normalize, PowerNorm
from matplotlib.figure import Figure

ANNOTATE_MAX_K = 20


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _tick_fontsize(k: int) -> float:
    return 9 if k <= 20 else 8 if k <= 64 else 6


def _xtick_rotation(classes: Sequence[str]) -> int:
    # Characters and digits read best upright; words need turning to fit under a cell.
    return 0 if max((len(c) for c in classes), default=0) <= 2 else 90


def confusion_matrix_figure(cm, classes: Sequence[str], normalize: bool = False) -> Figure:
    """`cm` is K x K with rows = true class, columns = predicted class.

    `normalize` divides each row by its count, so the diagonal is per-class recall and
    rare classes are as visible as frequent ones. Counts use a square-root colour scale:
    on a linear one the diagonal is the only thing visible and the errors vanish.
    """
    counts = _numpy(cm).astype(float)
    k = len(classes)
    values = counts / np.maximum(counts.sum(1, keepdims=True), 1) if normalize else counts
    side = min(max(5.0, 0.22 * k + 3), 20.0)
    fig = Figure(figsize=(side + 1, side))
    ax = fig.subplots()
    scale = Normalize(0, 1) if normalize else PowerNorm(0.5, 0, max(values.max(), 1.0))
    im = ax.imshow(values, cmap="Blues", norm=scale, interpolation="nearest")
    label = "fraction of true class" if normalize else "count"
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label=label)
    fs = _tick_fontsize(k)
    ax.set_xticks(range(k), classes, fontsize=fs, rotation=_xtick_rotation(classes))
    ax.set_yticks(range(k), classes, fontsize=fs)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    kind = "row-normalised" if normalize else "counts"
    ax.set_title(f"test confusion matrix ({kind})")
    if k <= ANNOTATE_MAX_K:
        for i in range(k):
            for j in range(k):
                v = values[i, j]
                if v == 0:
                    continue  # empty cells stay empty: the errors stand out
                # A rare error must not read as "0.00": the cell is empty only when the count is 0.
                text = ("<.01" if v < 0.005 else f"{v:.2f}") if normalize else f"{int(v)}"
                # White on dark cells, black on light ones.
                color = "white" if scale(v) > 0.6 else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=fs - 1, color=color)
    fig.tight_layout()
    return fig


def per_class_accuracy_figure(acc, classes: Sequence[str]) -> Figure:
    """Bar per class in class order (the confusion matrix's order), with the mean as a line."""
    acc = _numpy(acc).astype(float)
    k = len(classes)
    fig = Figure(figsize=(min(max(6.0, 0.25 * k + 2), 24.0), 4))
    ax = fig.subplots()
    ax.bar(range(k), acc, color="tab:blue", width=0.8)
    mean = float(acc.mean()) if k else 0.0
    ax.axhline(mean, color="tab:orange", ls="--", lw=1, label=f"mean {mean:.3f}")
    ax.set_xticks(range(k), classes, fontsize=_tick_fontsize(k), rotation=_xtick_rotation(classes))
    ax.set_xlim(-0.6, k - 0.4)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.set_title("per-class test accuracy")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
