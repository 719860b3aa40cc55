"""The IWAE bound against a VAE whose log-likelihood is known in closed form.

A linear-Gaussian VAE, p(z) = N(0, I), p(x|z) = N(W z + b, s^2 I), has the marginal
p(x) = N(b, W W^T + s^2 I). With W's columns orthogonal, the true posterior is a diagonal
Gaussian, N(M^-1 W^T (x - b) / s^2, M^-1) with M = I + W^T W / s^2; an encoder that outputs it
makes every importance weight equal to p(x), so the IWAE estimate is exact for any K. An
encoder that is off makes a bound that is below log p(x) and rises towards it with K
(Burda et al. 2016, theorem 1). The networks are given to genlab's VAE as user networks.
"""

import math

import pytest
import torch
from torch import nn

import genlab

D, L, S = 3, 2, 0.5  # data and latent dimensions, the decoder's noise scale


class LinearGaussianDecoder(nn.Module):
    """z -> (W z + b, log s^2 for every dimension)."""

    def __init__(self, latent_dim: int, dim: int, log_var: float):
        super().__init__()
        self.latent_dim, self.dim, self.log_var = latent_dim, dim, log_var
        self.linear = nn.Linear(latent_dim, dim)

    def forward(self, z):
        mean = self.linear(z)
        return torch.cat([mean, torch.full_like(mean, self.log_var)], 1)


class LinearEncoder(nn.Module):
    """x -> (A x + c, a constant log-variance per latent dimension)."""

    def __init__(self, dim: int, latent_dim: int):
        super().__init__()
        self.dim, self.latent_dim = dim, latent_dim
        self.linear = nn.Linear(dim, latent_dim)
        self.log_var = nn.Parameter(torch.zeros(latent_dim))

    def forward(self, x):
        mean = self.linear(x)
        return torch.cat([mean, self.log_var.expand_as(mean)], 1)


@pytest.fixture(scope="module")
def oracle():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(D, L, generator=g, dtype=torch.float64))
    w = q * torch.tensor([1.5, 0.7], dtype=torch.float64)            # orthogonal columns
    b = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
    marginal = torch.distributions.MultivariateNormal(b, w @ w.T + S ** 2 * torch.eye(D, dtype=torch.float64))
    x = marginal.sample((64,)).float()
    m_inv = torch.linalg.inv(torch.eye(L, dtype=torch.float64) + w.T @ w / S ** 2)
    a = m_inv @ w.T / S ** 2                                           # posterior mean = A (x - b)
    return dict(w=w, b=b, x=x, exact=-marginal.log_prob(x.double()), a=a, c=-(a @ b),
                log_var=torch.log(torch.diagonal(m_inv)))


def vae_with(oracle, shift: float = 0.0):
    """The VAE with the true decoder and the true posterior, its mean moved by ``shift``."""
    model = genlab.create("vae", data_shape=(D,), latent_dim=L,
                          encoder=LinearEncoder(D, L), decoder=LinearGaussianDecoder(L, D, math.log(S ** 2)))
    with torch.no_grad():
        model.decoder.linear.weight.copy_(oracle["w"])
        model.decoder.linear.bias.copy_(oracle["b"])
        model.encoder.linear.weight.copy_(oracle["a"])
        model.encoder.linear.bias.copy_(oracle["c"] + shift)
        model.encoder.log_var.copy_(oracle["log_var"])
    return model.eval()


@pytest.mark.parametrize("k", [1, 10, 100])
def test_with_the_true_posterior_the_estimate_is_the_exact_log_likelihood_at_any_k(oracle, k):
    nll = vae_with(oracle).iwae_nll(oracle["x"], k=k).double()
    assert torch.allclose(nll, oracle["exact"], atol=1e-4), (nll - oracle["exact"]).abs().max()


def test_with_a_wrong_posterior_the_bound_rises_to_the_exact_value_with_k(oracle):
    model = vae_with(oracle, shift=0.8)
    exact = float(oracle["exact"].mean())
    elbo = float(model.negative_elbo(oracle["x"]).mean())
    by_k = [float(model.iwae_nll(oracle["x"], k=k).mean()) for k in (1, 10, 1000)]
    assert elbo > exact + 0.3                                  # the encoder is clearly off
    assert by_k[0] > by_k[1] > by_k[2] > exact - 0.01, (by_k, exact)  # upper bounds on -log p(x), tightening
    assert by_k[2] - exact < 0.05 * (by_k[0] - exact)          # K = 1,000 closes nearly all of the gap
