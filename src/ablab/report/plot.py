"""report.png: one bar chart per factor, mean ± std of the report metric, reference in grey,
values better than it beyond noise in orange, worse in red.

Uses matplotlib's object API (Figure + Agg through savefig) rather than pyplot, so no
global figure state is left behind in a caller's process.
"""
from __future__ import annotations

import math
from pathlib import Path

from ablab.report.ranking import factor_rows, label, references
from ablab.report.table import BASELINE, Table

BASE_COLOR, VALUE_COLOR, BEST_COLOR, WORSE_COLOR = "#9e9e9e", "#4c72b0", "#dd8452", "#c44e52"


def write_plot(table: Table, path: Path) -> bool:
    """Draw and save; False (nothing written) when no row has a value to draw."""
    from matplotlib.figure import Figure  # lazy: matplotlib only when a figure is drawn

    factors = table.factors() or ([BASELINE] if table.baseline else [])
    panels = [(f, [r for r in factor_rows(table, f) if r.stat(table.metric).mean is not None])
              for f in factors]
    panels = [(f, rows) for f, rows in panels if rows]
    if not panels:
        return False
    cols = min(3, len(panels))
    grid = math.ceil(len(panels) / cols)
    # At least 6.5 inches wide: the four-entry legend below must fit under a single panel.
    fig = Figure(figsize=(max(6.5, 4.5 * cols), 3.6 * grid), layout="constrained")
    for i, (factor, rows) in enumerate(panels):
        ax = fig.add_subplot(grid, cols, i + 1)
        stats = [r.stat(table.metric) for r in rows]
        refs = references(table, factor)
        colors = [BASE_COLOR if any(r is x for x in refs) else BEST_COLOR if r.verdict == "better" else
                  WORSE_COLOR if r.verdict == "worse" else VALUE_COLOR for r in rows]
        labels = [label(r, factor) for r in rows]
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
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=c, label=t) for c, t in [
        (BASE_COLOR, "reference"), (BEST_COLOR, "better (significant)"), (WORSE_COLOR, "worse (significant)"),
        (VALUE_COLOR, "within noise / single run")]], loc="outside lower center", ncols=2 if cols == 1 else 4, fontsize=8,
        frameon=False)
    fig.savefig(path, dpi=100)
    return True
