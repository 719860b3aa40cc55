"""What every claim returns (:class:`Claim`) and the line plot most of them draw."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..plot import GRID_COLOUR, figure, save_figure

COLOURS = ["tab:blue", "tab:red", "tab:green", "tab:purple"]  # series in order, as the legends list them


@dataclass
class Claim:
    """One measured claim: a table (``columns`` x ``rows``), notes and a plot file."""

    name: str
    title: str
    columns: list[str]
    rows: list[list]
    plot: Path
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The title, the rows as an aligned text table, then the notes."""
        cells = [self.columns] + [[_fmt(v) for v in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join([self.title, ""] + lines + [""] * bool(self.notes) + self.notes)


def _fmt(v) -> str:
    if isinstance(v, float):
        if not math.isfinite(v) or (v != 0 and not 1e-3 <= abs(v) < 1e6):
            return f"{v:.4g}"
        return f"{v:.4f}"
    return str(v)


# --------------------------------------------------------------------------- plotting

def save_line_plot(path: Path, series: list[tuple[str, list[float], list[float]]],
                   title: str, x_label: str, legend_right: bool = False,
                   size: tuple[int, int] = (560, 400), dashed: tuple[str, ...] = ()) -> Path:
    """Write a PNG of ``size`` pixels with labelled (x, y) curves on shared axes, later ones
    drawn on top; NaN and infinite values leave a gap. Curves named in ``dashed`` (reference
    lines) are dashed and drawn above the others, so a curve that meets them hides neither.

    The legend sits in the top-left corner, or top-right with ``legend_right``.
    """
    fig = figure(*size)
    ax = fig.add_axes((56 / size[0], 40 / size[1], 1 - 72 / size[0], 1 - 68 / size[1]))  # margins for labels
    for i, (label, xs, ys) in enumerate(series):
        y = np.asarray(ys, dtype=float)
        style = {"linestyle": "--", "zorder": 3} if label in dashed else {}
        ax.plot(xs, np.where(np.isfinite(y), y, np.nan), color=COLOURS[i % len(COLOURS)], linewidth=2, label=label,
                **style)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(x_label, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(color=GRID_COLOUR, linewidth=0.8)
    ax.legend(loc="upper right" if legend_right else "upper left", fontsize=8, frameon=False)
    return save_figure(fig, path)
