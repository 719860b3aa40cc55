"""Likelihood conventions for discrete image data (EVALUATION.md, "Likelihood").

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
