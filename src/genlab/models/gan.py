"""Generative adversarial network with MLP generator and discriminator.

Goodfellow et al. 2014, "Generative Adversarial Nets". D maximises
E log D(x) + E log(1 - D(G(z))); G either minimises log(1 - D(G(z))) (the minimax game,
whose gradient vanishes when D confidently rejects fakes) or maximises log D(G(z)) (the
non-saturating loss of section 3 of the paper). At the game's equilibrium p_g = p_data and
the optimal discriminator outputs 1/2 everywhere, so mean D(x) and D(G(z)) are logged.

Optional stabilisers (all off by default; see ``genlab.nn.stabilisers``): spectral
normalisation of D, an EMA of G's weights used for sampling, the R1 penalty on real data,
and one-sided label smoothing. :class:`Adversarial` applies them for the whole family (gan,
dcgan, cgan, wgan, wgan-gp), so each model only builds its two networks and its losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check, check_adam, check_positive, check_shape
from ..nn import mlp
from ..nn.stabilisers import EMA, r1_penalty, smooth_real_targets, spectral_norm
from ..trainer import Phase
from .base import Model, standard_normal


@dataclass
class GANConfig:
    data_shape: tuple[int, ...] = (2,)  # (d,) for points; (C, H, W) for images in [0, 1]
    latent_dim: int = 16
    hidden: int = 256
    layers: int = 3
    loss: Literal["minimax", "nonsaturating"] = "nonsaturating"
    lr: float = 2e-4
    beta1: float = 0.5  # Adam's beta1 = 0.5 as in Radford et al. 2016
    beta2: float = 0.999
    d_steps: int = 1
    spectral_norm: bool = False  # Miyato et al. 2018, on every layer of D
    ema: float = 0.0  # 0 = off, else the decay (e.g. 0.999) of G's weight average used to sample
    r1: float = 0.0  # gamma of the R1 penalty on real data (Mescheder et al. 2018); 0 = off
    label_smoothing: float = 0.0  # real targets 1 - this (one-sided, Salimans et al. 2016)

    def __post_init__(self):
        check_shape(self.data_shape)
        check_positive(self, "latent_dim", "hidden", "layers", "d_steps")
        check_adam(self)
        check_stabilisers(self)


def check_stabilisers(config) -> None:
    """The stabiliser options of an adversarial config (the Wasserstein critics have no R1 or
    label smoothing: their losses have no labels and their own Lipschitz constraint)."""
    check(0 <= config.ema < 1, f"ema must lie in [0, 1) (0 = off), got {config.ema}")
    r1, smoothing = getattr(config, "r1", 0.0), getattr(config, "label_smoothing", 0.0)
    check(r1 >= 0, f"r1 must be >= 0, got {r1}")
    check(0 <= smoothing < 1, f"label_smoothing must lie in [0, 1), got {smoothing}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       real_targets: torch.Tensor | None = None) -> torch.Tensor:
    """-E log D(x) - E log(1 - D(G(z))), with D = sigmoid(logits); soft real targets t give
    the cross-entropy -E [t log D(x) + (1 - t) log(1 - D(x))] on the real half."""
    if real_targets is None:
        real = F.softplus(-real_logits).mean()
    else:
        real = F.binary_cross_entropy_with_logits(real_logits, real_targets)
    return real + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """E log(1 - D(G(z))) = -E softplus(logits): saturates when D rejects the fakes."""
    return -F.softplus(fake_logits).mean()


def nonsaturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(G(z)): same fixed point, strong gradients early in training."""
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES = {"minimax": minimax_generator_loss, "nonsaturating": nonsaturating_generator_loss}


