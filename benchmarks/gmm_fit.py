"""Fit time of genlab's GMM against scikit-learn's GaussianMixture, same settings.

Both run EM in float64 on the CPU with the same k, covariance type, restarts, tol,
reg_covar and max_iter (their initialisations differ: genlab seeds greedy k-means++ and a
few Lloyd steps, scikit-learn runs KMeans). Times are the median of a few repeats after a
warm-up; the log-likelihood columns show that both reach solutions of the same quality.

    python benchmarks/gmm_fit.py
"""

from __future__ import annotations

import math
import statistics
import time

import torch
from sklearn.datasets import load_digits
from sklearn.mixture import GaussianMixture

from genlab.metrics.likelihood import dequantize
from genlab.models.gmm import GMM, GMMConfig

REPEATS = 3


def ring8(n: int, seed: int) -> torch.Tensor:
    """8 Gaussians (sigma 0.01) at angles 2 pi k / 8 on the unit circle."""
    g = torch.Generator().manual_seed(seed)
    angle = 2 * math.pi * torch.randint(8, (n,), generator=g, dtype=torch.float64) / 8
    centres = torch.stack([angle.cos(), angle.sin()], 1)
    return centres + 0.01 * torch.randn(n, 2, generator=g, dtype=torch.float64)


def digits() -> torch.Tensor:
    """All 1,797 digits, dequantised into the unit cube as genlab scores images."""
    return dequantize(torch.tensor(load_digits().data / 16), 17, torch.Generator().manual_seed(0))


def timed(fit) -> tuple[float, object]:
    fit()  # warm-up: first-call allocations and thread start-up are not EM
    times, model = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), model


def compare(label: str, train: torch.Tensor, test: torch.Tensor, k: int, covariance: str,
            restarts: int = 3) -> None:
    config = GMMConfig(data_shape=(train.shape[1],), components=k, covariance=covariance, restarts=restarts)
    t_ours, ours = timed(lambda: GMM(config).fit(train))
    reference = GaussianMixture(k, covariance_type=covariance, n_init=restarts, tol=config.tol,
                                reg_covar=config.reg_covar, max_iter=config.max_iter, random_state=0)
    t_ref, ref = timed(lambda: reference.fit(train.numpy()))
    ll_ours, ll_ref = ours.log_prob(test).mean().item(), ref.score(test.numpy())
    print(f"{label:<34} {t_ours:>8.3f} {t_ref:>8.3f} {t_ours / t_ref:>6.2f} {ll_ours:>10.3f} {ll_ref:>10.3f}")


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {REPEATS} fits, 3 restarts each")
    print(f"{'data, k, covariance':<34} {'genlab s':>8} {'sklearn s':>8} {'ratio':>6} "
          f"{'genlab LL':>10} {'sklearn LL':>10}")
    train, test = ring8(20_000, seed=0), ring8(5_000, seed=1)
    compare("ring8 20000x2, k=8, full (held-out)", train, test, 8, "full")
    compare("ring8 20000x2, k=8, diag (held-out)", train, test, 8, "diag")
    x = digits()
    compare("digits 1797x64, k=10, diag (train)", x, x, 10, "diag")
    compare("digits 1797x64, k=10, full (train)", x, x, 10, "full")


if __name__ == "__main__":
    main()
