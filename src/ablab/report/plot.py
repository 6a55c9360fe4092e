"""report.png: one bar chart per factor, mean ± std of the report metric, baseline in grey.

Uses matplotlib's object API (Figure + Agg through savefig) rather than pyplot, so no
global figure state is left behind in a caller's process.
"""
from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

from ablab.report.table import BASELINE, Row, Table

BASE_COLOR, VALUE_COLOR, BEST_COLOR = "#9e9e9e", "#4c72b0", "#dd8452"


def _bars(table: Table, factor: str) -> list[Row]:
    """The factor's rows after its reference (the baseline, or the carried greedy winner)."""
    rows = [r for r in table.rows if r.factor == factor]
    ref = next((r.reference for r in rows if r.reference is not None), None)
    return ([ref] if ref is not None else []) + rows


def write_plot(table: Table, path: Path) -> bool:
    """Draw and save; False (nothing written) when no row has a value to draw."""
    factors = table.factors() or ([BASELINE] if table.baseline else [])
    panels = [(f, [r for r in _bars(table, f) if r.stat(table.metric).mean is not None])
              for f in factors]
    panels = [(f, rows) for f, rows in panels if rows]
    if not panels:
        return False
    cols = min(3, len(panels))
    grid = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(4.5 * cols, 3.6 * grid), layout="constrained")
    for i, (factor, rows) in enumerate(panels):
        ax = fig.add_subplot(grid, cols, i + 1)
        stats = [r.stat(table.metric) for r in rows]
        colors = [VALUE_COLOR if r.factor == factor else BASE_COLOR for r in rows]
        colors = [BEST_COLOR if r.best and r.factor == factor else c for r, c in zip(rows, colors)]
        labels = ["baseline" if r.factor == BASELINE else r.value if r.factor == factor else "default"
                  for r in rows]
        ax.bar(range(len(rows)), [s.mean for s in stats], yerr=[s.std or 0.0 for s in stats],
               color=colors, capsize=4)
        ax.set_xticks(range(len(rows)), labels, rotation=30 if len(rows) > 4 else 0,
                      ha="right" if len(rows) > 4 else "center")
        ax.set_title(factor)
        ax.set_ylabel(table.metric)
        # Accuracy-like metrics differ in the third decimal: zoom in around the bars.
        low = min(s.mean - (s.std or 0.0) for s in stats)
        high = max(s.mean + (s.std or 0.0) for s in stats)
        pad = (high - low) * 0.3 or abs(high) * 0.05 or 1.0
        ax.set_ylim(low - pad, high + pad)
    fig.savefig(path, dpi=100)
    return True
