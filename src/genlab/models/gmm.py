"""Gaussian mixture model fitted by expectation-maximisation.

EM for a mixture of Gaussians (Dempster, Laird & Rubin 1977), written after Bishop,
*Pattern Recognition and Machine Learning*, ch. 9.2: the density is eq. 9.7,
``p(x) = sum_k pi_k N(x | mu_k, Sigma_k)``; the E-step computes responsibilities (eq. 9.23)
and the M-step re-estimates means, covariances and weights from them (eqs. 9.24-9.27).
Each run starts from (greedy) k-means++ centres (Arthur & Vassilvitskii 2007) refined by a few
Lloyd iterations; several seeded restarts are run and the one with the highest
log-likelihood is kept.

Images (``n_bins`` > 0) are modelled after uniform dequantisation, ``(level + u) / n_bins``,
so ``log_prob`` is a density on the unit cube and bits/dim follow Theis et al. (2016);
samples are mapped back to the level of the cell they fall in, i.e. drawn from the discrete
distribution that gives each level the mass of its cell (mass outside the cube goes to the
edge levels).

All maths runs in float64. Learned parameters are registered buffers whose names end in
an underscore (``weights_``, ``means_``, ``covariances_``), so ``state_dict`` and the
safetensors checkpoint hold the whole model; Cholesky factors are derived from them on use.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, NamedTuple

import torch

from ..config import check
from ..errors import DataError, GenlabError
from ..metrics.likelihood import bits_per_dim, dequantize
from .base import Model

LLOYD_ITERS = 20  # k-means refinement of the k-means++ centres; stops early once stable
F64 = torch.float64


@dataclass
class GMMConfig:
    data_shape: tuple[int, ...] = (2,)  # one example; flattened to D = prod(data_shape)
    components: int = 8  # K
    covariance: Literal["full", "diag"] = "full"  # each component's covariance matrix
    restarts: int = 3  # EM runs from different seeds; the best log-likelihood wins
    max_iter: int = 200  # EM iterations per restart
    tol: float = 1e-3  # stop when the mean log-likelihood per sample changes less than this
    reg_covar: float = 1e-6  # added to covariance diagonals so no component becomes singular
    init: Literal["kmeans++", "random"] = "kmeans++"  # how EM's responsibilities start
    n_bins: int = 0  # intensity levels of image data (filled from data); 0 = continuous points

    def __post_init__(self):
        self.data_shape = tuple(self.data_shape)
        check(len(self.data_shape) >= 1 and all(d >= 1 for d in self.data_shape),
              f"data_shape={self.data_shape} must be a non-empty list of positive sizes")
        check(self.components >= 1, f"components={self.components} must be at least 1")
        check(self.covariance in ("full", "diag"), f"covariance={self.covariance!r} is not one of 'full', 'diag'")
        check(self.restarts >= 1, f"restarts={self.restarts} must be at least 1")
        check(self.max_iter >= 1, f"max_iter={self.max_iter} must be at least 1")
        check(self.tol > 0, f"tol={self.tol} must be positive")
        check(self.reg_covar >= 0, f"reg_covar={self.reg_covar} must be non-negative")
        check(self.init in ("kmeans++", "random"), f"init={self.init!r} is not one of 'kmeans++', 'random'")
        check(self.n_bins == 0 or self.n_bins >= 2, f"n_bins={self.n_bins} must be 0 or at least 2")


class Params(NamedTuple):
    """One set of mixture parameters: weights (K,), means (K, D), covariances (K, D, D) or (K, D)."""

    weights: torch.Tensor
    means: torch.Tensor
    covariances: torch.Tensor


class EMResult(NamedTuple):
    params: Params
    lower_bound: float  # mean log-likelihood per sample of ``params``
    n_iter: int
    converged: bool
    lower_bounds: tuple[float, ...]  # the mean log-likelihood before the first iteration and after each


# --- Gaussian densities ---------------------------------------------------------------------

def whitening(covariances: torch.Tensor) -> torch.Tensor:
    """W_k = L_k^{-1} for Sigma_k = L_k L_k^T, so (x - mu)^T Sigma^{-1} (x - mu) = |W (x - mu)|^2."""
    chol, info = torch.linalg.cholesky_ex(covariances)  # (K, D, D)
    if bool((info > 0).any()):
        raise DataError("a component covariance is not positive definite (degenerate data?); increase reg_covar")
    eye = torch.eye(covariances.shape[-1], dtype=covariances.dtype, device=covariances.device)
    return torch.linalg.solve_triangular(chol, eye.expand_as(chol), upper=False)


def log_gaussians(x: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor,
                  covariance: str) -> torch.Tensor:
    """log N(x_n | mu_k, Sigma_k) for every sample and component: (N, K)."""
    const = -0.5 * x.shape[1] * math.log(2 * math.pi)
    if covariance == "diag":
        if bool((covariances <= 0).any()):
            raise DataError("a component variance is zero (a constant dimension?); increase reg_covar")
        prec = 1 / covariances  # (K, D)
        # |x - mu|^2 / sigma^2 expanded into three matmuls: no (N, K, D) temporary
        maha = x.square() @ prec.T - 2 * x @ (means * prec).T + (means.square() * prec).sum(1)
        return const - 0.5 * covariances.log().sum(-1) - 0.5 * maha.clamp(min=0)
    w = whitening(covariances)  # (K, D, D)
    y = (x @ w.mT).sub_(means[:, None, :] @ w.mT)  # W_k (x_n - mu_k): (K, N, D), in place
    log_det = w.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # log |Sigma_k|^{-1/2}, (K,)
    return const + log_det - 0.5 * y.square_().sum(-1).T


def log_joint(x: torch.Tensor, p: Params, covariance: str) -> torch.Tensor:
    """log pi_k + log N(x_n | mu_k, Sigma_k): (N, K); logsumexp over k gives eq. 9.7."""
    return p.weights.log() + log_gaussians(x, p.means, p.covariances, covariance)


# --- EM -------------------------------------------------------------------------------------

def e_step(x: torch.Tensor, p: Params, covariance: str) -> tuple[float, torch.Tensor]:
    """Mean log-likelihood and responsibilities gamma(z_nk) (eq. 9.23), in log space."""
    joint = log_joint(x, p, covariance)  # (N, K)
    log_norm = torch.logsumexp(joint, dim=1)  # (N,)
    return log_norm.mean().item(), (joint - log_norm[:, None]).exp()


def m_step(x: torch.Tensor, resp: torch.Tensor, covariance: str, reg_covar: float) -> Params:
    """Means, covariances and weights from responsibilities (eqs. 9.24-9.27)."""
    nk = resp.sum(0) + 10 * torch.finfo(F64).eps  # (K,); an empty component gets mean 0, not NaN
    means = resp.T @ x / nk[:, None]  # (K, D)
    if covariance == "diag":
        # E[x^2] - mu^2 (fit centres the data, which keeps the cancellation harmless)
        cov = (resp.T @ x.square() / nk[:, None] - means.square()).clamp(min=0) + reg_covar
    else:
        # sqrt(gamma_nk) (x_n - mu_k): (K, N, D), so that one batched matmul gives eq. 9.25
        scaled = (x - means[:, None, :]).mul_(resp.T[:, :, None].sqrt())
        cov = scaled.mT @ scaled / nk[:, None, None]
        cov = 0.5 * (cov + cov.mT)  # exact symmetry, so save/load and Cholesky agree bit for bit
        cov.diagonal(dim1=-2, dim2=-1).add_(reg_covar)
    return Params(nk / nk.sum(), means, cov)


def run_em(x: torch.Tensor, resp: torch.Tensor, config: GMMConfig) -> EMResult:
    """Alternate M- and E-steps until the mean log-likelihood changes by less than tol."""
    p = m_step(x, resp, config.covariance, config.reg_covar)
    lower_bound, resp = e_step(x, p, config.covariance)
    trace = [lower_bound]
    for it in range(1, config.max_iter + 1):
        p = m_step(x, resp, config.covariance, config.reg_covar)
        lower_bound, resp = e_step(x, p, config.covariance)
        trace.append(lower_bound)
        if abs(lower_bound - trace[-2]) < config.tol:
            return EMResult(p, lower_bound, it, True, tuple(trace))
    return EMResult(p, lower_bound, config.max_iter, False, tuple(trace))


# --- initialisation -------------------------------------------------------------------------

def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007), greedy variant: each new centre is
    the best of 2 + ln k candidates drawn with probability ~ D(x)^2, the one that lowers the
    k-means potential most (the variant the paper poses; analysed by Grunau et al. 2023)."""
    n, tries = x.shape[0], 2 + int(math.log(k))
    first = int(torch.randint(n, (1,), generator=generator))
    chosen = [first]
    d2 = (x - x[first]).square().sum(1)  # (N,) squared distance to the nearest chosen centre
    for _ in range(1, k):
        if bool(d2.sum() > 0):
            cand = torch.multinomial(d2.cpu(), tries, replacement=True, generator=generator).to(x.device)
        else:  # fewer distinct points than centres: any point is as good as another
            cand = torch.randint(n, (tries,), generator=generator).to(x.device)
        new_d2 = torch.minimum(d2, sq_dist(x[cand], x))  # (tries, N)
        best = int(new_d2.sum(1).argmin())
        chosen.append(int(cand[best]))
        d2 = new_d2[best]
    return x[chosen].clone()


