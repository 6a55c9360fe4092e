"""report.png: a forest plot. One line per compared row: its difference Δ to its reference
with the difference test's interval (thin) and the equivalence test's (thick), a line at 0
and a band at ±δ (the smallest effect of interest), coloured by verdict. The axis is set by 0,
the band and the decided rows' intervals, so a gap is read against what matters, not against
the widest interval of a row with too few runs; an interval or point beyond the axis is drawn
to the edge and ends in an arrow (its value written there).

Uses matplotlib's object API (Figure + Agg through savefig) rather than pyplot, so no
global figure state is left behind in a caller's process.
"""
from __future__ import annotations

from pathlib import Path

from ablab.report.table import Table

COLORS = {"better": "#2a9d4b", "worse": "#c44e52", "equivalent": "#4c72b0", "undecided": "#9e9e9e",
          "single run": "#d1a300"}


def write_plot(table: Table, path: Path, dataset: str = "") -> bool:
    """Draw and save, titled with the dataset; False (nothing written) when no row has a difference to draw."""
    from matplotlib.figure import Figure  # lazy: matplotlib only when a figure is drawn
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = [r for r in table.rows if r.comparison is not None and r.comparison.delta is not None]
    if not rows:
        return False
    scale = 100.0 if _points(table) else 1.0
    unit = " (points)" if scale == 100 else ""
    fig = Figure(figsize=(8, 1.6 + 0.45 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    delta = (table.min_effect or 0.0) * scale
    if delta:
        ax.axvspan(-delta, delta, color="#4c72b0", alpha=0.12, lw=0)
    ax.axvline(0, color="black", lw=1)
    lo, hi = _limits(rows, scale, delta)
    for i, row in enumerate(rows):
        c, y = row.comparison, len(rows) - 1 - i
        color = COLORS.get(row.verdict, "#9e9e9e")
        if c.ci_low is not None:
            _segment(ax, c.ci_low * scale, c.ci_high * scale, y, lo, hi, color, lw=1.5)
        if c.equiv_low is not None:
            _segment(ax, c.equiv_low * scale, c.equiv_high * scale, y, lo, hi, color, lw=5, alpha=0.6)
        x = c.delta * scale
        if lo <= x <= hi:
            ax.plot([x], [y], "o", color=color, ms=6)
        else:  # the point itself is off the axis: an arrow at the edge, with its value
            edge = hi if x > hi else lo
            ax.plot([edge], [y], ">" if x > hi else "<", color=color, ms=8)
            ax.annotate(f"{x:+.2f}", (edge, y), xytext=(-4 if x > hi else 4, 6), textcoords="offset points",
                        ha="right" if x > hi else "left", fontsize=7, color=color)
    ax.set_xlim(lo, hi)
    ax.set_yticks(range(len(rows)), [r.name or r.value for r in reversed(rows)], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"Δ {table.metric} vs reference{unit}")
    on = f" on {dataset}" if dataset else ""
    ax.set_title(f"{table.metric}{on}: difference to the reference ({_correction(table)})", fontsize=10)
    handles = [Patch(color=COLORS[v], label=v) for v in ("better", "worse", "equivalent", "undecided")]
    if delta:
        handles.append(Patch(color="#4c72b0", alpha=0.12, label=f"±δ = ±{delta:g}"))
    handles.append(Line2D([], [], color="black", lw=1.5, label="Δ interval"))
    handles.append(Line2D([], [], color="black", lw=5, alpha=0.6, label="equivalence interval"))
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    fig.savefig(path, dpi=100)
    return True


def _limits(rows, scale: float, delta: float) -> tuple[float, float]:
    """The axis: 0, ±1.5δ (±1.5 units when there is no δ) and the decided rows' intervals and points,
    padded by 8%; rows that decided nothing do not stretch it."""
    xs = [0.0, -1.5 * (delta or 1.0), 1.5 * (delta or 1.0)]
    for row in rows:
        c = row.comparison
        if row.verdict in ("better", "worse", "equivalent"):
            xs += [v * scale for v in (c.delta, c.ci_low, c.ci_high, c.equiv_low, c.equiv_high) if v is not None]
    low, high = min(xs), max(xs)
    low, high = min(low, -0.5 * high), max(high, -0.5 * low)  # keep the band near the middle
    pad = (high - low) * 0.08
    return low - pad, high + pad


def _segment(ax, a: float, b: float, y: float, lo: float, hi: float, color: str, lw: float, alpha: float = 1.0):
    """An interval clipped to the axis; an end beyond it becomes an arrow head at the edge."""
    ax.plot([max(a, lo), min(b, hi)], [y, y], color=color, lw=lw, alpha=alpha, solid_capstyle="butt")
    if a < lo:
        ax.plot([lo], [y], "<", color=color, ms=7, alpha=alpha)
    if b > hi:
        ax.plot([hi], [y], ">", color=color, ms=7, alpha=alpha)


def _points(table: Table) -> bool:
    from ablab.report.render import in_points

    return in_points(table)


def _correction(table: Table) -> str:
    from ablab.report.render import correction_words

    return correction_words(table)
