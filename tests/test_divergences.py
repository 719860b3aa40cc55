"""Divergences against their oracles (docs/EVALUATION.md): closed forms and scipy parity."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy
from scipy.stats import wasserstein_distance

from genlab.errors import ConfigError, DataError
from genlab.metrics.divergences import (
    cross_entropy, cross_entropy_monte_carlo, entropy, gaussian_kl, histogram_divergences,
    js_divergence, kl_divergence, kl_monte_carlo, knn_kl, mmd2_unbiased, sliced_wasserstein,
    wasserstein1, wasserstein1_1d, wasserstein1_exact)

LOG2 = math.log(2)


def _histograms(seed, n=12):
    rng = np.random.default_rng(seed)
    p, q = rng.random(n), rng.random(n)
    p[rng.integers(n)] = 0.0                       # a zero in p only: KL stays finite
    return p * 3.0, q                              # unnormalised on purpose


# --------------------------------------------------------------------------- histograms

@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("base", [math.e, 2])
def test_histograms_match_scipy(seed, base):
    p, q = _histograms(seed)
    assert entropy(p, base) == pytest.approx(scipy_entropy(p, base=base), abs=1e-6)
    assert kl_divergence(p, q, base) == pytest.approx(scipy_entropy(p, q, base=base), abs=1e-6)
    # scipy's jensenshannon is the square root of the divergence
    assert js_divergence(p, q, base) == pytest.approx(jensenshannon(p, q, base=base) ** 2,
                                                      abs=1e-6)
    assert cross_entropy(p, q, base) == pytest.approx(entropy(p, base)
                                                      + kl_divergence(p, q, base), abs=1e-9)


def test_zeros_follow_the_conventions():
    assert entropy([0.5, 0.5, 0.0]) == pytest.approx(LOG2)            # 0 log 0 = 0
    assert kl_divergence([0.0, 1.0], [0.5, 0.5]) == pytest.approx(LOG2)
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf          # q = 0 < p
    assert cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert kl_divergence([1, 2, 3], [2, 4, 6]) == 0.0                 # normalised first
    assert entropy([1, 1, 1, 1], base=2) == pytest.approx(2.0)


def test_js_of_disjoint_supports_is_log2_and_bounded():
    assert js_divergence([1, 1, 0, 0], [0, 0, 3, 1]) == pytest.approx(LOG2, abs=1e-12)
    assert js_divergence([1, 0], [0, 1], base=2) == pytest.approx(1.0)
    p, q = _histograms(0)
    assert 0 <= js_divergence(p, q) <= LOG2
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p))


def test_bad_histograms_raise():
    with pytest.raises(DataError):
        kl_divergence([0.5, 0.5], [1.0, 0.0, 0.0])
    with pytest.raises(DataError):
        entropy([-1.0, 2.0])
    with pytest.raises(DataError):
        entropy([0.0, 0.0])
    with pytest.raises(DataError):
        entropy([float("nan"), 1.0])
    with pytest.raises(ConfigError):
        entropy([1.0], base=1)


# --------------------------------------------------------------------------- densities

def _kl_1d(m1, v1, m2, v2):
    """KL(N(m1, v1) || N(m2, v2)) by hand: log(s2/s1) + (v1 + (m1 - m2)^2) / (2 v2) - 1/2."""
    return 0.5 * math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / (2 * v2) - 0.5


def test_gaussian_kl_matches_the_1d_formula_and_factorises():
    assert gaussian_kl(0.3, 0.5, -1.0, 2.0) == pytest.approx(_kl_1d(0.3, 0.5, -1.0, 2.0))
    assert gaussian_kl(1.0, 1.0, 1.0, 1.0) == 0.0
    # diagonal covariances: the KL is the sum of the 1-D KLs
    m1, v1, m2, v2 = [0.0, 1.0, -2.0], [1.0, 0.3, 2.0], [1.0, 0.0, 0.5], [2.0, 0.7, 1.0]
    want = sum(_kl_1d(*args) for args in zip(m1, v1, m2, v2))
    assert gaussian_kl(m1, np.diag(v1), m2, np.diag(v2)) == pytest.approx(want)
    assert gaussian_kl(m1, np.diag(v1), m2, np.diag(v2), base=2) == pytest.approx(want / LOG2)


def test_gaussian_kl_agrees_with_monte_carlo():
    mu1, mu2 = np.array([0.0, 1.0]), np.array([0.5, -0.5])
    s1 = np.array([[1.0, 0.6], [0.6, 2.0]])
    s2 = np.array([[1.5, -0.3], [-0.3, 0.8]])
    d1 = torch.distributions.MultivariateNormal(torch.tensor(mu1), torch.tensor(s1))
    d2 = torch.distributions.MultivariateNormal(torch.tensor(mu2), torch.tensor(s2))
    torch.manual_seed(0)
    x = d1.sample((200_000,))
    est, se = kl_monte_carlo(d1.log_prob, d2.log_prob, x)
    exact = gaussian_kl(mu1, s1, mu2, s2)
    assert exact == pytest.approx(float(torch.distributions.kl_divergence(d1, d2)), abs=1e-9)
    assert abs(est - exact) < 4 * se and se < 0.02
    h, h_se = cross_entropy_monte_carlo(d2.log_prob, x)
    assert h - float(d1.entropy()) == pytest.approx(exact, abs=4 * h_se)


def test_bad_gaussians_raise():
    with pytest.raises(DataError):
        gaussian_kl([0, 0], [[1, 2], [2, 1]], [0, 0], np.eye(2))       # not positive definite
    with pytest.raises(DataError):
        gaussian_kl([0, 0], np.eye(3), [0, 0], np.eye(2))


# --------------------------------------------------------------------------- Wasserstein-1

@pytest.mark.parametrize("sizes", [(50, 50), (37, 91), (1, 5)])
def test_w1_1d_matches_scipy(sizes):
    rng = np.random.default_rng(sum(sizes))
    x, y = rng.normal(size=sizes[0]), rng.gamma(2.0, size=sizes[1])
    wx, wy = rng.random(sizes[0]), rng.random(sizes[1])
    assert wasserstein1_1d(x, y) == pytest.approx(wasserstein_distance(x, y), abs=1e-6)
    assert wasserstein1_1d(x, y, wx, wy) == pytest.approx(
        wasserstein_distance(x, y, wx, wy), abs=1e-6)


def test_w1_between_equal_variance_gaussians_is_the_mean_gap():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0.0, 1.5, 200_000), rng.normal(2.5, 1.5, 150_000)
    assert wasserstein1_1d(x, y) == pytest.approx(2.5, abs=0.02)
    assert wasserstein1(torch.from_numpy(x), y)["method"] == "exact-1d"


def test_exact_w1_equals_1d_value_on_1d_data():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=60), rng.normal(1.0, 2.0, size=60)
    assert wasserstein1_exact(x[:, None], y[:, None]) == pytest.approx(wasserstein1_1d(x, y))
    # unequal sizes go through the linear program
    assert wasserstein1_exact(x[:, None], y[:45, None]) == pytest.approx(
        wasserstein1_1d(x, y[:45]), abs=1e-6)


def test_exact_w1_known_permutation():
    # y is x permuted and each point moved by a unit vector orthogonal to the rest: the
    # identity matching costs 1 per point, and no plan can do better (every point of x is
    # at distance >= 1 from every point of y).
    x = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    y = (x + [0.0, 1.0])[[2, 0, 3, 1]]
    assert wasserstein1_exact(x, y) == pytest.approx(1.0)
    weights = [0.1, 0.2, 0.3, 0.4]
    assert wasserstein1_exact(x, y[[1, 3, 0, 2]], weights, weights) == pytest.approx(1.0)


def test_sliced_w1_is_a_lower_bound_close_to_its_2d_limit():
    # Sliced W1 is the mean of 1-D W1 over directions: never above W1, and for a translation
    # by delta in 2-D it tends to E|cos theta| |delta| = (2/pi) |delta|.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 2))
    y = rng.normal(size=(800, 2)) + [3.0, 4.0]                           # |delta| = 5
    exact = wasserstein1_exact(x, y)
    sliced = sliced_wasserstein(x, y, projections=512)
    assert exact == pytest.approx(5.0, abs=0.15)
    assert sliced <= exact
    assert sliced == pytest.approx(2 / math.pi * exact, rel=0.05)
    assert sliced == sliced_wasserstein(x, y, projections=512)           # seeded
    assert sliced_wasserstein(x, y[:500]) == pytest.approx(sliced, rel=0.05)


def test_w1_dispatcher_and_limits():
    rng = np.random.default_rng(3)
    small, big = rng.normal(size=(30, 2)), rng.normal(size=(2_001, 2))
    assert wasserstein1(small, small[::-1])["value"] == pytest.approx(0.0, abs=1e-12)
    assert wasserstein1(small, small[:20])["method"] == "exact-lp"
    out = wasserstein1(big, big + 1.0, projections=64, seed=5)
    assert out["method"] == "sliced" and out["projections"] == 64 and out["seed"] == 5
    with pytest.raises(ConfigError):
        wasserstein1_exact(big, big)
    with pytest.raises(DataError):
        wasserstein1(small, rng.normal(size=(30, 3)))


# --------------------------------------------------------------------------- sample sets

def test_histogram_divergences_disjoint_and_identical():
    rng = np.random.default_rng(4)
    x = rng.random(5_000)
    out = histogram_divergences(x, x + 2.0, bins=30)
    assert out["js"] == pytest.approx(LOG2)
    assert out["kl_pq"] > 5 and out["range"] == [[pytest.approx(x.min()),
                                                  pytest.approx(x.max() + 2.0)]]
    same = histogram_divergences(rng.normal(size=(20_000, 2)), rng.normal(size=(20_000, 2)),
                                 bins=10, range=[[-3, 3], [-3, 3]])
    assert same["kl_pq"] < 0.01 and same["kl_qp"] < 0.01 and same["js"] < 0.005
    assert same["dropped_x"] > 0                      # the Gaussian tails beyond +-3
    with pytest.raises(ConfigError):
        histogram_divergences(rng.normal(size=(10, 3)), rng.normal(size=(10, 3)))


def test_knn_kl_approaches_the_closed_form():
    rng = np.random.default_rng(5)
    cov = np.diag([2.0, 0.5])
    x = rng.normal(size=(4_000, 2))
    y = rng.multivariate_normal([1.0, 0.0], cov, size=4_000)
    exact = gaussian_kl([0, 0], np.eye(2), [1, 0], cov)                 # 0.79
    assert knn_kl(x, y, k=1) == pytest.approx(exact, abs=0.1)
    assert knn_kl(x, y, k=5) == pytest.approx(exact, abs=0.1)
    assert abs(knn_kl(x, rng.normal(size=(4_000, 2)), k=3)) < 0.05
    with pytest.raises(DataError):
        knn_kl(np.zeros((5, 2)), y)


# MMD^2 scales with the kernel: the RBF kernel is at most 1, (x.y/d + 1)^3 is not.
@pytest.mark.parametrize("kernel, null_tol, shift_min", [("rbf", 0.005, 0.05),
                                                         ("poly3", 0.05, 1.0)])
def test_mmd_is_zero_for_one_law_and_positive_for_a_shift(kernel, null_tol, shift_min):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    same = mmd2_unbiased(x, y, kernel)
    shifted = mmd2_unbiased(x, y + [1.0, 0.0, 0.0], kernel)
    assert abs(same) < null_tol and shifted > shift_min and shifted > 50 * abs(same)
    with pytest.raises(ConfigError):
        mmd2_unbiased(x, y, "laplace")


def test_mmd_with_an_explicit_bandwidth_is_the_formula():
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [3.0]])
    k = lambda a, b: math.exp(-((a - b) ** 2) / 2)                       # noqa: E731
    want = k(0, 1) + k(0, 3) - 2 * (k(0, 0) + k(0, 3) + k(1, 0) + k(1, 3)) / 4
    assert mmd2_unbiased(x, y, bandwidth=1.0) == pytest.approx(want)
