"""Evaluation: divergences, mode metrics for the 2-D toys, likelihood conventions, and image
metrics on the features of a classifier that genlab trains (docs/EVALUATION.md)."""

from .divergences import (cross_entropy, cross_entropy_monte_carlo, entropy, gaussian_kl,
                          histogram_divergences, js_divergence, kl_divergence, kl_monte_carlo, knn_kl,
                          median_bandwidth, mmd2_unbiased, sliced_wasserstein, wasserstein1,
                          wasserstein1_1d, wasserstein1_exact)
from .features import FeatureNet, feature_network
from .images import (class_coverage, conditional_accuracy, density_coverage, frechet_distance,
                     frechet_distance_gaussians, image_metrics, inception_score, kid, precision_recall)
from .likelihood import bits_per_dim, dequantize, importance_weighted_log_likelihood, levels
from .modes import mode_metrics

__all__ = [
    "FeatureNet", "feature_network", "class_coverage", "conditional_accuracy", "density_coverage",
    "frechet_distance", "frechet_distance_gaussians", "image_metrics", "inception_score", "kid",
    "precision_recall", "bits_per_dim", "cross_entropy", "cross_entropy_monte_carlo", "dequantize", "entropy", "gaussian_kl",
    "histogram_divergences", "importance_weighted_log_likelihood", "js_divergence", "kl_divergence",
    "kl_monte_carlo", "knn_kl", "levels", "median_bandwidth", "mmd2_unbiased", "mode_metrics",
    "sliced_wasserstein", "wasserstein1", "wasserstein1_1d", "wasserstein1_exact",
]
