"""Divergences and distances between distributions, following docs/EVALUATION.md.

Three kinds of input, one section each:

- histograms (discrete distributions): entropy, cross-entropy, KL and Jensen-Shannon;
- densities known in closed form: Monte Carlo KL and cross-entropy, Gaussian KL;
- two sample sets: histogram and k-NN estimators of KL, Wasserstein-1 (exact in 1-D,
  exact by assignment or linear program for small N, sliced otherwise) and MMD.

Every value is a Python float in nats unless ``base=2`` (bits) is asked for; inputs may be
numpy arrays, torch tensors or lists. Definitions: H(p,q) = -E_p log q,
KL(p||q) = H(p,q) - H(p), JS(p,q) = KL(p||m)/2 + KL(q||m)/2 with m = (p+q)/2.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from ..errors import ConfigError, DataError

MAX_EXACT_POINTS = 2_000        # assignment problem: O(N^3) time, N^2 costs in memory
MAX_LP_PAIRS = 250_000          # transport plan variables for the linear program (500 x 500)
MEDIAN_SUBSET = 2_000           # points used for the median-heuristic bandwidth


# --------------------------------------------------------------------------- input checks

def _array(x, what: str) -> np.ndarray:
    if hasattr(x, "detach"):                      # torch tensor, possibly on a GPU
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.size == 0:
        raise DataError(f"{what} is empty")
    if not np.isfinite(a).all():
        raise DataError(f"{what} contains NaN or infinite values")
    return a


def _probs(p, what: str) -> np.ndarray:
    """A histogram normalised to sum to one (flattened)."""
    p = _array(p, what).ravel()
    if (p < 0).any():
        raise DataError(f"{what} has negative entries")
    total = p.sum()
    if total <= 0:
        raise DataError(f"{what} sums to zero")
    return p / total


def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p, q = _probs(p, "p"), _probs(q, "q")
    if p.shape != q.shape:
        raise DataError(f"p and q differ in size: {p.size} vs {q.size}")
    return p, q


def _log_base(base: float) -> float:
    if not base > 0 or base == 1:
        raise ConfigError(f"log base must be positive and not 1, got {base}")
    return math.log(base)


def _points(x, what: str) -> np.ndarray:
    """Samples as an (N, d) array; a 1-D input is N scalars."""
    a = _array(x, what)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise DataError(f"{what} must be (N,) or (N, d), got shape {a.shape}")
    return a


def _point_pair(x, y, min_n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    x, y = _points(x, "x"), _points(y, "y")
    if x.shape[1] != y.shape[1]:
        raise DataError(f"x and y differ in dimension: {x.shape[1]} vs {y.shape[1]}")
    if min(len(x), len(y)) < min_n:
        raise DataError(f"need at least {min_n} samples in each set, got {len(x)} and {len(y)}")
    return x, y


def _weights(w, n: int, what: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    w = _probs(w, what)
    if w.size != n:
        raise DataError(f"{what} has {w.size} entries for {n} points")
    return w


# --------------------------------------------------------------------------- histograms

def entropy(p, base: float = math.e) -> float:
    """Shannon entropy H(p) = -sum p log p of a histogram (normalised first); 0 log 0 = 0."""
    p = _probs(p, "p")
    nz = p > 0
    return float(-(p[nz] * np.log(p[nz])).sum() / _log_base(base))


def cross_entropy(p, q, base: float = math.e) -> float:
    """H(p, q) = -sum p log q (nats, or bits with base=2); inf where q = 0 < p."""
    p, q = _pair(p, q)
    nz = p > 0
    if (q[nz] == 0).any():
        return math.inf
    return float(-(p[nz] * np.log(q[nz])).sum() / _log_base(base))


def kl_divergence(p, q, base: float = math.e) -> float:
    """KL(p||q) = sum p log(p/q) (nats, or bits with base=2); inf where q = 0 < p.

    Summed directly rather than as H(p,q) - H(p) so that KL(p||p) is exactly 0.
    """
    p, q = _pair(p, q)
    nz = p > 0
    if (q[nz] == 0).any():
        return math.inf
    return float((p[nz] * np.log(p[nz] / q[nz])).sum() / _log_base(base))


def js_divergence(p, q, base: float = math.e) -> float:
    """Jensen-Shannon divergence KL(p||m)/2 + KL(q||m)/2, m = (p+q)/2; at most log 2.

    This is the divergence itself: ``scipy.spatial.distance.jensenshannon`` returns its
    square root.
    """
    p, q = _pair(p, q)
    m = (p + q) / 2                   # m > 0 wherever p or q is, so both KLs are finite
    return (kl_divergence(p, m, base) + kl_divergence(q, m, base)) / 2


# --------------------------------------------------------------------------- densities

def _log_values(log_density: Callable, x) -> np.ndarray:
    return _array(log_density(x), "log density values").ravel()


def _mean_and_stderr(v: np.ndarray, scale: float) -> tuple[float, float]:
    stderr = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else math.nan
    return float(v.mean() / scale), float(stderr / scale)


def kl_monte_carlo(log_p: Callable, log_q: Callable, samples_p,
                   base: float = math.e) -> tuple[float, float]:
    """KL(p||q) ~ mean over x ~ p of log p(x) - log q(x), with its standard error.

    ``log_p`` and ``log_q`` map the samples to one log density (nats) per sample. The
    standard error is std / sqrt(N) of the per-sample log ratios. Returns (estimate,
    standard error) in nats, or bits with base=2.
    """
    v = _log_values(log_p, samples_p) - _log_values(log_q, samples_p)
    return _mean_and_stderr(v, _log_base(base))


def cross_entropy_monte_carlo(log_q: Callable, samples_p,
                              base: float = math.e) -> tuple[float, float]:
    """H(p, q) ~ mean over x ~ p of -log q(x); returns (estimate, standard error) in nats."""
    return _mean_and_stderr(-_log_values(log_q, samples_p), _log_base(base))


def _gaussian(mu, cov, what: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.atleast_1d(_array(mu, f"{what} mean"))
    cov = np.atleast_2d(_array(cov, f"{what} covariance"))
    if cov.shape == (1, 1) and mu.size > 1:       # one variance shared by every axis
        cov = cov[0, 0] * np.eye(mu.size)
    if mu.ndim != 1 or cov.shape != (mu.size, mu.size):
        raise DataError(f"{what}: mean {mu.shape} and covariance {cov.shape} do not fit")
    return mu, cov


def gaussian_kl(mu1, cov1, mu2, cov2, base: float = math.e) -> float:
    """Closed-form KL(N(mu1, cov1) || N(mu2, cov2)) in nats (bits with base=2).

    KL = 1/2 [tr(S2^-1 S1) + (mu2 - mu1)^T S2^-1 (mu2 - mu1) - k + log det S2 - log det S1].
    A scalar covariance is a variance (1-D, or shared by every axis).
    """
    mu1, s1 = _gaussian(mu1, cov1, "first Gaussian")
    mu2, s2 = _gaussian(mu2, cov2, "second Gaussian")
    if mu1.size != mu2.size:
        raise DataError(f"Gaussians differ in dimension: {mu1.size} vs {mu2.size}")
    try:                           # Cholesky both checks positive definiteness and solves
        l1, l2 = np.linalg.cholesky(s1), np.linalg.cholesky(s2)
    except np.linalg.LinAlgError:
        raise DataError("covariances must be symmetric positive definite") from None
    a = np.linalg.solve(l2, l1)                        # tr(S2^-1 S1) = ||L2^-1 L1||_F^2
    b = np.linalg.solve(l2, mu2 - mu1)                 # Mahalanobis term = ||L2^-1 dmu||^2
    logdet = 2 * (np.log(np.diag(l2)).sum() - np.log(np.diag(l1)).sum())
    kl = 0.5 * ((a**2).sum() + (b**2).sum() - mu1.size + logdet)
    return float(max(kl, 0.0) / _log_base(base))     # clip rounding below zero


# --------------------------------------------------------------------------- sample sets

def histogram_divergences(x, y, bins: int = 50, range: list | None = None,
                          eps: float = 1e-6) -> dict:
    """KL both ways and JS between two 1-D or 2-D sample sets, from histograms on one grid.

    The grid is ``bins`` equal cells per axis over ``range`` ([lo, hi] in 1-D, or one pair
    per axis); by default the joint min and max of both sets. Samples outside the range are
    dropped and counted. KL uses smoothed histograms: every cell gets ``eps`` extra
    probability before renormalising, so a cell empty in one set gives a large but finite
    term. JS needs no smoothing (it is always finite) and uses the raw histograms. Values in
    nats; returns {kl_pq, kl_qp, js, bins, range, eps, dropped_x, dropped_y}.
    """
    x, y = _point_pair(x, y)
    d = x.shape[1]
    if d > 2:
        raise ConfigError(f"histogram estimators are for 1-D or 2-D data, got {d}-D; use knn_kl")
    if range is None:
        lo = np.minimum(x.min(0), y.min(0))
        hi = np.maximum(x.max(0), y.max(0))
        range = [[float(a), float(b) if b > a else float(a) + 1.0] for a, b in zip(lo, hi)]
    grid = np.asarray(range, dtype=np.float64).reshape(d, 2).tolist()
    hx, _ = np.histogramdd(x, bins=bins, range=grid)
    hy, _ = np.histogramdd(y, bins=bins, range=grid)
    if hx.sum() == 0 or hy.sum() == 0:
        raise DataError("no samples fall inside the histogram range")
    p, q = hx / hx.sum(), hy / hy.sum()
    ps, qs = p + eps, q + eps
    return {
        "kl_pq": kl_divergence(ps, qs), "kl_qp": kl_divergence(qs, ps),
        "js": js_divergence(p, q), "bins": bins, "range": grid, "eps": eps,
        "dropped_x": int(len(x) - hx.sum()), "dropped_y": int(len(y) - hy.sum()),
    }


def knn_kl(x, y, k: int = 1) -> float:
    """k-NN estimate of KL(p||q) in nats from x ~ p (n, d) and y ~ q (m, d).

    Wang, Kulkarni & Verdu (2009), eq. 5: D = d/n sum_i log(nu_k(i) / rho_k(i))
    + log(m / (n - 1)), where rho_k(i) is the distance from x_i to its k-th neighbour in x
    (itself excluded) and nu_k(i) to its k-th neighbour in y. Consistent as n, m grow;
    duplicated points (zero distances) make it undefined.
    """
    x, y = _point_pair(x, y, min_n=k + 1)
    n, d = x.shape
    rho = cKDTree(x).query(x, k=k + 1)[0][:, k]          # column 0 is the point itself
    nu = cKDTree(y).query(x, k=k)[0]
    nu = nu[:, k - 1] if k > 1 else nu
    if (rho == 0).any() or (nu == 0).any():
        raise DataError("k-NN KL is undefined with duplicated points (zero distances)")
    return float(d * np.log(nu / rho).mean() + math.log(len(y) / (n - 1)))


# --------------------------------------------------------------------------- Wasserstein-1

def wasserstein1_1d(x, y, x_weights=None, y_weights=None) -> float:
    """Exact W1 between two 1-D (weighted) empirical distributions, any sizes.

    In 1-D, W1 = integral |F^-1(u) - G^-1(u)| du = integral |F(t) - G(t)| dt; the CDFs are
    step functions, so the second integral is a finite sum over the merged sorted values.
    Same definition as ``scipy.stats.wasserstein_distance``.
    """
    x, y = _array(x, "x").ravel(), _array(y, "y").ravel()
    wx, wy = _weights(x_weights, x.size, "x_weights"), _weights(y_weights, y.size, "y_weights")
    ix, iy = np.argsort(x), np.argsort(y)
    x, y, wx, wy = x[ix], y[iy], wx[ix], wy[iy]
    t = np.sort(np.concatenate([x, y]))
    cdf_x = np.concatenate([[0.0], np.cumsum(wx)])[np.searchsorted(x, t[:-1], side="right")]
    cdf_y = np.concatenate([[0.0], np.cumsum(wy)])[np.searchsorted(y, t[:-1], side="right")]
    return float((np.abs(cdf_x - cdf_y) * np.diff(t)).sum())


def _w1_linprog(cost: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Kantorovich's problem: min <C, P> over plans P >= 0 with marginals a and b."""
    from scipy.optimize import linprog
    from scipy.sparse import eye, kron, vstack

    n, m = cost.shape
    rows = kron(eye(n), np.ones((1, m)))            # sum_j P_ij = a_i
    cols = kron(np.ones((1, n)), eye(m))            # sum_i P_ij = b_j
    # One constraint is implied by the others (both marginals sum to 1); HiGHS copes.
    res = linprog(cost.ravel(), A_eq=vstack([rows, cols]).tocsr(),
                  b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    if not res.success:
        raise DataError(f"optimal transport linear program failed: {res.message}")
    return float(res.fun)


def wasserstein1_exact(x, y, x_weights=None, y_weights=None) -> float:
    """Exact W1 (Euclidean ground cost) between two small n-D empirical distributions.

    Equal sizes with uniform weights: an optimal plan is a permutation (Birkhoff-von
    Neumann), so the assignment problem (``linear_sum_assignment``) gives the exact value
    for up to MAX_EXACT_POINTS points. Otherwise the transport linear program, for at most
    MAX_LP_PAIRS pairs of points. Larger sets raise ConfigError: use sliced_wasserstein.
    """
    x, y = _point_pair(x, y)
    n, m = len(x), len(y)
    uniform = x_weights is None and y_weights is None
    if uniform and n == m:
        if n > MAX_EXACT_POINTS:
            raise ConfigError(f"exact W1 is limited to {MAX_EXACT_POINTS} points, got {n}; "
                              "use sliced_wasserstein")
        from scipy.optimize import linear_sum_assignment
        cost = cdist(x, y)
        r, c = linear_sum_assignment(cost)
        return float(cost[r, c].mean())
    if n * m > MAX_LP_PAIRS:
        raise ConfigError(f"exact W1 by linear program is limited to {MAX_LP_PAIRS} pairs, "
                          f"got {n} x {m}; use sliced_wasserstein")
    a = _weights(x_weights, n, "x_weights")
    b = _weights(y_weights, m, "y_weights")
    return _w1_linprog(cdist(x, y), a, b)


def sliced_wasserstein(x, y, projections: int = 256, seed: int = 0) -> float:
    """Sliced W1: the mean of exact 1-D W1 over random unit directions (Bonneel et al. 2015).

    Directions are drawn uniformly on the sphere from ``numpy.random.default_rng(seed)``.
    This is a different quantity from W1, never larger (projection is 1-Lipschitz): for a
    translation by delta in d dimensions it tends to E|theta_1| |delta|, e.g. (2/pi)|delta|
    in 2-D.
    """
    x, y = _point_pair(x, y)
    if projections < 1:
        raise ConfigError(f"projections must be at least 1, got {projections}")
    theta = np.random.default_rng(seed).standard_normal((x.shape[1], projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    px, py = x @ theta, y @ theta                         # (n, P), (m, P)
    if len(x) == len(y):                      # equal sizes: sorted samples pair up exactly
        return float(np.abs(np.sort(px, 0) - np.sort(py, 0)).mean())
    return float(np.mean([wasserstein1_1d(px[:, j], py[:, j]) for j in range(projections)]))


def wasserstein1(x, y, projections: int = 256, seed: int = 0) -> dict:
    """W1 by the best method the sizes allow; returns {value, method, projections, seed}.

    1-D: exact ("exact-1d"); n-D small enough for :func:`wasserstein1_exact`: exact
    ("exact-assignment" or "exact-lp"); otherwise sliced ("sliced", which is not W1 itself,
    see :func:`sliced_wasserstein`). ``projections`` and ``seed`` are None unless sliced.
    """
    x, y = _point_pair(x, y)
    n, m = len(x), len(y)
    if x.shape[1] == 1:
        return {"value": wasserstein1_1d(x, y), "method": "exact-1d",
                "projections": None, "seed": None}
    if n == m and n <= MAX_EXACT_POINTS:
        method = "exact-assignment"
    elif n * m <= MAX_LP_PAIRS:
        method = "exact-lp"
    else:
        return {"value": sliced_wasserstein(x, y, projections, seed), "method": "sliced",
                "projections": projections, "seed": seed}
    return {"value": wasserstein1_exact(x, y), "method": method,
            "projections": None, "seed": None}


# --------------------------------------------------------------------------- MMD

def median_bandwidth(x, y) -> float:
    """Median heuristic (Gretton et al. 2012): median pairwise distance in the pooled sample.

    Beyond MEDIAN_SUBSET pooled points a fixed-seed subset is used, to bound the cost.
    """
    x, y = _point_pair(x, y)
    z = np.concatenate([x, y])
    if len(z) > MEDIAN_SUBSET:
        z = z[np.random.default_rng(0).choice(len(z), MEDIAN_SUBSET, replace=False)]
    dist = cdist(z, z)[np.triu_indices(len(z), k=1)]
    med = float(np.median(dist))
    return med if med > 0 else 1.0               # all points equal: any width will do


def _kernel(a: np.ndarray, b: np.ndarray, kernel: str, bandwidth: float) -> np.ndarray:
    if kernel == "rbf":
        return np.exp(-cdist(a, b, "sqeuclidean") / (2 * bandwidth**2))
    return (a @ b.T / a.shape[1] + 1) ** 3             # "poly3", the KID kernel


def mmd2_unbiased(x, y, kernel: str = "rbf", bandwidth: float | None = None) -> float:
    """Unbiased estimate of MMD^2 (Gretton et al. 2012, eq. 3); may be slightly negative.

    MMD^2_u = sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (n(n-1))
    - 2 mean k(x_i, y_j). Kernels: "rbf" exp(-|a-b|^2 / (2 s^2)) with s = ``bandwidth`` or
    the median heuristic (:func:`median_bandwidth`); "poly3" (a.b/d + 1)^3, as in KID.
    """
    if kernel not in ("rbf", "poly3"):
        raise ConfigError(f"unknown kernel {kernel!r}; valid: 'poly3', 'rbf'")
    x, y = _point_pair(x, y, min_n=2)
    if kernel == "rbf":
        bandwidth = median_bandwidth(x, y) if bandwidth is None else bandwidth
        if not bandwidth > 0:
            raise ConfigError(f"bandwidth must be positive, got {bandwidth}")
    m, n = len(x), len(y)
    kxx, kyy = _kernel(x, x, kernel, bandwidth), _kernel(y, y, kernel, bandwidth)
    kxy = _kernel(x, y, kernel, bandwidth)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())
