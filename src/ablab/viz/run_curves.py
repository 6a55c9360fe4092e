"""A run's learning curves from its results.json `history`: figures/curves.png.

Three panels against epoch: train and val loss, train and val accuracy, learning rate (the
rate each epoch's last step used: TensorBoard's `lr` chart, which has every step, at that step).
Drawn from the history (not from TensorBoard files), so the figure and results.json agree.
"""
from __future__ import annotations

from collections.abc import Sequence


def _series(history: Sequence[dict], key: str) -> tuple[list[int], list[float]]:
    """Epochs (counted from 1, as results.json's history and best_epoch count them) and values,
    skipping epochs without a value."""
    pairs = [(e["epoch"], e[key]) for e in history if e.get(key) is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def curves_figure(history: Sequence[dict]):
    from matplotlib.figure import Figure  # lazy: importing ablab must not pay for matplotlib
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(13, 3.8), layout="constrained")
    loss, acc, lr = fig.subplots(1, 3)
    for ax, keys, title in [(loss, ("train_loss", "val_loss"), "loss"),
                            (acc, ("train_acc", "val_acc"), "accuracy")]:
        for key, color in zip(keys, ("tab:blue", "tab:orange")):
            x, y = _series(history, key)
            # Markers: a run of one or two epochs is a point or two, not an invisible line.
            ax.plot(x, y, marker="o", ms=3, color=color, label=key.split("_")[0])
        ax.set_title(title)
        ax.legend(fontsize=8)
    x, y = _series(history, "lr")
    lr.plot(x, y, marker="o", ms=3, color="tab:green")
    lr.set_title("learning rate (each epoch's last step)")
    if y and min(y) > 0 and max(y) / min(y) > 50:
        lr.set_yscale("log")  # step and exponential schedules span decades
    for ax in (loss, acc, lr):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    return fig
