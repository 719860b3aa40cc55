"""DDPM's variational bound, term by term, against values computed independently.

Ho et al. 2020, eq. 5: -log p(x_0) <= L_T + sum_{t=2}^T L_{t-1} + L_0. Here every term is
rebuilt from the betas alone with ``torch.distributions`` (KL between Gaussians, a Gaussian's
density and its mass over a bin), for a tiny process whose denoiser is a known function: a
user network that predicts eps_hat = 0.3 x_t + 0.05 t.
"""

import math

import pytest
import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

import genlab

T = 5


class KnownDenoiser(nn.Module):
    """eps_hat(x_t, t) = a x_t + b t, whatever the data."""

    def __init__(self, a: float, b: float):
        super().__init__()
        self.a, self.b = a, b
        self.unused = nn.Linear(1, 1)  # a parameter, so the model has a device and an optimiser

    def forward(self, x, t, y=None):
        return self.a * x + self.b * t.to(x.dtype).view(-1, *[1] * (x.dim() - 1))


@pytest.fixture(scope="module")
def tiny():
    model = genlab.create("ddpm", data_shape=(2,), timesteps=T, sampling_steps=T, elbo_terms=0, ema=0.0,
                          net=KnownDenoiser(0.3, 0.05)).eval()
    betas = model.process.betas.clone()
    alphas = 1 - betas
    alpha_bar = torch.tensor([math.prod(alphas[:i + 1].tolist()) for i in range(T)], dtype=torch.float64)
    return model, betas, alpha_bar


def x0_hat(x_t, i, alpha_bar):
    eps = 0.3 * x_t + 0.05 * i
    return (x_t - (1 - alpha_bar[i]).sqrt() * eps) / alpha_bar[i].sqrt()


def test_the_prior_term_is_the_kl_to_the_standard_normal(tiny):
    model, _, alpha_bar = tiny
    x0 = torch.tensor([[0.5, -1.2], [2.0, 0.1]], dtype=torch.float64)
    q = Normal(alpha_bar[-1].sqrt() * x0, (1 - alpha_bar[-1]).sqrt())
    expected = kl_divergence(q, Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(model.process.prior_kl(x0.float()).double(), expected, rtol=1e-5)


def test_the_whole_bound_on_points_is_the_sum_of_its_terms(tiny):
    """All T terms (elbo_terms=0), each at the seeded draw the model takes: the generator's
    first draw is the strata's uniforms, then one N(0, I) per term, L_0 first."""
    model, betas, alpha_bar = tiny
    x = torch.tensor([[0.5, -1.2], [2.0, 0.1], [-0.3, 0.7]])
    g = torch.Generator().manual_seed(0)
    torch.rand(T - 1, len(x), generator=g, dtype=torch.float64)            # the strata's uniforms
    x0 = x.double()
    total = kl_divergence(Normal(alpha_bar[-1].sqrt() * x0, (1 - alpha_bar[-1]).sqrt()), Normal(0.0, 1.0)).sum(1)
    for i in range(T):  # index i is the paper's t = i + 1
        eps = torch.randn(x.shape, generator=g).double()
        x_t = alpha_bar[i].sqrt() * x0 + (1 - alpha_bar[i]).sqrt() * eps
        guess = x0_hat(x_t, i, alpha_bar)
        if i == 0:  # L_0 = -log N(x_0; x0_hat(x_1), beta_1) on continuous points
            total = total - Normal(guess, betas[0].sqrt()).log_prob(x0).sum(1)
            continue
        var = (1 - alpha_bar[i - 1]) / (1 - alpha_bar[i]) * betas[i]        # beta_tilde
        c0 = alpha_bar[i - 1].sqrt() * betas[i] / (1 - alpha_bar[i])
        ct = (1 - betas[i]).sqrt() * (1 - alpha_bar[i - 1]) / (1 - alpha_bar[i])
        q, p = Normal(c0 * x0 + ct * x_t, var.sqrt()), Normal(c0 * guess + ct * x_t, var.sqrt())
        total = total + kl_divergence(q, p).sum(1)                          # L_{t-1}
    got = model.negative_elbo(x, seed=0).double()
    assert torch.allclose(got, total, rtol=1e-4, atol=1e-4), (got, total)


def test_the_decoder_term_is_the_gaussian_mass_over_each_level_bin():
    """On quantised images L_0 is -log of N(mean, beta_1)'s mass over the level's bin of
    half-width 1/(n_bins - 1), the two end bins open to -inf and +inf."""
    model = genlab.create("ddpm", data_shape=(1, 8, 8), n_bins=5, timesteps=T, sampling_steps=T, width=8, levels=(1,),
                          ema=0.0)
    g = torch.Generator().manual_seed(1)
    x0 = (torch.randint(0, 5, (3, 1, 8, 8), generator=g) / 4.0) * 2 - 1      # levels -1, -0.5, 0, 0.5, 1
    mean = x0 + 0.4 * torch.randn(x0.shape, generator=g)
    std = float(model.process.betas[0].sqrt())
    normal = Normal(mean.double(), std)
    lo = torch.where(x0 <= -1, torch.full_like(x0, -math.inf), x0 - 0.25).double()
    hi = torch.where(x0 >= 1, torch.full_like(x0, math.inf), x0 + 0.25).double()
    mass = normal.cdf(hi) - normal.cdf(lo)
    expected = -mass.log().flatten(1).sum(1)
    got = model.decoder_nll(x0, mean).double()
    assert torch.allclose(got, expected, rtol=1e-4), (got, expected)
