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
from ..explain.divergences import CELLS_PER_UNIT, GRID, gaussian_fits, log_bimodal, uniform_gap

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
    """JS and W1 between U[0, 1) and U[d, d + 1) (as the claim computes them), and both
    curves over every d the slider offers."""
    d = knob(d, "d", 0.0, MAX_DISTANCE)
    n_cells = int((MAX_DISTANCE + 2) * CELLS_PER_UNIT)
    ds = [i / 10 for i in range(int(MAX_DISTANCE * 10) + 1)]
    curves = [uniform_gap(x, n_cells) for x in ds]
    js, w1 = uniform_gap(d, n_cells)
    return {"d": d, "js": js, "w1": w1, "log2": math.log(2), "disjoint": d >= 1,
            "ds": ds, "js_curve": [c[0] for c in curves], "w1_curve": [c[1] for c in curves]}


def kl_fits(separation) -> dict:
    """The forward-KL and reverse-KL Gaussian fits to 0.5 N(-s, 0.5^2) + 0.5 N(s, 0.5^2) (the
    reverse one on a 4x coarser grid, to answer a slider quickly): their means, variances,
    both KLs each, and the three densities on [-8, 8]."""
    s = knob(separation, "separation", 0.0, MAX_SEPARATION)
    view = np.abs(GRID) <= 8
    out = {"separation": s, "x": GRID[view][::8].round(4).tolist(),
           "p": np.exp(log_bimodal(GRID, (-s, s))[view][::8]).round(5).tolist()}
    for name, fit in gaussian_fits((-s, s), fit_grid=GRID[::4]).items():
        out[name] = {"mean": fit.mean, "variance": fit.std ** 2, "kl_pq": fit.kl_pq, "kl_qp": fit.kl_qp,
                     "density": np.exp(fit.log_q[view][::8]).round(5).tolist()}
    return out
