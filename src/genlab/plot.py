"""Pictures of samples as PNG files, drawn with Pillow alone (no matplotlib).

Images become a padded grid, upscaled with nearest-neighbour so that 8x8 digits stay
visible; 2-D points become a scatter over the reference data. Files are written to a
temporary name and renamed, so a crash never leaves half a picture.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from .io import atomic_write

MIN_TILE_PX = 32                       # smallest side of one image in a grid, after upscaling
PAD_VALUE = 0.5                        # grey padding: visible on black and white images
SAMPLE_COLOUR = (31, 119, 180)
REFERENCE_COLOUR = (200, 200, 200)
AXIS_COLOUR = (235, 235, 235)


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

    Both sets share one square window with equal scales on both axes, so circles stay round.
    """
    pts, ref = _finite_xy(points), _finite_xy(reference)
    cx, cy, half = _view(pts, ref)

    def to_px(p: torch.Tensor) -> list[tuple[float, float]]:
        u = (p[:, 0] - cx + half) / (2 * half) * (size - 1)
        v = (cy + half - p[:, 1]) / (2 * half) * (size - 1)      # image rows grow downwards
        return list(zip(u.tolist(), v.tolist()))

    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    (ox, oy), = to_px(torch.zeros(1, 2))
    draw.line([(0, oy), (size, oy)], fill=AXIS_COLOUR)
    draw.line([(ox, 0), (ox, size)], fill=AXIS_COLOUR)
    for colour, radius, p in ((REFERENCE_COLOUR, 1.0, ref), (SAMPLE_COLOUR, 1.5, pts)):
        for u, v in to_px(p):
            draw.ellipse([u - radius, v - radius, u + radius, v + radius], fill=colour)
    return img


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
