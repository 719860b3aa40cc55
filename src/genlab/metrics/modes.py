"""Mode metrics for the 2-D toys (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

A sample is high quality (HQ) if it lies within ``radius`` (3 sigma by default) of its
nearest mode centre; a mode is covered if at least one HQ sample is nearest to it; reverse
KL is KL(histogram of HQ samples over modes || uniform), in nats.
"""

from __future__ import annotations

import math

import torch


def mode_metrics(samples: torch.Tensor, modes: torch.Tensor, sigma: float,
                 radius_sigmas: float = 3.0) -> dict[str, float]:
    """Modes covered, % HQ samples and reverse KL over modes for ``samples`` (N, 2)."""
    samples = samples.detach().to(torch.float64).cpu()
    modes = modes.to(torch.float64).cpu()
    dist = torch.cdist(samples, modes)                       # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    hq = nearest_dist <= radius_sigmas * sigma
    counts = torch.bincount(nearest[hq], minlength=len(modes)).to(torch.float64)
    k = len(modes)
    if counts.sum() > 0:
        p = counts / counts.sum()
        nz = p > 0
        reverse_kl = float((p[nz] * (p[nz] * k).log()).sum())
    else:
        reverse_kl = math.log(k)  # no HQ sample at all: treat as total collapse
    return {
        "modes": int((counts > 0).sum()),
        "hq_percent": 100.0 * float(hq.to(torch.float64).mean()),
        "reverse_kl": reverse_kl,
    }
