"""Likelihood conventions for discrete image data (docs/EVALUATION.md, "Likelihood").

Images are stored in [0, 1] as ``level / (n_bins - 1)``. A continuous density is scored on
uniformly dequantised data ``x~ = (level + u) / n_bins``, u ~ U[0, 1)^D, which lies in the
unit cube; then ``-log P(levels) <= -log p(x~) + D log n_bins`` (Theis et al. 2016), and a
uniform density scores exactly log2(n_bins) bits per dimension.
"""

from __future__ import annotations

import math

import torch


def levels(x: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Integer intensity levels 0..n_bins-1 of data stored as level / (n_bins - 1)."""
    return torch.round(x * (n_bins - 1)).clamp_(0, n_bins - 1).long()


def dequantize(x: torch.Tensor, n_bins: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantisation into the unit cube: (level + u) / n_bins."""
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device if generator is None else generator.device)
    return (levels(x, n_bins).to(x.dtype) + u.to(x.device)) / n_bins


def bits_per_dim(log_prob: torch.Tensor, num_dims: int, n_bins: int) -> torch.Tensor:
    """bits/dim = -(log p(x~) - D log n_bins) / (D ln 2), for log p(x~) in nats per example."""
    return -(log_prob - num_dims * math.log(n_bins)) / (num_dims * math.log(2))


def importance_weighted_log_likelihood(log_weights, x: torch.Tensor, k: int = 1000,
                                       chunk: int = 100) -> torch.Tensor:
    """The IWAE estimate of log p(x) per example (Burda et al. 2016, eq. 8), in nats.

    ``log_weights(x, m)`` returns (m, N) log importance weights
    log p(x, z_i) - log q(z_i | x) for m fresh draws z_i ~ q(z | x). The K weights are drawn
    ``chunk`` at a time and combined with a running logsumexp, so memory stays at one chunk;
    the estimate is log (1/K) sum_i w_i, a lower bound on log p(x) that tightens as K grows
    and equals the ELBO's single-sample estimate at K = 1.
    """
    if k < 1 or chunk < 1:
        raise ValueError(f"k and chunk must be positive, got k={k}, chunk={chunk}")
    total = torch.full((len(x),), -math.inf, dtype=torch.float64, device=x.device)
    done = 0
    while done < k:
        m = min(chunk, k - done)
        w = log_weights(x, m).to(torch.float64)              # (m, N)
        total = torch.logaddexp(total, torch.logsumexp(w, dim=0))
        done += m
    return total - math.log(k)
