"""Evaluation: divergences, mode metrics for the 2-D toys, likelihood conventions.

Image metrics on genlab-trained features live in ``genlab.metrics.images`` and
``genlab.metrics.features`` (imported on use: they train or load a classifier).
"""

from .divergences import (cross_entropy, cross_entropy_monte_carlo, entropy, gaussian_kl,
                          histogram_divergences, js_divergence, kl_divergence, kl_monte_carlo, knn_kl,
                          median_bandwidth, mmd2_unbiased, sliced_wasserstein, wasserstein1,
                          wasserstein1_1d, wasserstein1_exact)
from .likelihood import bits_per_dim, dequantize, importance_weighted_log_likelihood, levels
from .modes import mode_metrics

__all__ = [
    "bits_per_dim", "cross_entropy", "cross_entropy_monte_carlo", "dequantize", "entropy", "gaussian_kl",
    "histogram_divergences", "importance_weighted_log_likelihood", "js_divergence", "kl_divergence",
    "kl_monte_carlo", "knn_kl", "levels", "median_bandwidth", "mmd2_unbiased", "mode_metrics",
    "sliced_wasserstein", "wasserstein1", "wasserstein1_1d", "wasserstein1_exact",
]
