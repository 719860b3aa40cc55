"""Image metrics on feature vectors from genlab's own feature network (see ``features.py``).

Every function takes feature tensors (N, d) or class probabilities (N, K) and returns Python
floats. Scores that depend on the sample size (all of them) are only meaningful beside the
real-vs-real value at the same N, which :func:`image_metrics` computes alongside.

- Frechet distance: Heusel et al. 2017, "GANs trained by a two time-scale update rule
  converge to a local Nash equilibrium".
- KID: Binkowski et al. 2018, "Demystifying MMD GANs".
- Precision / recall: Kynkaanniemi et al. 2019, "Improved precision and recall metric for
  assessing generative models".
- Density / coverage: Naeem et al. 2020, "Reliable fidelity and diversity metrics for
  generative models".
- Inception score: Salimans et al. 2016, "Improved techniques for training GANs".
"""

from __future__ import annotations

import math

import torch

from ..errors import DataError

CHUNK = 1024          # rows per block of the pairwise distance matrix: 1024 x 10,000 doubles = 80 MB


def _as_features(f, what: str) -> torch.Tensor:
    f = torch.as_tensor(f).detach().cpu().to(torch.float64)
    if f.dim() != 2 or len(f) < 2:
        raise DataError(f"{what} must be a (N, d) matrix with N >= 2, got shape {tuple(f.shape)}")
    if not torch.isfinite(f).all():
        raise DataError(f"{what} contains NaN or infinite values")
    return f


# --- Frechet distance -----------------------------------------------------------------------

def _sqrt_psd(s: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a positive semi-definite matrix (rounding negatives to 0)."""
    vals, vecs = torch.linalg.eigh(s)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance_gaussians(mu1, s1, mu2, s2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) between N(mu1, S1) and N(mu2, S2).

    (S1 S2)^{1/2} is not symmetric, but it is similar to the symmetric PSD matrix
    S1^{1/2} S2 S1^{1/2}, which has the same eigenvalues, so its trace is the sum of the
    square roots of that matrix's eigenvalues: a stable eigh instead of a general sqrtm.
    """
    mu1, mu2 = (torch.as_tensor(m, dtype=torch.float64).reshape(-1) for m in (mu1, mu2))
    s1, s2 = (torch.as_tensor(s, dtype=torch.float64).reshape(len(mu1), len(mu1)) for s in (s1, s2))
    root1 = _sqrt_psd(s1)
    middle = root1 @ s2 @ root1
    middle = (middle + middle.T) / 2                      # symmetric up to rounding; make it exact
    tr_sqrt = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + s1.trace() + s2.trace() - 2 * tr_sqrt)


def frechet_distance(f1, f2) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N1, d) and (N2, d).

    Covariances use the unbiased 1/(N - 1) normalisation, as in the reference FID code.
    """
    f1, f2 = _as_features(f1, "first feature set"), _as_features(f2, "second feature set")
    return frechet_distance_gaussians(f1.mean(0), torch.cov(f1.T), f2.mean(0), torch.cov(f2.T))


# --- KID ------------------------------------------------------------------------------------

def _poly_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b.T / a.shape[1] + 1) ** 3                 # k(x, y) = (x.y / d + 1)^3


def mmd2_poly3(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al. 2018, eq. 2), in torch
    for speed over KID's many subsets (``divergences.mmd2_unbiased(kernel="poly3")`` is the
    same estimator for general point sets)."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    # The unbiased estimator leaves out the diagonal k(x_i, x_i) terms.
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())


def kid(f1, f2, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float | None]:
    """Kernel Inception Distance (Binkowski et al. 2018): mean and standard deviation over
    subsets of the unbiased MMD^2 with the cubic kernel (x.y/d + 1)^3.

    Each subset draws ``subset_size`` rows without replacement from each set (clipped to the
    smaller set), from a generator seeded by ``seed``. When both sets are no larger than the
    subset, every subset is the whole of both and the spread says nothing: it is ``None``.
    """
    f1, f2 = _as_features(f1, "first feature set"), _as_features(f2, "second feature set")
    m = min(subset_size, len(f1), len(f2))
    g = torch.Generator().manual_seed(seed)
    values = torch.tensor([
        mmd2_poly3(f1[torch.randperm(len(f1), generator=g)[:m]], f2[torch.randperm(len(f2), generator=g)[:m]])
        for _ in range(subsets)
    ], dtype=torch.float64)
    if m == len(f1) == len(f2) or subsets < 2:
        return float(values.mean()), None
    return float(values.mean()), float(values.std())


# --- k-NN manifolds: precision / recall, density / coverage ---------------------------------

def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (len(a), len(b)) by ||a||^2 + ||b||^2 - 2 a.b."""
    return (a.square().sum(1, keepdim=True) + b.square().sum(1) - 2 * a @ b.T).clamp(min=0)


