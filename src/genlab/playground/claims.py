"""Two of ``genlab explain``'s claims with a knob: the page moves a slider and redraws what
these functions return (numbers and curves, computed as the claims compute them).

* :func:`distance`: p = U[0, 1) and q = U[d, d + 1); JS is stuck at log 2 once the supports
  are disjoint, while W1 = d keeps growing (Arjovsky et al. 2017);
* :func:`kl_fits`: a single Gaussian fitted to two modes at -s and +s by forward KL (moment
  matching: covers both) and reverse KL (gradient descent: picks one).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..explain.divergences import (CELLS_PER_UNIT, GRID, MODE_STD, fit_reverse_kl, kl_on_grid,
                                   log_bimodal, log_normal)
from ..metrics.divergences import js_divergence, wasserstein1_1d

MAX_DISTANCE = 6.0
MAX_SEPARATION = 4.0


def knob(value, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not (math.isfinite(number) and low <= number <= high):
        raise ConfigError(f"{name} must lie in [{low:g}, {high:g}], got {value!r}")
    return number


def distance(d) -> dict:
    """JS and W1 between U[0, 1) and U[d, d + 1) on a grid of cells 1/CELLS_PER_UNIT wide, the
    two densities, and both curves over every d the slider offers."""
    d = knob(d, "d", 0.0, MAX_DISTANCE)
    n_cells = int((MAX_DISTANCE + 2) * CELLS_PER_UNIT)
    centres = (np.arange(n_cells) + 0.5) / CELLS_PER_UNIT
    p = (np.arange(n_cells) < CELLS_PER_UNIT).astype(float)

    def pair(shift: float) -> tuple[float, float]:
        q = np.roll(p, round(shift * CELLS_PER_UNIT))
        return float(js_divergence(p, q)), float(wasserstein1_1d(centres, centres, p, q))

    ds = [i / 10 for i in range(int(MAX_DISTANCE * 10) + 1)]
    curves = [pair(x) for x in ds]
    js, w1 = pair(d)
    return {"d": d, "js": js, "w1": w1, "log2": math.log(2), "disjoint": d >= 1,
            "ds": ds, "js_curve": [c[0] for c in curves], "w1_curve": [c[1] for c in curves]}


def kl_fits(separation) -> dict:
    """The forward-KL and reverse-KL Gaussian fits to 0.5 N(-s, 0.5^2) + 0.5 N(s, 0.5^2): their
    means, variances, both KLs each, and the three densities on [-8, 8]."""
    s = knob(separation, "separation", 0.0, MAX_SEPARATION)
    modes = (-s, s)
    dx = float(GRID[1] - GRID[0])
    log_p = log_bimodal(GRID, modes)
    fits = {"forward": (0.0, math.sqrt(MODE_STD ** 2 + s ** 2)), "reverse": fit_reverse_kl(modes=modes, grid=GRID[::4])}
    view = np.abs(GRID) <= 8
    out = {"separation": s, "x": GRID[view][::8].round(4).tolist(), "p": np.exp(log_p[view][::8]).round(5).tolist()}
    for name, (mu, std) in fits.items():
        log_q = log_normal(GRID, mu, std)
        out[name] = {"mean": mu, "variance": std ** 2, "kl_pq": float(kl_on_grid(log_p, log_q, dx)),
                     "kl_qp": float(kl_on_grid(log_q, log_p, dx)),
                     "density": np.exp(log_q[view][::8]).round(5).tolist()}
    return out
