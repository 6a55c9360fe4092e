"""Learning-curve overlays per factor: curves_<factor>.png in the sweep directory.

One figure per factor, three panels against epoch (val accuracy, val loss, train loss),
one line per value of the factor, named by its value (its reference drawn black and dashed,
the baseline named by its value of the factor where the sweep's defaults know it): the mean over
the configuration's runs, shaded from the lowest to the highest run. Read from each run's
results.json `history`, so finished, running and interrupted runs all contribute the
epochs they recorded; failed and diverged runs are left out, as in the statistics.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np

from ablab.report.ranking import factor_rows, label, references
from ablab.report.table import Row, Table

PANELS = (("val_acc", "val accuracy"), ("val_loss", "val loss"), ("train_loss", "train loss"))
SHOWN = ("completed", "running", "interrupted")


def band(row: Row, key: str) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Epochs, and per epoch the mean, min and max of `key` over the row's runs that have it."""
    by_epoch: dict[int, list[float]] = {}
    for run in row.runs:
        if run.status not in SHOWN:
            continue
        for entry in run.results.get("history") or []:
            if isinstance(entry, dict) and isinstance(entry.get(key), (int, float)):
                by_epoch.setdefault(int(entry["epoch"]), []).append(float(entry[key]))
    if not by_epoch:
        return None
    epochs = np.array(sorted(by_epoch))
    values = [np.array(by_epoch[e]) for e in epochs]
    return (epochs, np.array([v.mean() for v in values]), np.array([v.min() for v in values]),
            np.array([v.max() for v in values]))


def file_name(factor: str) -> str:
    return "curves_" + re.sub(r"[^A-Za-z0-9.=-]+", "_", factor).strip("_") + ".png"


def factor_figure(table: Table, factor: str, dataset: str = ""):
    """The factor's figure, or None when none of its runs recorded a history."""
    rows = factor_rows(table, factor)
    if not any(band(r, key) for r in rows for key, _ in PANELS):
        return None
    from matplotlib import colormaps  # lazy: matplotlib only when a figure is drawn
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    refs = references(table, factor)
    own = [r for r in rows if all(r is not x for x in refs)]
    # tab10 tells up to 10 lines apart; past that tab20's paired shades.
    cmap = colormaps["tab10" if len(own) <= 10 else "tab20"]
    fig = Figure(figsize=(14, 4.4), layout="constrained")
    axes = fig.subplots(1, len(PANELS))
    for ax, (key, title) in zip(axes, PANELS):
        for row in rows:
            got = band(row, key)
            if got is None:
                continue
            epochs, mean, low, high = got
            ref = any(row is x for x in refs)
            color = "black" if ref else cmap(own.index(row) % cmap.N)
            n = len([r for r in row.runs if r.status in SHOWN])
            ax.plot(epochs, mean, color=color, ls="--" if ref else "-", marker="o", ms=3, lw=1.5,
                    label=f"{label(row, factor)} (n={n})" if ax is axes[0] else None)
            if len(epochs) and (high > low).any():
                ax.fill_between(epochs, low, high, color=color, alpha=0.15, lw=0)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    on = f" on {dataset}" if dataset else ""
    fig.suptitle(f"{factor}{on}: mean over runs, band = min-max", fontsize=11)
    count = len(rows)
    fig.legend(loc="outside lower center", ncols=min(count, 5), fontsize=9, frameon=False)
    return fig


def write_curves(table: Table, sweep_dir: Path, dataset: str = "") -> dict[str, str]:
    """Draw every factor's figure into the sweep dir, titled with the dataset; factor -> file
    name of those written."""
    written = {}
    for factor in table.factors():
        fig = factor_figure(table, factor, dataset)
        if fig is None:
            continue
        name = file_name(factor)
        fig.savefig(Path(sweep_dir) / name, dpi=100, facecolor="white")
        written[factor] = name
    return written