def knn_radii(f: torch.Tensor, k: int) -> torch.Tensor:
    """Squared distance from each row of ``f`` to its k-th nearest other row."""
    if k >= len(f):
        raise DataError(f"k = {k} nearest neighbours need more than {k} samples, got {len(f)}")
    out = []
    for i in range(0, len(f), CHUNK):
        d = _sq_dists(f[i:i + CHUNK], f)
        # k + 1 smallest: the point itself (distance 0) comes first.
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out)


def ball_counts(fake: torch.Tensor, real: torch.Tensor, real_radii: torch.Tensor,
                fake_radii: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Which k-NN balls (inclusive, squared radii from :func:`knn_radii`) hold which points.

    ``fake_in_real``: per fake, how many real balls hold it; ``real_ball_hit``: per real
    ball, whether any fake lies in it; with ``fake_radii``, ``real_in_fake``: per real,
    whether any fake ball holds it. One pass over the fake-real distances serves all three.
    """
    fake_in_real = torch.zeros(len(fake), dtype=torch.int64)
    real_ball_hit = torch.zeros(len(real), dtype=torch.bool)
    real_in_fake = torch.zeros(len(real), dtype=torch.bool)
    for i in range(0, len(fake), CHUNK):
        d = _sq_dists(fake[i:i + CHUNK], real)                               # (chunk, N_real)
        inside = d <= real_radii
        fake_in_real[i:i + CHUNK] = inside.sum(1)
        real_ball_hit |= inside.any(0)
        if fake_radii is not None:
            real_in_fake |= (d <= fake_radii[i:i + CHUNK, None]).any(0)
    return {"fake_in_real": fake_in_real, "real_ball_hit": real_ball_hit, "real_in_fake": real_in_fake}


def precision_recall(real, fake, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN manifolds.

    Precision: the fraction of fakes inside the real manifold (the union of balls around
    each real sample reaching its k-th nearest real neighbour); recall: the fraction of
    reals inside the fake manifold.
    """
    real, fake = _as_features(real, "real features"), _as_features(fake, "fake features")
    balls = ball_counts(fake, real, knn_radii(real, k), knn_radii(fake, k))
    return {"precision": float((balls["fake_in_real"] > 0).double().mean()),
            "recall": float(balls["real_in_fake"].double().mean())}


def density_coverage(real, fake, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020), built on real k-NN balls only.

    Density: the mean number of real balls holding a fake, divided by k (about 1 when the
    fakes follow the real law). Coverage: the fraction of real balls holding a fake.
    """
    real, fake = _as_features(real, "real features"), _as_features(fake, "fake features")
    balls = ball_counts(fake, real, knn_radii(real, k))
    return {"density": float(balls["fake_in_real"].double().sum() / (k * len(fake))),
            "coverage": float(balls["real_ball_hit"].double().mean())}


# --- class statistics from the classifier's p(y|x) -----------------------------------------

def _as_probs(probs) -> torch.Tensor:
    p = torch.as_tensor(probs).detach().cpu().to(torch.float64)
    if p.dim() != 2 or len(p) == 0:
        raise DataError(f"class probabilities must be a (N, K) matrix, got shape {tuple(p.shape)}")
    return p


def inception_score(probs, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) the mean over each split (Salimans et al. 2016).

    Returns the mean and standard deviation over ``splits`` equal parts (std 0 for one).
    Ranges from 1 (every sample the same class distribution) to K (confident, balanced).
    """
    p = _as_probs(probs)
    scores = []
    for part in p.chunk(splits):
        marginal = part.mean(0, keepdim=True)
        # x log(x / m) with 0 log 0 = 0, so that one-hot probabilities are fine.
        kl = torch.xlogy(part, part) - torch.xlogy(part, marginal)
        scores.append(math.exp(float(kl.sum(1).mean())))
    values = torch.tensor(scores, dtype=torch.float64)
    return float(values.mean()), float(values.std()) if len(scores) > 1 else 0.0


def class_coverage(probs, num_classes: int) -> dict[str, float]:
    """How many classes the samples' predicted labels hit, and KL(histogram || uniform) in nats."""
    pred = _as_probs(probs).argmax(1)
    counts = torch.bincount(pred, minlength=num_classes).to(torch.float64)
    hist = counts / counts.sum()
    kl = float(torch.xlogy(hist, hist * num_classes).sum())
    return {"classes_hit": int((counts > 0).sum()), "kl_to_uniform": kl}


def conditional_accuracy(probs, labels) -> float:
    """Fraction of samples the classifier assigns to the label they were generated for."""
    labels = torch.as_tensor(labels).cpu().long()
    return float((_as_probs(probs).argmax(1) == labels).double().mean())


# --- everything at once, with the real-vs-real baseline ------------------------------------

def feature_scores(real: torch.Tensor, other: torch.Tensor, *, seed: int = 0,
                   kid_subsets: int = 100, kid_subset_size: int = 1000) -> dict[str, float]:
    """Frechet distance, KID, precision/recall and density/coverage of ``other`` against ``real``."""
    kid_mean, kid_std = kid(real, other, kid_subsets, kid_subset_size, seed)
    return {"frechet_distance": frechet_distance(real, other), "kid": kid_mean, "kid_std": kid_std,
            **precision_recall(real, other), **density_coverage(real, other)}


def class_scores(probs: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Inception-style score and class coverage from class probabilities."""
    return {"inception_score": inception_score(probs)[0], **class_coverage(probs, num_classes)}


def image_metrics(net, real_x: torch.Tensor, fake_x: torch.Tensor, n: int = 1000, seed: int = 0) -> dict:
    """Every image metric for ``fake_x`` and, beside it, for real images at the same N.

    ``real_x`` is split (seeded) into a reference set of ``n`` and a disjoint set of ``n``
    that plays the part of a perfect generator; ``n`` is clipped to what the data allow
    and reported. ``net`` is a :class:`~genlab.metrics.features.FeatureNet`.
    """
    n = min(n, len(fake_x), len(real_x) // 2)
    if n < 6:
        raise DataError(f"image metrics need at least 6 fakes and 12 real images, got {len(fake_x)} and {len(real_x)}")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(real_x), generator=g)
    reference, baseline = real_x[perm[:n]], real_x[perm[n:2 * n]]
    fake = fake_x[torch.randperm(len(fake_x), generator=g)[:n]]
    f_ref = net.features(reference)
    k = net.config.num_classes
    return {
        "n": n,
        "seed": seed,
        "feature_net": {key: net.meta.get(key) for key in ("weights_sha256", "test_accuracy", "dataset", "seed")},
        "model": {**feature_scores(f_ref, net.features(fake), seed=seed), **class_scores(net.probs(fake), k)},
        "real_vs_real": {**feature_scores(f_ref, net.features(baseline), seed=seed),
                         **class_scores(net.probs(baseline), k)},
    }
