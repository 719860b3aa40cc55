"""Pictures as PNG files: image grids drawn with Pillow, every plot drawn with matplotlib.

Images become a padded grid, upscaled with nearest-neighbour so that 8x8 digits stay
visible; 2-D points become a scatter over the reference data; a run's ``metrics.jsonl``
becomes ``curves.png``, one panel per logged figure. Plots are drawn on a matplotlib
``Figure`` with the Agg canvas, never through pyplot (no global state, no display), and
matplotlib is imported only when a plot is drawn, so that ``genlab --help`` stays fast.
Files are written to a temporary name and renamed, so a crash never leaves half a picture.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .io import atomic_write

MIN_TILE_PX = 32                       # smallest side of one image in a grid, after upscaling
PAD_VALUE = 0.5                        # grey padding: visible on black and white images
DPI = 100                              # pixels per inch of every plot: sizes are given in pixels
SAMPLE_COLOUR = "#1f77b4"              # matplotlib's first colour (tab:blue)
REFERENCE_COLOUR = "#c8c8c8"
GRID_COLOUR = "#ebebeb"
CURVES_WIDTH = 1200                    # curves.png: this many pixels wide,
CURVES_ROW_HEIGHT = 330                # this many high per row of panels,
CURVES_COLUMNS = 3                     # and up to this many panels a row
PANEL_MARGINS = {"left": 64, "right": 16, "top": 28, "bottom": 44, "between": 72}  # pixels, for the labels
TITLE_PX = 28                          # a figure's title above its panels
NOT_FIGURES = ("step", "seconds")      # logged with every line, but not a quantity to plot
LOG_SCALE_DECADES = 1.5                # positive values spanning more are drawn on a log axis


def _save_png(img: Image.Image, path: str | os.PathLike) -> Path:
    path = Path(path)
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
    return path


def image_grid(x: torch.Tensor, nrow: int | None = None, scale: int | None = None) -> Image.Image:
    """Tile ``x`` (N, C, H, W) in [0, 1] into one picture, ``nrow`` images per row.

    Each image is upscaled ``scale`` times (default: enough for MIN_TILE_PX pixels) and
    separated from its neighbours by one pixel of padding.
    """
    x = x.detach().float().cpu()
    if x.dim() == 3:
        x = x[:, None]
    if x.dim() != 4 or len(x) == 0 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    scale = scale or max(1, math.ceil(MIN_TILE_PX / min(h, w)))
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol_rows = math.ceil(n / nrow)
    x = torch.nan_to_num(x, nan=0.0).clamp(0, 1)
    x = x.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    th, tw = h * scale + 1, w * scale + 1                         # tile with its padding
    grid = torch.full((c, ncol_rows * th + 1, nrow * tw + 1), PAD_VALUE)
    for i in range(n):
        top, left = (i // nrow) * th + 1, (i % nrow) * tw + 1
        grid[:, top:top + h * scale, left:left + w * scale] = x[i]
    pixels = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()  # (H, W, C)
    return Image.fromarray(pixels[..., 0] if c == 1 else pixels)      # mode L or RGB


def save_image_grid(x: torch.Tensor, path: str | os.PathLike, nrow: int | None = None,
                    scale: int | None = None) -> Path:
    """Write ``x`` (N, C, H, W) in [0, 1] (clamped) as a grid PNG; see :func:`image_grid`."""
    return _save_png(image_grid(x, nrow, scale), path)


# --------------------------------------------------------------------------- matplotlib

def figure(width: int, height: int):
    """An empty matplotlib Figure of ``width`` x ``height`` pixels, outside pyplot."""
    from matplotlib.figure import Figure

    # the float just above width / DPI: the canvas truncates inches * DPI to whole pixels
    inches = [math.nextafter(side / DPI, math.inf) for side in (width, height)]
    return Figure(figsize=inches, dpi=DPI, facecolor="white")


def rendered(fig) -> Image.Image:
    """The RGB picture a matplotlib Figure draws on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")


