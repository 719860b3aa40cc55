"""Claims about distances between distributions and the optimal discriminator.

* js-vs-wasserstein: JS saturates at log 2 for disjoint supports while W1 grows with distance;
* kl-asymmetry: forward KL covers modes, reverse KL seeks one;
* optimal-discriminator: D*(x) = p/(p+q), learned by a classifier.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch

from ..metrics.divergences import js_divergence, wasserstein1_1d
from .claim import Claim, save_line_plot

# --------------------------------------------------------------------------- (a) JS vs W1

CELLS_PER_UNIT = 100          # the 1-D grid: cells of width 0.01


def uniform_gap(d: float, n_cells: int) -> tuple[float, float]:
    """JS (nats) and W1 between U[0, 1) and U[d, d + 1), as histograms on ``n_cells`` cells of
    width 1/CELLS_PER_UNIT (shifted by whole cells: no rounding at the edges)."""
    centres = (np.arange(n_cells) + 0.5) / CELLS_PER_UNIT
    p = (np.arange(n_cells) < CELLS_PER_UNIT).astype(float)
    q = np.roll(p, round(d * CELLS_PER_UNIT))
    return float(js_divergence(p, q)), float(wasserstein1_1d(centres, centres, p, q))


def js_vs_wasserstein(out_dir: Path, quick: bool = False) -> Claim:
    """JS saturates at log 2 for disjoint supports; W1 grows linearly (Arjovsky et al. 2017).

    p is uniform on [0, 1) and q uniform on [d, d + 1), both as histograms on a grid of
    cells of width 1/CELLS_PER_UNIT, for d = 0, 0.5, 1, ..., 10. From d = 1 on the supports
    are disjoint: JS = log 2 whatever d, so it gives a generator no gradient, while W1 = d.
    """
    distances = [0.0, 0.5] + [float(d) for d in range(1, 11)]
    rows = [[d, *uniform_gap(d, 12 * CELLS_PER_UNIT), "yes" if d >= 1 else "no"] for d in distances]
    plot = save_line_plot(Path(out_dir) / "js-vs-wasserstein.png",
                          [("log 2", distances, [math.log(2)] * len(distances)),
                           ("W1", distances, [r[2] for r in rows]),
                           ("JS (nats)", distances, [r[1] for r in rows])],
                          "JS vs Wasserstein-1: U[0,1] and U[d,d+1]", "d", dashed=("log 2",))
    return Claim("js-vs-wasserstein", "JS stays at log 2 = 0.6931 for disjoint supports; "
                 "W1 grows with the distance d",
                 ["d", "JS (nats)", "W1", "disjoint"], rows, plot)


# --------------------------------------------------------------------------- (b) KL asymmetry

MODES, MODE_STD = (-2.0, 2.0), 0.5
GRID = np.linspace(-10.0, 10.0, 4001)          # quadrature grid, step 0.005


def log_normal(x, mu, std):
    log_std = std.log() if isinstance(std, torch.Tensor) else math.log(std)  # keep the grad
    return -0.5 * ((x - mu) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def log_bimodal(x, modes: tuple[float, float] = MODES):
    """log of 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2) (modes at ``modes``)."""
    lib = torch if isinstance(x, torch.Tensor) else np
    a, b = (log_normal(x, m, MODE_STD) for m in modes)
    hi = lib.maximum(a, b)
    return hi + lib.log(0.5 * lib.exp(a - hi) + 0.5 * lib.exp(b - hi))


def kl_on_grid(log_a, log_b, dx: float):
    """KL(a||b) = integral a (log a - log b) dx by the rectangle rule (tails are ~0)."""
    lib = torch if isinstance(log_a, torch.Tensor) else np
    return (lib.exp(log_a) * (log_a - log_b)).sum() * dx


def fit_reverse_kl(start_mean: float = 0.5, steps: int = 300,
                    modes: tuple[float, float] = MODES, grid: np.ndarray = GRID) -> tuple[float, float]:
    """Minimise KL(q||p) over q = N(mu, s^2) by gradient descent on the grid integral.

    Started slightly right of 0, the midpoint being a saddle by symmetry; mode-seeking:
    q settles on the nearest mode.
    """
    x, dx = torch.from_numpy(grid), float(grid[1] - grid[0])
    mu = torch.tensor(start_mean, dtype=torch.float64, requires_grad=True)
    log_s = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([mu, log_s], lr=0.05)
    log_p = log_bimodal(x, modes)
    for _ in range(steps):
        opt.zero_grad()
        loss = kl_on_grid(log_normal(x, mu, log_s.exp()), log_p, dx)
        loss.backward()
        opt.step()
    return float(mu.detach()), float(log_s.detach().exp())


class GaussianFit(NamedTuple):
    mean: float
    std: float
    kl_pq: float           # KL(p||q), on GRID
    kl_qp: float           # KL(q||p)
    log_q: np.ndarray      # log q on GRID


def gaussian_fits(modes: tuple[float, float] = MODES, fit_grid: np.ndarray = GRID) -> dict[str, GaussianFit]:
    """The single Gaussians fitted to p (two modes at ``modes``, symmetric about 0) by forward
    KL — p's moments, its exact minimiser: mean 0, variance MODE_STD^2 + m^2 — and by reverse
    KL, numerically on ``fit_grid``; both KLs integrated on GRID."""
    dx = float(GRID[1] - GRID[0])
    log_p = log_bimodal(GRID, modes)
    fits = {"forward": (0.0, math.sqrt(MODE_STD**2 + modes[1] ** 2)),
            "reverse": fit_reverse_kl(modes=modes, grid=fit_grid)}
    out = {}
    for name, (mu, std) in fits.items():
        log_q = log_normal(GRID, mu, std)
        out[name] = GaussianFit(mu, std, float(kl_on_grid(log_p, log_q, dx)), float(kl_on_grid(log_q, log_p, dx)),
                                log_q)
    return out


def kl_asymmetry(out_dir: Path, quick: bool = False) -> Claim:
    """KL is not symmetric: forward KL(p||q) covers modes, reverse KL(q||p) seeks one.

    p = 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2), q a single Gaussian. The forward fit matches
    p's moments (the exact minimiser of KL(p||q) over Gaussians): mean 0, variance
    0.25 + 4 = 4.25. The reverse fit is found numerically. Both KLs are integrated on GRID.
    """
    labels = {"forward": "forward, min KL(p||q)", "reverse": "reverse, min KL(q||p)"}
    rows, curves = [], [("p (bimodal)", GRID, np.exp(log_bimodal(GRID)))]
    for name, fit in gaussian_fits().items():
        rows.append([labels[name], fit.mean, fit.std**2, fit.kl_pq, fit.kl_qp])
        curves.append((f"q {name}", GRID, np.exp(fit.log_q)))
    view = np.abs(GRID) <= 5                    # plot where the mass is
    plot = save_line_plot(Path(out_dir) / "kl-asymmetry.png",
                          [(lbl, gx[view].tolist(), gy[view].tolist()) for lbl, gx, gy in curves],
                          "p and the Gaussians fitted by forward and reverse KL", "x")
    return Claim("kl-asymmetry", "KL is not symmetric: forward KL covers both modes, "
                 "reverse KL picks one",
                 ["fit", "mean", "variance", "KL(p||q)", "KL(q||p)"], rows, plot,
                 ["p = 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2); variance of p = 4.25"])


# --------------------------------------------------------------------------- (c) D*

P_MEAN, Q_MEAN = -1.0, 1.0          # p = N(-1, 1) (data), q = N(1, 1) (generator); cross at 0


def optimal_d(x: np.ndarray, log_p: Callable, log_q: Callable) -> np.ndarray:
    """D*(x) = p(x) / (p(x) + q(x)) (Goodfellow et al. 2014, Proposition 1).

    Written as a logistic function of log p - log q, which is exactly 1/2 where p = q.
    """
    return 1.0 / (1.0 + np.exp(log_q(x) - log_p(x)))


def _train_discriminator(seed: int = 0, steps: int = 1500, batch: int = 256) -> torch.nn.Module:
    """A small MLP trained with the GAN discriminator loss, p real and q fake:
    -E_p log D(x) - E_q log(1 - D(x)), i.e. binary cross-entropy, on fresh samples."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(),
                              torch.nn.Linear(32, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    labels = torch.cat([torch.ones(batch, 1), torch.zeros(batch, 1)])
    for _ in range(steps):
        real = P_MEAN + torch.randn(batch, 1, generator=gen)
        fake = Q_MEAN + torch.randn(batch, 1, generator=gen)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            net(torch.cat([real, fake])), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def optimal_discriminator(out_dir: Path, quick: bool = False) -> Claim:
    """The optimal discriminator is p/(p+q): a trained one learns it, and it is 1/2 at p = q.

    p = N(-1, 1), q = N(1, 1), so D*(x) = sigmoid(-2x), exactly 1/2 at x = 0 where the
    densities cross; at the GAN equilibrium (q = p) D* = 1/2 everywhere.
    """
    def log_p(x):
        return log_normal(x, P_MEAN, 1.0)

    def log_q(x):
        return log_normal(x, Q_MEAN, 1.0)

    net = _train_discriminator()
    grid = np.linspace(-4, 4, 161)
    with torch.no_grad():
        learned = torch.sigmoid(net(torch.from_numpy(grid).float()[:, None])).double().numpy()[:, 0]
    closed = optimal_d(grid, log_p, log_q)
    rows = [[x, math.exp(log_p(x)), math.exp(log_q(x)), float(optimal_d(x, log_p, log_q)),
             float(learned[np.argmin(np.abs(grid - x))])]
            for x in (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)]
    at_equilibrium = optimal_d(grid, log_p, log_p)
    central = np.abs(grid) <= 2
    notes = [f"max |D learned - D*| on [-2, 2]: {np.abs(learned - closed)[central].max():.4f}",
             f"q := p (equilibrium): max |D* - 1/2| over {grid.size} points of [-4, 4] = "
             f"{np.abs(at_equilibrium - 0.5).max():g}"]
    plot = save_line_plot(Path(out_dir) / "optimal-discriminator.png",
                          [("D* = p/(p+q)", grid.tolist(), closed.tolist()),
                           ("D learned (MLP, BCE)", grid.tolist(), learned.tolist()),
                           ("p", grid.tolist(), np.exp(log_p(grid)).tolist()),
                           ("q", grid.tolist(), np.exp(log_q(grid)).tolist())],
                          "Optimal discriminator for p = N(-1,1), q = N(1,1)", "x",
                          legend_right=True)
    return Claim("optimal-discriminator", "The optimal discriminator D*(x) = p/(p+q), learned "
                 "by a classifier; D* = 1/2 where p = q",
                 ["x", "p(x)", "q(x)", "D* closed form", "D learned"], rows, plot, notes)
