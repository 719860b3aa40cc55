"""Oracle tests for the image metrics (docs/EVALUATION.md): closed forms, known limits, and parity
with torchmetrics on the same features."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import genlab
from genlab.errors import DataError
from genlab.metrics import images
from genlab.metrics.features import feature_network
from genlab.metrics.images import (class_coverage, conditional_accuracy, density_coverage,
                                   frechet_distance, frechet_distance_gaussians, image_metrics,
                                   inception_score, kid, precision_recall)


def gaussian(n, d, seed, mean=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return mean + scale * torch.randn(n, d, generator=g, dtype=torch.float64)


def random_cov(d, seed):
    a = gaussian(d, d, seed)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


@pytest.fixture(scope="module")
def digits():
    return genlab.load_dataset("digits")


@pytest.fixture(scope="module")
def digits_net(digits, tmp_path_factory):
    # Same cache dir as test_features.py, so the network is trained once per session.
    return feature_network(*digits.split(0.2, seed=0), seed=0,
                           cache_dir=tmp_path_factory.getbasetemp() / "feature-cache")


# --- Frechet distance -----------------------------------------------------------------------

def test_frechet_gaussians_one_dimensional_by_hand():
    # In 1-D: (mu1 - mu2)^2 + s1^2 + s2^2 - 2 s1 s2 = (mu1 - mu2)^2 + (s1 - s2)^2.
    got = frechet_distance_gaussians([1.5], [[0.7 ** 2]], [-0.5], [[2.0 ** 2]])
    assert got == pytest.approx((1.5 + 0.5) ** 2 + (0.7 - 2.0) ** 2, rel=1e-12)


def test_frechet_gaussians_commuting_covariances():
    # Diagonal covariances commute, so (S1 S2)^{1/2} = diag(sqrt(a b)): a second closed form.
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    mu = torch.zeros(3)
    expected = float(((a.sqrt() - b.sqrt()) ** 2).sum())
    assert frechet_distance_gaussians(mu, torch.diag(a), mu, torch.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_of_samples_matches_closed_form():
    d, n = 4, 200_000
    mu1, mu2 = torch.zeros(d, dtype=torch.float64), torch.linspace(-1, 1, d, dtype=torch.float64)
    s1, s2 = random_cov(d, 1), random_cov(d, 2)
    g = torch.Generator().manual_seed(3)
    x1 = mu1 + torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(s1).T
    x2 = mu2 + torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(s2).T
    exact = frechet_distance_gaussians(mu1, s1, mu2, s2)
    assert frechet_distance(x1, x2) == pytest.approx(exact, rel=0.02)
    assert frechet_distance(x1, x1) == pytest.approx(0.0, abs=1e-8)


def test_real_vs_real_frechet_falls_as_one_over_n():
    # Two samples of one Gaussian: the distance is pure estimation bias, about c / N.
    def fd(n):
        return sum(frechet_distance(gaussian(n, 16, s), gaussian(n, 16, 100 + s)) for s in range(3)) / 3

    d100, d400, d1600 = fd(100), fd(400), fd(1600)
    assert d100 > d400 > d1600
    assert 2.5 < d100 / d400 < 6 and 2.5 < d400 / d1600 < 6


def test_real_vs_real_frechet_falls_with_n_on_digits_features(digits, digits_net):
    f = digits_net.features(digits.x)[torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))]
    values = [frechet_distance(f[:n], f[n:2 * n]) for n in (50, 200, 800)]
    assert values[0] > values[1] > values[2] > 0


# --- KID ------------------------------------------------------------------------------------

def test_kid_is_about_zero_for_one_distribution():
    a, b = gaussian(1000, 16, 0), gaussian(1000, 16, 1)
    same, same_std = kid(a, b, subsets=20, subset_size=500)
    shifted, _ = kid(a, gaussian(1000, 16, 2, mean=0.5), subsets=20, subset_size=500)
    assert abs(same) < 0.02 * shifted
    assert abs(same) < 3 * same_std + 1e-3
    assert shifted > 0.1


def test_kid_subset_size_is_clipped_and_seeded():
    a, b = gaussian(50, 8, 0), gaussian(80, 8, 1, mean=0.3)
    assert kid(a, b, subsets=5, subset_size=1000, seed=4) == kid(a, b, subsets=5, subset_size=50, seed=4)


# --- precision / recall, density / coverage -------------------------------------------------

def test_tight_cluster_inside_wide_real_set():
    real, fake = gaussian(2000, 8, 0), gaussian(2000, 8, 1, scale=0.2)
    pr = precision_recall(real, fake, k=3)
    assert pr["precision"] > 0.8 and pr["recall"] < 0.3


def test_identical_distributions_density_one_coverage_097():
    dc = density_coverage(gaussian(4000, 8, 0), gaussian(4000, 8, 1), k=5)
    # For equal sizes a real ball holds no fake with probability about 2^-5, so coverage ~0.969.
    assert dc["density"] == pytest.approx(1.0, abs=0.1)
    assert dc["coverage"] == pytest.approx(1 - 2 ** -5, abs=0.03)


def test_chunked_balls_match_brute_force(monkeypatch):
    real, fake = gaussian(300, 5, 0), gaussian(250, 5, 1, mean=0.2)
    d_rr, d_fr = torch.cdist(real, real), torch.cdist(fake, real)
    radius = d_rr.sort(1).values[:, 3]                     # 3rd neighbour after the point itself
    fake_radius = torch.cdist(fake, fake).sort(1).values[:, 3]
    precision = float((d_fr <= radius).any(1).double().mean())
    recall = float((d_fr.T <= fake_radius).any(1).double().mean())
    monkeypatch.setattr(images, "CHUNK", 64)
    got = precision_recall(real, fake, k=3)
    assert got["precision"] == pytest.approx(precision, abs=1e-12)
    assert got["recall"] == pytest.approx(recall, abs=1e-12)
    assert 0 < recall < 1 and 0 < precision < 1


def test_too_few_samples_for_k_is_a_data_error():
    with pytest.raises(DataError, match="nearest neighbours"):
        precision_recall(gaussian(3, 2, 0), gaussian(3, 2, 1), k=3)


# --- class statistics -----------------------------------------------------------------------

def test_inception_score_limits():
    k = 10
    assert inception_score(torch.eye(k)[torch.arange(1000) % k])[0] == pytest.approx(k)
    assert inception_score(torch.full((100, k), 1 / k))[0] == pytest.approx(1.0)


def test_real_digits_hit_every_class_and_beat_one_class(digits, digits_net):
    probs = digits_net.probs(digits.x)
    cover = class_coverage(probs, 10)
    assert cover["classes_hit"] == 10 and cover["kl_to_uniform"] < 0.01
    real_is, _ = inception_score(probs, splits=2)
    zeros_is, _ = inception_score(digits_net.probs(digits.x[digits.y == 0]))
    assert real_is > 7 and zeros_is < 1.2
    assert class_coverage(digits_net.probs(digits.x[digits.y == 0]), 10)["classes_hit"] <= 2
    assert conditional_accuracy(probs, digits.y) > 0.95


def test_image_metrics_reports_model_beside_real_vs_real(digits, digits_net):
    fake = digits.x[digits.y < 3]                          # a generator that dropped 7 classes
    out = image_metrics(digits_net, digits.x, fake, n=300, seed=0)
    assert out["n"] == 300 and out["feature_net"]["weights_sha256"] == digits_net.meta["weights_sha256"]
    model, real = out["model"], out["real_vs_real"]
    assert set(model) == set(real)
    assert model["frechet_distance"] > 5 * real["frechet_distance"]
    assert model["recall"] < real["recall"] and model["coverage"] < real["coverage"]
    # Three classes: KL to uniform near log(10/3) = 1.2 (a few misclassified fakes aside).
    assert model["kl_to_uniform"] > 1.0 and real["kl_to_uniform"] < 0.1 and real["classes_hit"] == 10
    assert real["kid_std"] is None  # N = 300 <= the KID subset size: every subset is the whole set
    assert all(math.isfinite(v) for k, v in real.items() if k != "kid_std")


# --- parity with torchmetrics ---------------------------------------------------------------

class Features(nn.Module):
    """Hands precomputed feature vectors to torchmetrics unchanged."""

    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features

    def forward(self, x):
        return x


def test_frechet_distance_matches_torchmetrics():
    pytest.importorskip("torchmetrics", reason="parity test needs torchmetrics (dev extra)")
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = gaussian(1500, 32, 0), gaussian(1200, 32, 1, mean=0.1, scale=1.2)
    fid = FrechetInceptionDistance(feature=Features(32))
    fid.update(real, real=True)
    fid.update(fake, real=False)
    assert frechet_distance(real, fake) == pytest.approx(float(fid.compute()), rel=1e-4)


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_kid_matches_torchmetrics():
    pytest.importorskip("torchmetrics", reason="parity test needs torchmetrics (dev extra)")
    from torchmetrics.image.kid import KernelInceptionDistance

    # torchmetrics draws its subsets from the global RNG, so agreement is only exact when one
    # subset covers both sets: subset_size = N, subsets = 1 (the order of rows is irrelevant).
    real, fake = gaussian(400, 32, 0), gaussian(400, 32, 1, mean=0.1)
    metric = KernelInceptionDistance(feature=Features(32), subsets=1, subset_size=400, degree=3)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    theirs = float(metric.compute()[0])
    assert kid(real, fake, subsets=1, subset_size=400)[0] == pytest.approx(theirs, rel=1e-4)