def panel_grid(fig, rows: int, columns: int, top_px: float = 0):
    """A ``rows`` x ``columns`` array of axes with PANEL_MARGINS pixels around and between
    them (``top_px`` more at the top); a fixed layout, cheaper than matplotlib's layout engines."""
    width, height = fig.bbox.width, fig.bbox.height
    m = PANEL_MARGINS
    panel_w = (width - m["left"] - m["right"] - (columns - 1) * m["between"]) / columns
    panel_h = (height - top_px - m["top"] - m["bottom"] - (rows - 1) * m["between"]) / rows
    return fig.subplots(rows, columns, squeeze=False, gridspec_kw={
        "left": m["left"] / width, "right": 1 - m["right"] / width, "bottom": m["bottom"] / height,
        "top": 1 - (top_px + m["top"]) / height, "wspace": m["between"] / panel_w, "hspace": m["between"] / panel_h})


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write a matplotlib Figure as a PNG of its size in pixels."""
    return _save_png(rendered(fig), path)


# --------------------------------------------------------------------------- scatters

def _finite_xy(points: torch.Tensor | None) -> torch.Tensor:
    if points is None:
        return torch.empty(0, 2)
    p = points.detach().double().cpu().reshape(len(points), -1)
    if p.shape[1] == 1:                  # 1-D data: spread along the x axis
        p = torch.cat([p, torch.zeros_like(p)], dim=1)
    p = p[:, :2]
    return p[torch.isfinite(p).all(dim=1)]    # a diverged model must not break its plot


def _view(*sets: torch.Tensor, margin: float = 0.05) -> tuple[float, float, float]:
    """Centre (cx, cy) and half-width of one square window around every point."""
    allp = torch.cat(sets)
    if len(allp) == 0:
        return 0.0, 0.0, 1.0
    lo, hi = allp.min(dim=0).values, allp.max(dim=0).values
    centre = (lo + hi) / 2
    half = float((hi - lo).max()) / 2
    half = (half if half > 0 else 1.0) * (1 + 2 * margin)
    return float(centre[0]), float(centre[1]), half


def scatter(points: torch.Tensor, reference: torch.Tensor | None = None, size: int = 400
            ) -> Image.Image:
    """A ``size`` x ``size`` scatter of ``points`` over light-grey ``reference`` points.

    Both sets share one square window with equal scales on both axes, so circles stay round;
    the axes are ticked so that the scale can be read.
    """
    pts, ref = _finite_xy(points), _finite_xy(reference)
    cx, cy, half = _view(pts, ref)
    fig = figure(size, size)
    font = max(6.0, size / 50)
    left = 0.06 + font / size * 3                             # room for the tick labels, in figure widths
    ax = fig.add_axes((left, left, 0.97 - left, 0.97 - left))  # square figure, square axes
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=font, length=2, pad=1)
    ax.grid(color=GRID_COLOUR, linewidth=0.8)
    ax.set_axisbelow(True)
    dot = size / 400                                          # markers scale with the picture
    for colour, area, p in ((REFERENCE_COLOUR, 5 * dot, ref), (SAMPLE_COLOUR, 9 * dot, pts)):
        ax.scatter(p[:, 0].numpy(), p[:, 1].numpy(), s=area, c=colour, linewidths=0)
    return rendered(fig)


def save_scatter(points: torch.Tensor, path: str | os.PathLike,
                 reference: torch.Tensor | None = None, size: int = 400) -> Path:
    """Write a scatter PNG of ``points`` (N, 2) over ``reference``; see :func:`scatter`."""
    return _save_png(scatter(points, reference, size), path)


def save_samples(x: torch.Tensor, path: str | os.PathLike, kind: str,
                 reference: torch.Tensor | None = None) -> Path:
    """Picture of samples by dataset kind: "image" as a grid, "points" as a scatter.

    Points with more than two coordinates are shown by their first two.
    """
    if kind == "image":
        return save_image_grid(x, path)
    if kind == "points":
        return save_scatter(x, path, reference=reference)
    raise ValueError(f"cannot plot samples of kind {kind!r}: expected 'image' or 'points'")


# --------------------------------------------------------------------------- training curves

def logged_figures(line: dict) -> dict[str, float]:
    """The quantities of one metrics.jsonl line: its numbers, less the step and the time."""
    return {k: float(v) for k, v in line.items()
            if k not in NOT_FIGURES and isinstance(v, (int, float)) and not isinstance(v, bool)}


def read_curves(metrics_path: str | os.PathLike) -> dict[str, tuple[list[float], list[float]]]:
    """(steps, values) of every quantity logged in a metrics.jsonl file, in the order they
    first appear; a missing file, blank or cut-off lines and lines with no step give none."""
    path = Path(metrics_path)
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for text in path.read_text().splitlines() if path.is_file() else []:
        try:
            line = json.loads(text)
            step = float(line["step"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill while it was written
        for key, value in logged_figures(line).items():
            steps, values = curves.setdefault(key, ([], []))
            steps.append(step)
            values.append(value)
    return curves


def save_curves(metrics_path: str | os.PathLike, out_path: str | os.PathLike, *,
                figures: dict | None = None, title: str = "", x_label: str = "step") -> Path:
    """Draw every quantity logged in ``metrics_path`` against its step, one panel each.

    ``figures`` measured once at the end (a fitted model's held-out quality) add a panel
    each, the value as a labelled bar. The PNG is CURVES_WIDTH (1200) pixels wide and
    CURVES_ROW_HEIGHT (330) high per row of up to CURVES_COLUMNS (3) panels. A panel whose
    positive values span more than LOG_SCALE_DECADES decades has a log y axis; NaN and
    infinite values are left out of the line and counted in the panel's title. With nothing
    to draw, the picture says so in one row.
    """
    curves = read_curves(metrics_path)
    bars = logged_figures(figures or {})
    panels = len(curves) + len(bars)
    columns = max(1, min(CURVES_COLUMNS, panels))
    rows = max(1, math.ceil(panels / columns))
    fig = figure(CURVES_WIDTH, rows * CURVES_ROW_HEIGHT)
    if title:
        fig.suptitle(title, y=1 - 6 / fig.bbox.height, va="top", fontsize=11)
    if not panels:
        fig.text(0.5, 0.5, f"no numbers logged in {Path(metrics_path).name} yet", ha="center", va="center",
                 fontsize=12, color="0.4")
        return save_figure(fig, out_path)
    axes = panel_grid(fig, rows, columns, TITLE_PX * bool(title)).flatten()
    for ax, (key, (steps, values)) in zip(axes, curves.items()):
        _curve_panel(ax, key, steps, values, x_label)
    for ax, (key, value) in zip(axes[len(curves):], bars.items()):
        _bar_panel(ax, key, value)
    for ax in axes[panels:]:
        ax.set_visible(False)
    return save_figure(fig, out_path)


def _curve_panel(ax, key: str, steps: list[float], values: list[float], x_label: str) -> None:
    """One quantity against the step: a line (with markers when there are few points), a
    log y axis where the values span decades."""
    from matplotlib.ticker import MaxNLocator

    x, y = np.asarray(steps), np.asarray(values)
    finite = np.isfinite(y)
    x, y, dropped = x[finite], y[finite], int((~finite).sum())
    ax.set_title(key + (f" ({dropped} non-finite left out)" if dropped else ""), fontsize=10)
    ax.set_xlabel(x_label, fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # whole, round steps
    ax.tick_params(labelsize=8)
    ax.grid(color=GRID_COLOUR, linewidth=0.8)
    ax.set_axisbelow(True)
    if len(y) == 0:
        ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes, color="0.4")
        return
    ax.plot(x, y, color=SAMPLE_COLOUR, linewidth=1.5, marker="o" if len(y) <= 30 else None, markersize=3)
    if len(y) == 1:  # one log line (a short run): the value, written out
        ax.annotate(_number(y[0]), (x[0], y[0]), textcoords="offset points", xytext=(0, 6), ha="center",
                    fontsize=9)
    if y.min() > 0 and math.log10(y.max() / y.min()) > LOG_SCALE_DECADES:
        ax.set_yscale("log")


def _bar_panel(ax, key: str, value: float) -> None:
    """One figure measured once, as a bar with its value written on it."""
    ax.set_title(key, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.set_xticks([0], ["at the end"])
    ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
    ax.set_axisbelow(True)
    if not math.isfinite(value):
        ax.text(0.5, 0.5, f"{value}", ha="center", va="center", transform=ax.transAxes, color="0.4")
        return
    ax.bar([0], [value], width=0.5, color=SAMPLE_COLOUR)
    ax.set_xlim(-1, 1)
    ax.annotate(_number(value), (0, value), textcoords="offset points", xytext=(0, 4 if value >= 0 else -12),
                ha="center", fontsize=10)
    ax.margins(y=0.15)


def _number(value: float) -> str:
    """A value as written on a plot: counts in full, other numbers to 4 significant digits."""
    return f"{value:.0f}" if float(value).is_integer() and abs(value) < 1e9 else f"{value:.4g}"
