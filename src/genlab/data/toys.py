"""Two-dimensional toy distributions, drawn in torch from a seeded generator.

``ring8`` and ``grid25`` are the mode-collapse benchmarks of VEEGAN (Srivastava et al. 2017)
and PacGAN (Lin et al. 2018): equal-weight mixtures of isotropic Gaussians whose centres and
density are known exactly (see docs/EVALUATION.md). ``swissroll``, ``moons`` and ``circles`` follow
scikit-learn's ``make_swiss_roll``, ``make_moons`` and ``make_circles``; they have no closed-form
density and no modes.

Use :func:`sample` to draw fresh points, e.g. ``sample("ring8", 2500, generator)``.
"""

from __future__ import annotations

import math

import torch

from ..errors import DataError
from .dataset import mixture_log_prob

RING8_SIGMA = 0.01
GRID25_SIGMA = 0.05
MOONS_NOISE = 0.1
CIRCLES_NOISE = 0.05
CIRCLES_FACTOR = 0.5          # radius of the inner circle (scikit-learn's ``factor``)
SWISSROLL_NOISE = 0.5         # in the roll's own units, before scaling
SWISSROLL_SCALE = 1 / (4.5 * math.pi)   # the largest angle is 4.5 pi, so the roll fits in [-1, 1]

TOYS = {
    "ring8": "8 Gaussians on the unit circle at angles 2*pi*k/8, sigma 0.01 (modes, exact density)",
    "grid25": "25 Gaussians on the grid {-4,-2,0,2,4}^2, sigma 0.05 (modes, exact density)",
    "swissroll": "2-D swiss roll scaled into [-1, 1], with noise (no density)",
    "moons": "two interleaving half circles with noise 0.1, labels per moon (no density)",
    "circles": "two concentric circles, radii 1 and 0.5, noise 0.05, labels per circle (no density)",
}


def ring8_modes() -> torch.Tensor:
    """(8, 2) centres at angle 2*pi*k/8; linspace(0, 2*pi, 8) would repeat the first one."""
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()


def grid25_modes() -> torch.Tensor:
    """(25, 2) centres {-4,-2,0,2,4}^2, row by row."""
    ticks = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


MIXTURES = {"ring8": (ring8_modes, RING8_SIGMA), "grid25": (grid25_modes, GRID25_SIGMA)}


def modes(name: str) -> torch.Tensor | None:
    """Mode centres of a toy, or None for those without modes."""
    return MIXTURES[name][0]() if name in MIXTURES else None


def sigma(name: str) -> float | None:
    """Per-mode standard deviation of a mixture toy, or None."""
    return MIXTURES[name][1] if name in MIXTURES else None


def _mixture(name: str, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    centres = modes(name)
    k = torch.randint(len(centres), (n,), generator=g)
    return centres[k] + sigma(name) * torch.randn(n, 2, generator=g), k


def _two_classes(n: int, g: torch.Generator) -> torch.Tensor:
    # Half of each class as in scikit-learn, in a random order so that any prefix is mixed.
    return (torch.arange(n) % 2)[torch.randperm(n, generator=g)]


def _moons(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """make_moons: upper arc (cos t, sin t), lower arc (1 - cos t, 0.5 - sin t), t in [0, pi]."""
    label = _two_classes(n, g)
    t = math.pi * torch.rand(n, generator=g)
    upper = torch.stack([t.cos(), t.sin()], dim=1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
    x = torch.where(label[:, None] == 0, upper, lower)
    return x + MOONS_NOISE * torch.randn(n, 2, generator=g), label


def _circles(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """make_circles: label 0 on the unit circle, label 1 on the circle of radius ``factor``."""
    label = _two_classes(n, g)
    t = 2 * math.pi * torch.rand(n, generator=g)
    radius = torch.where(label == 0, 1.0, CIRCLES_FACTOR)
    x = radius[:, None] * torch.stack([t.cos(), t.sin()], dim=1)
    return x + CIRCLES_NOISE * torch.randn(n, 2, generator=g), label


def _swissroll(n: int, g: torch.Generator) -> tuple[torch.Tensor, None]:
    """make_swiss_roll's (x, z) plane: t = 1.5 pi (1 + 2u), point t (cos t, sin t)."""
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=g))
    x = torch.stack([t * t.cos(), t * t.sin()], dim=1)
    x = x + SWISSROLL_NOISE * torch.randn(n, 2, generator=g)
    return SWISSROLL_SCALE * x, None


def draw(name: str, n: int, generator: torch.Generator | None = None
         ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` points (n, 2) float32 and their labels (mode or class index, or None)."""
    if name not in TOYS:
        raise DataError(f"unknown toy dataset '{name}': choose one of {', '.join(TOYS)}")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    if name in MIXTURES:
        return _mixture(name, n, g)
    return {"moons": _moons, "circles": _circles, "swissroll": _swissroll}[name](n, g)


def sample(name: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fresh samples (n, 2) from toy ``name``; the same generator state gives the same points."""
    return draw(name, n, generator)[0]


def log_prob(name: str, x: torch.Tensor) -> torch.Tensor:
    """True log density (nats) of ``x`` (N, 2) under ``ring8`` or ``grid25``."""
    if name not in MIXTURES:
        raise DataError(f"dataset {name} has no known density")
    return mixture_log_prob(x, modes(name), sigma(name))