class Adversarial(Model):
    """A generator and a discriminator, and the stabilisers the whole family shares.

    Subclasses build ``self.generator`` and ``self.discriminator``, call :meth:`stabilise`,
    and define ``d_step`` and ``g_step``; their config has Adam's ``lr``, ``beta1``,
    ``beta2``, ``d_steps`` and the stabiliser fields (``spectral_norm``, ``ema``, and, for the
    sigmoid-loss models, ``r1`` and ``label_smoothing``).
    """

    def stabilise(self) -> None:
        """Spectral norm on every layer of D, and an EMA copy of G, as the config asks.

        A generator with batch norm cannot take the EMA: the averaged weights would be
        normalised with statistics gathered by the live weights (BigGAN recomputes
        "standing statistics" for this), and its samples come out broken.
        """
        if self.config.spectral_norm:
            spectral_norm(self.discriminator)
        if self.config.ema:
            check(not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.generator.modules()),
                  f"ema is not available for {self.name}'s generator, which uses batch norm (the average's "
                  "weights would not match the live batch statistics); use an MLP backbone or ema=0")
            self.generator_ema = EMA(self.generator, self.config.ema)

    @property
    def sampler(self) -> nn.Module:
        """The generator samples come from: its EMA average when on, else the live one (the
        network itself either way, so its own methods can be called as well as the network)."""
        return self.generator_ema.average if self.config.ema else self.generator

    def update_ema(self) -> None:
        self.generator_ema.update(self.generator)

    def optimizers(self):
        betas = (self.config.beta1, self.config.beta2)
        return {
            "d": torch.optim.Adam(self.discriminator.parameters(), lr=self.config.lr, betas=betas),
            "g": torch.optim.Adam(self.generator.parameters(), lr=self.config.lr, betas=betas),
        }

    def g_phase(self) -> Phase:
        return Phase("g", "g", self.g_step, after=self.update_ema if self.config.ema else None)

    def phases(self):
        return [Phase("d", "d", self.d_step, repeats=self.config.d_steps), self.g_phase()]

    def real_input(self, x: torch.Tensor) -> torch.Tensor:
        """Real data as D sees it; it requires grad when the R1 penalty needs grad_x D(x)."""
        return x.detach().requires_grad_(True) if self.config.r1 else x

    def d_outputs(self, real_logits: torch.Tensor, fake_logits: torch.Tensor,
                  real_x: torch.Tensor, r1_scale: float = 1.0) -> dict[str, torch.Tensor]:
        """D's loss with label smoothing and R1 as configured, and mean D(x), D(G(z)).

        The R1 term is weighted by ``r1_scale``; 0 skips it on this step (lazy regularisation
        computes it every k steps with weight k).
        """
        cfg = self.config
        smoothing = getattr(cfg, "label_smoothing", 0.0)
        real_targets = smooth_real_targets(real_logits, smoothing) if smoothing else None
        out = {
            "loss": discriminator_loss(real_logits, fake_logits, real_targets),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),   # -> 1/2 at the equilibrium
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }
        if cfg.r1 and r1_scale:
            out["r1"] = r1_penalty(real_logits, real_x, cfg.r1)
            out["loss"] = out["loss"] + r1_scale * out["r1"]
        return out


class GAN(Adversarial):
    name = "gan"
    Config = GANConfig

    def __init__(self, config: GANConfig):
        super().__init__(config)
        dim = math.prod(config.data_shape)
        self.generator = mlp(config.latent_dim, dim, config.hidden, config.layers, "relu")
        self.discriminator = mlp(dim, 1, config.hidden, config.layers, "leaky_relu")
        self.stabilise()
        self.is_image = len(config.data_shape) == 3

    def generate(self, z: torch.Tensor, network=None) -> torch.Tensor:
        out = (self.generator if network is None else network)(z)  # (B, D)
        if self.is_image:
            out = torch.sigmoid(out)                             # images live in [0, 1]
        return out.view(len(z), *self.config.data_shape)

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x.flatten(1)).squeeze(1)       # (B,) logits

    def fake(self, n: int) -> torch.Tensor:
        """n samples from the live generator (the one being trained), global RNG."""
        return self.generate(standard_normal((n, self.config.latent_dim), None, self.device))

    def sample(self, n, *, labels=None, generator=None):
        self._check_labels(n, labels)
        z = standard_normal((n, self.config.latent_dim), generator, self.device)
        return self.generate(z, self.sampler)

    def d_step(self, x, y=None):
        with torch.no_grad():
            fake = self.fake(len(x))
        x = self.real_input(x)
        return self.d_outputs(self.discriminate(x), self.discriminate(fake), x)

    def g_step(self, x, y=None):
        fake_logits = self.discriminate(self.fake(len(x)))
        return {"loss": GENERATOR_LOSSES[self.config.loss](fake_logits)}
