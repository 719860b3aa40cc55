"""Time genlab's image metrics on 10,000 x 64 features, beside torchmetrics' FID and KID.

Real-like features: two correlated Gaussian clouds (10,000 x 64, float64), the second
shifted, on 2 threads. KID uses 100 subsets of 1,000 in both libraries; torchmetrics' FID
and KID receive the same precomputed features through an identity feature module. Times
are the median of a few repeats after a warm-up.

    python benchmarks/image_metrics.py
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from genlab.metrics.images import density_coverage, frechet_distance, kid, precision_recall

N, D, REPEATS = 10_000, 64, 3


def features(seed: int, shift: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(D, D, generator=torch.Generator().manual_seed(99), dtype=torch.float64) / D ** 0.5
    return torch.randn(N, D, generator=g, dtype=torch.float64) @ mix + shift


def timed(fn) -> tuple[float, object]:
    fn()                                               # warm-up
    times, out = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


class Identity(nn.Module):
    def __init__(self):
        super().__init__()
        self.num_features = D

    def forward(self, x):
        return x


def torchmetrics_runs(real, fake) -> dict:
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.kid import KernelInceptionDistance
    except ImportError:
        return {}

    def fid():
        m = FrechetInceptionDistance(feature=Identity())
        m.update(real, real=True)
        m.update(fake, real=False)
        return float(m.compute())

    def kid_tm():
        torch.manual_seed(0)
        m = KernelInceptionDistance(feature=Identity(), subsets=100, subset_size=1000)
        m.update(real, real=True)
        m.update(fake, real=False)
        return float(m.compute()[0])

    return {"frechet_distance": fid, "kid": kid_tm}


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore", message="Metric `Kernel Inception Distance`")
    torch.set_num_threads(2)
    real, fake = features(0, 0.0), features(1, 0.05)
    ours = {
        "frechet_distance": lambda: frechet_distance(real, fake),
        "kid": lambda: kid(real, fake, subsets=100, subset_size=1000)[0],
        "precision_recall": lambda: precision_recall(real, fake, k=3),
        "density_coverage": lambda: density_coverage(real, fake, k=5),
    }
    theirs = torchmetrics_runs(real, fake)
    print(f"{N} x {D} float64 features, {torch.get_num_threads()} threads, median of {REPEATS}")
    print(f"{'metric':<18} {'genlab s':>9} {'torchmetrics s':>15} {'ratio':>6}  value (genlab / torchmetrics)")
    for name, fn in ours.items():
        t, value = timed(fn)
        line = f"{name:<18} {t:9.3f}"
        if name in theirs:
            t_tm, v_tm = timed(theirs[name])
            line += f" {t_tm:15.3f} {t / t_tm:6.2f}  {value:.6g} / {v_tm:.6g}"
        else:
            line += f" {'-':>15} {'-':>6}  {value}"
        print(line)


if __name__ == "__main__":
    main()