def sq_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a_i - b_j|^2 as one matmul: (len(a), len(b))."""
    return (a.square().sum(1)[:, None] - 2 * a @ b.T + b.square().sum(1)).clamp(min=0)


def nearest(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    return sq_dist(x, centres).argmin(1)


def lloyd(x: torch.Tensor, centres: torch.Tensor, max_iter: int = LLOYD_ITERS) -> torch.Tensor:
    """Refine centres by k-means; returns the final hard assignment of every point (N,)."""
    k = centres.shape[0]
    labels = nearest(x, centres)
    for _ in range(max_iter):
        onehot = torch.nn.functional.one_hot(labels, k).to(x.dtype)  # (N, K)
        counts = onehot.sum(0)[:, None]
        centres = torch.where(counts > 0, onehot.T @ x / counts.clamp(min=1), centres)  # empty: keep old
        new = nearest(x, centres)
        if torch.equal(new, labels):
            break
        labels = new
    return labels


def initial_responsibilities(x: torch.Tensor, config: GMMConfig, generator: torch.Generator) -> torch.Tensor:
    """Hard responsibilities (N, K) from k-means++ + Lloyd, or from K random data points."""
    k = config.components
    if config.init == "kmeans++":
        labels = lloyd(x, kmeans_plus_plus(x, k, generator))
    else:
        picks = torch.randperm(x.shape[0], generator=generator)[:k].to(x.device)
        labels = nearest(x, x[picks])
    return torch.nn.functional.one_hot(labels, k).to(F64)


def restart_generator(seed: int, restart: int) -> torch.Generator:
    """A CPU generator per (seed, restart) so that every restart is reproducible on its own."""
    return torch.Generator().manual_seed((seed * 100_003 + restart) % 2**63)


# --- the model ------------------------------------------------------------------------------

class GMM(Model):
    """A mixture of K Gaussians with full or diagonal covariances."""

    name = "gmm"
    Config = GMMConfig
    fitted = True
    precisions = ("fp32",)  # EM's sums and log-determinants in full precision
    likelihood = True
    presets = {"digits": dict(components=10)}  # the demo's and README's digits figures
    retired_config = ("seed",)  # the seed of EM's restarts is the run's (``fit(..., seed=)``)

    def __init__(self, config: GMMConfig):
        super().__init__(config)
        k, d = config.components, self.dim
        self.register_buffer("weights_", torch.zeros(k, dtype=F64))
        self.register_buffer("means_", torch.zeros(k, d, dtype=F64))
        identity = torch.eye(d, dtype=F64).repeat(k, 1, 1)  # (K, D, D); "diag" keeps only (K, D)
        self.register_buffer("covariances_", identity if config.covariance == "full" else torch.ones(k, d, dtype=F64))
        self.converged_: bool | None = None
        self.n_iter_ = 0
        self.lower_bound_: float | None = None
        self.lower_bounds_: tuple[float, ...] = ()  # lower_bound_ at every iteration of the restart kept

    @property
    def dim(self) -> int:
        return math.prod(self.config.data_shape)

    def params(self) -> Params:
        return Params(self.weights_, self.means_, self.covariances_)

    # --- fitting --------------------------------------------------------------------------

    @torch.no_grad()
    def fit(self, x: torch.Tensor, *, n_bins: int | None = None, seed: int = 0) -> GMM:
        """Fit by EM; image data (``n_bins`` here or in the config) is dequantised first.
        ``seed`` decides the restarts' initialisations and the dequantisation noise."""
        x = self._matrix(x)
        self._check_fit_data(x)
        self._record_n_bins(n_bins)
        if self.config.n_bins:
            x = dequantize(x, self.config.n_bins, restart_generator(seed, -1))
        shift = x.mean(0)  # EM is translation-equivariant; centred data loses less to rounding
        x = x - shift
        best = None
        for restart in range(self.config.restarts):
            resp = initial_responsibilities(x, self.config, restart_generator(seed, restart))
            result = run_em(x, resp, self.config)
            if best is None or result.lower_bound > best.lower_bound:
                best = result
        self._set_params(best.params._replace(means=best.params.means + shift))
        self.converged_, self.n_iter_, self.lower_bound_ = best.converged, best.n_iter, best.lower_bound
        self.lower_bounds_ = best.lower_bounds
        if not best.converged:
            warnings.warn(f"gmm: EM did not converge in max_iter={self.config.max_iter} iterations "
                          f"(tol={self.config.tol}); raise max_iter or tol", RuntimeWarning, stacklevel=3)
        return self

    def fit_log(self) -> list[dict]:
        """The last fit as metrics.jsonl lines: the mean log-likelihood per training sample at
        every EM iteration of the restart kept (step 0: before the first iteration)."""
        return [{"step": step, "train_log_likelihood": value} for step, value in enumerate(self.lower_bounds_)]

    def _check_fit_data(self, x: torch.Tensor) -> None:
        if not bool(torch.isfinite(x).all()):
            raise DataError("gmm cannot fit data containing NaN or infinite values")
        if x.shape[0] < self.config.components:
            raise DataError(f"gmm needs at least components={self.config.components} samples, got {x.shape[0]}")

    def _record_n_bins(self, n_bins: int | None) -> None:
        """Keep the data's levels in the config, so that samples (and a saved model) know them."""
        if not n_bins or n_bins == self.config.n_bins:
            return
        if self.config.n_bins or n_bins < 2:
            raise DataError(f"data with n_bins={n_bins} does not fit this gmm (n_bins={self.config.n_bins})")
        self.config.n_bins = n_bins

    def _set_params(self, p: Params) -> None:
        for buffer, value in zip((self.weights_, self.means_, self.covariances_), p):
            buffer.copy_(value)

    @classmethod
    def from_parameters(cls, weights, means, covariances, covariance: Literal["full", "diag"] = "full",
                        *, data_shape: tuple[int, ...] | None = None) -> GMM:
        """A mixture with parameters given by hand (checked: shapes, weights sum to 1, SPD)."""
        w, mu, cov = (torch.as_tensor(t, dtype=F64) for t in (weights, means, covariances))
        check(covariance in ("full", "diag"), f"covariance={covariance!r} is not one of 'full', 'diag'")
        _check_parameters(w, mu, cov, covariance)
        k, d = mu.shape
        model = cls(GMMConfig(data_shape=tuple(data_shape or (d,)), components=k, covariance=covariance))
        check(model.dim == d, f"data_shape={data_shape} has {model.dim} values but means have D={d}")
        cov = 0.5 * (cov + cov.mT) if covariance == "full" else cov
        model._set_params(Params(w / w.sum(), mu, cov))
        return model

    # --- scoring --------------------------------------------------------------------------

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log density of the mixture (eq. 9.7) in nats, one value per example: (N,)."""
        self._check_fitted()
        return torch.logsumexp(log_joint(self._matrix(x), self.params(), self.config.covariance), dim=1)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Responsibilities p(component k | x): (N, K), each row summing to 1 (eq. 9.23)."""
        self._check_fitted()
        return torch.softmax(log_joint(self._matrix(x), self.params(), self.config.covariance), dim=1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most responsible component of each example: (N,) long, as scikit-learn's."""
        return self.predict_proba(x).argmax(1)

    def score(self, x: torch.Tensor) -> float:
        """Mean log-likelihood per example in nats, as scikit-learn's ``score``."""
        return float(self.log_prob(x).mean())

    def num_parameters(self) -> int:
        """Free parameters: K-1 weights, K*D means, and K*D(D+1)/2 (full) or K*D (diag) covariances."""
        k, d = self.config.components, self.dim
        cov = k * d * (d + 1) // 2 if self.config.covariance == "full" else k * d
        return (k - 1) + k * d + cov

    def bic(self, x: torch.Tensor) -> float:
        """Bayesian information criterion -2 log L + p log N (Schwarz 1978); lower is better."""
        return -2 * float(self.log_prob(x).sum()) + self.num_parameters() * math.log(len(x))

    def aic(self, x: torch.Tensor) -> float:
        """Akaike information criterion -2 log L + 2p (Akaike 1974); lower is better."""
        return -2 * float(self.log_prob(x).sum()) + 2 * self.num_parameters()

    @torch.no_grad()
    def evaluate(self, data) -> dict[str, float]:
        """Mean log-likelihood in nats per example; for images (``n_bins`` set) it is measured
        on dequantised data (seed 0), and bits/dim is reported next to it."""
        n_bins = data.n_bins
        x = torch.as_tensor(data.x, dtype=F64)
        if n_bins is None:
            return {"log_likelihood": float(self.log_prob(x).mean())}
        log_p = self.log_prob(dequantize(x, n_bins, torch.Generator().manual_seed(0)))
        return {"log_likelihood": float(log_p.mean()),
                "bits_per_dim": float(bits_per_dim(log_p, self.dim, n_bins).mean())}

    # --- sampling -------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws (n, *data_shape) as float32: a component, then a point from its Gaussian
        (for images, mapped to the stored levels in [0, 1])."""
        self._check_labels(n, labels)
        return self.sample_with_components(n, generator=generator)[0]

    @torch.no_grad()
    def sample_with_components(self, n: int, generator: torch.Generator | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples (n, *data_shape) float32 and the component each came from (n,) int64."""
        self._check_fitted()
        check(isinstance(n, int) and n >= 0, f"n={n!r} must be a non-negative integer")
        rng_device = generator.device if generator is not None else self.device
        if n == 0:
            comps = torch.zeros(0, dtype=torch.long, device=self.device)
        else:
            comps = torch.multinomial(self.weights_.to(rng_device), n, replacement=True, generator=generator)
        z = torch.randn((n, self.dim), generator=generator, dtype=F64, device=rng_device)
        comps, z = comps.to(self.device), z.to(self.device)
        x = self.means_[comps] + self._scale(z, comps)
        if self.config.n_bins:
            x = self._to_levels(x)
        return x.float().reshape(n, *self.config.data_shape), comps

    def _to_levels(self, x: torch.Tensor) -> torch.Tensor:
        """Dequantised space -> stored images: the level of the cell x falls in, / (n_bins - 1)."""
        n_bins = self.config.n_bins
        return torch.floor(x * n_bins).clamp_(0, n_bins - 1) / (n_bins - 1)

    def _scale(self, z: torch.Tensor, comps: torch.Tensor) -> torch.Tensor:
        """Sigma_k^{1/2} z: diagonal sqrt, or the Cholesky factor L_k applied per component."""
        if self.config.covariance == "diag":
            return z * self.covariances_[comps].sqrt()
        chol = torch.linalg.cholesky(self.covariances_)  # (K, D, D)
        out = torch.empty_like(z)
        for k in range(self.config.components):  # K matmuls, not N gathered (D, D) matrices
            rows = comps == k
            out[rows] = z[rows] @ chol[k].T
        return out

    # --- input checks ---------------------------------------------------------------------

    def _matrix(self, x) -> torch.Tensor:
        """(N, *data_shape) or (N, D) -> (N, D) float64 on the model's device."""
        x = torch.as_tensor(x)
        shape = tuple(self.config.data_shape)
        if x.ndim < 2 or tuple(x.shape[1:]) not in (shape, (self.dim,)):
            raise DataError(f"gmm was built for examples of shape {shape} (D={self.dim}); "
                            f"got data of shape {tuple(x.shape)}")
        return x.reshape(x.shape[0], self.dim).to(self.device, F64)

    def _check_fitted(self) -> None:
        if not bool(self.weights_.sum() > 0):
            raise GenlabError("gmm has no parameters yet; call fit() or GMM.from_parameters() first")


def _check_parameters(w: torch.Tensor, mu: torch.Tensor, cov: torch.Tensor, covariance: str) -> None:
    """One clear ConfigError for hand-given parameters that do not form a mixture."""
    check(w.ndim == 1 and w.numel() >= 1, f"weights must be a 1-D tensor of K values, got shape {tuple(w.shape)}")
    k = w.numel()
    check(mu.ndim == 2 and mu.shape[0] == k, f"means must have shape (K={k}, D), got {tuple(mu.shape)}")
    d = mu.shape[1]
    want = (k, d, d) if covariance == "full" else (k, d)
    check(tuple(cov.shape) == want, f"{covariance} covariances must have shape {want}, got {tuple(cov.shape)}")
    check(bool(torch.isfinite(w).all() & torch.isfinite(mu).all() & torch.isfinite(cov).all()),
          "mixture parameters must be finite")
    check(bool((w >= 0).all()) and abs(float(w.sum()) - 1) < 1e-6,
          f"weights must be non-negative and sum to 1, got sum {float(w.sum()):.6g}")
    if covariance == "diag":
        check(bool((cov > 0).all()), "diagonal covariances must be positive")
        return
    check(torch.allclose(cov, cov.mT, rtol=1e-6, atol=1e-10), "covariance matrices must be symmetric")
    failed = (torch.linalg.cholesky_ex(cov)[1] > 0).nonzero().flatten().tolist()
    check(not failed, f"covariance of component {failed[0] if failed else ''} is not positive definite")
