"""Wasserstein GANs with MLP generator and critic.

Arjovsky et al. 2017, "Wasserstein GAN": the critic f (a discriminator without the sigmoid)
estimates W(p_data, p_g) = sup_{||f||_L <= 1} E f(x) - E f(G(z)) (Kantorovich-Rubinstein
duality, eq. 2); the Lipschitz bound is kept by clipping every critic weight to [-clip, clip]
after each critic step (algorithm 1, with RMSprop, lr 5e-5, n_critic 5). The generator
minimises -E f(G(z)).

Gulrajani et al. 2017, "Improved Training of Wasserstein GANs": no clipping; instead the
gradient penalty lambda * E (||grad f(x_hat)|| - 1)^2 on random interpolates x_hat between
real and fake samples (eq. 3, algorithm 1: lambda 10, n_critic 5, Adam lr 1e-4, betas
(0, 0.9)).

Both log ``w_estimate = E f(x) - E f(G(z))``, the critic's Wasserstein estimate, which
should fall as the generator improves. Networks and sampling are the GAN's (``gan.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check, check_adam, check_positive
from .adversarial import CriticConfig, MLPNetworks
from .base import Phase
from .gan import GAN


@dataclass
class WGANConfig(MLPNetworks, CriticConfig):
    """The MLP networks and the critic's game, RMSprop at lr 5e-5 as in the paper (momentum-
    based optimisers were unstable), with weights clipped to [-clip, clip]."""

    clip: float = 0.01  # critic weights are clipped to [-clip, clip]

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "clip")


@dataclass
class WGANGPConfig(MLPNetworks, CriticConfig):
    """The MLP networks and the critic's game with the gradient penalty: Adam at lr 1e-4 and
    betas (0, 0.9), lambda 10 (Gulrajani et al. algorithm 1)."""

    lr: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    gp_weight: float = 10.0  # lambda

    def __post_init__(self):
        super().__post_init__()
        check_adam(self)
        check(self.gp_weight >= 0, f"gp_weight must be >= 0, got {self.gp_weight}")


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E f(G(z)) - E f(x): the negated Wasserstein estimate, minimised by the critic."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """-E f(G(z))."""
    return -fake_scores.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E (||grad f(x_hat)||_2 - 1)^2, x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample."""
    eps = torch.rand((len(real),) + (1,) * (real.dim() - 1), device=real.device)   # (B, 1, ...)
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


class WGAN(GAN):
    """Wasserstein GAN: an MLP critic kept Lipschitz by weight clipping, RMSprop."""

    name = "wgan"
    Config = WGANConfig
    presets = {toy: dict(hidden=128, layers=3, latent_dim=2, lr=5e-5, batch_size=256, steps=16_000)
               for toy in ("ring8", "grid25")}  # benchmarks/modes.py

    def optimizers(self):
        return {
            "critic": torch.optim.RMSprop(self.discriminator.parameters(), lr=self.config.lr),
            "g": torch.optim.RMSprop(self.generator.parameters(), lr=self.config.lr),
        }

    def phases(self):
        critic = Phase("critic", "critic", self.critic_step, repeats=self.config.n_critic, after=self.clip_weights)
        return [critic, self.g_phase()]

    @torch.no_grad()
    def clip_weights(self) -> None:
        for p in self.discriminator.parameters():
            p.clamp_(-self.config.clip, self.config.clip)

    def critic_step(self, x, y=None, state=None):
        with torch.no_grad():
            fake = self.fake(len(x))
        real_scores, fake_scores = self.discriminate(x), self.discriminate(fake)
        loss = critic_loss(real_scores, fake_scores)
        return {"loss": loss, "w_estimate": -loss.detach()}

    def g_step(self, x, y=None, state=None):
        return {"loss": wasserstein_generator_loss(self.discriminate(self.fake(len(x))))}


class WGANGP(WGAN):
    """Wasserstein GAN with a gradient penalty on interpolates instead of clipping, Adam."""

    name = "wgan-gp"
    Config = WGANGPConfig
    # benchmarks/modes.py: lambda 0.1 and betas (0.5, 0.9) of Gulrajani et al.'s 2-D toy code
    presets = {toy: dict(hidden=256, layers=3, latent_dim=8, lr=3e-4, beta1=0.5, beta2=0.9, gp_weight=0.1,
                         batch_size=256, steps=4_000) for toy in ("ring8", "grid25")}

    def optimizers(self):
        betas = (self.config.beta1, self.config.beta2)
        return {
            "critic": torch.optim.Adam(self.discriminator.parameters(), lr=self.config.lr, betas=betas),
            "g": torch.optim.Adam(self.generator.parameters(), lr=self.config.lr, betas=betas),
        }

    def phases(self):
        return [Phase("critic", "critic", self.critic_step, repeats=self.config.n_critic), self.g_phase()]

    def critic_step(self, x, y=None, state=None):
        with torch.no_grad():
            fake = self.fake(len(x))
        real_scores, fake_scores = self.discriminate(x), self.discriminate(fake)
        gp = gradient_penalty(self.discriminate, x, fake)
        w = critic_loss(real_scores, fake_scores)
        return {"loss": w + self.config.gp_weight * gp, "w_estimate": -w.detach(), "gp": gp.detach()}
