"""The adversarial family: what every GAN in genlab shares.

Goodfellow et al. 2014, "Generative Adversarial Nets": a generator G and a discriminator D
play a game; D maximises E log D(x) + E log(1 - D(G(z))), and G either minimises
log(1 - D(G(z))) (the minimax game, whose gradient vanishes when D confidently rejects
fakes) or maximises log D(G(z)) (the non-saturating loss of section 3 of the paper).

:class:`Adversarial` holds the two networks' optimisers and phases, and the stabilisers the
whole family can switch on (``genlab.nn.stabilisers``): spectral normalisation of D, an EMA
of G's weights used for sampling, the R1 penalty on real data and one-sided label
smoothing. Its config classes carry those settings once, for gan, dcgan, cgan, stylegan,
wgan and wgan-gp to inherit: each model adds only its networks and its own settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import AdamSettings, Settings, check, check_learning_rate, check_positive, check_shape
from ..nn.stabilisers import EMA, r1_penalty, smooth_real_targets, spectral_norm
from .base import Model, Phase


# --- configs --------------------------------------------------------------------------------

@dataclass
class Stabilised(Settings):
    """The stabilisers every adversarial model may switch on (all off by default)."""

    spectral_norm: bool = False  # Miyato et al. 2018, on every layer of D
    ema: float = 0.0  # 0 = off, else the decay (e.g. 0.999) of G's weight average used to sample

    def __post_init__(self):
        super().__post_init__()
        check(0 <= self.ema < 1, f"ema must lie in [0, 1) (0 = off), got {self.ema}")


@dataclass
class AdversarialConfig(Stabilised, AdamSettings):
    """A sigmoid-loss GAN's game: Adam for both players, the generator's loss, D's steps per
    G step, and the stabilisers that act on D's labels and gradients."""

    loss: Literal["minimax", "nonsaturating"] = "nonsaturating"
    d_steps: int = 1
    r1: float = 0.0  # gamma of the R1 penalty on real data (Mescheder et al. 2018); 0 = off
    label_smoothing: float = 0.0  # real targets 1 - this (one-sided, Salimans et al. 2016)

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "d_steps")
        check(self.r1 >= 0, f"r1 must be >= 0, got {self.r1}")
        check(0 <= self.label_smoothing < 1, f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")


@dataclass
class CriticConfig(Stabilised):
    """A Wasserstein critic's game: critic steps per generator step and the learning rate
    (the optimiser is the model's: RMSprop for wgan, Adam for wgan-gp)."""

    lr: float = 5e-5
    n_critic: int = 5

    def __post_init__(self):
        super().__post_init__()
        check_learning_rate(self.lr)
        check_positive(self, "n_critic")


@dataclass
class MLPNetworks(Settings):
    """MLP generator and discriminator: points (d,) or flattened images (C, H, W) in [0, 1]."""

    data_shape: tuple[int, ...] = (2,)
    latent_dim: int = 16
    hidden: int = 256
    layers: int = 3

    def __post_init__(self):
        super().__post_init__()
        check_shape(self.data_shape)
        check_positive(self, "latent_dim", "hidden", "layers")


# --- losses ---------------------------------------------------------------------------------

def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       real_targets: torch.Tensor | None = None) -> torch.Tensor:
    """-E log D(x) - E log(1 - D(G(z))), with D = sigmoid(logits); soft real targets t give
    the cross-entropy -E [t log D(x) + (1 - t) log(1 - D(x))] on the real half (in fp32)."""
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if real_targets is None:
        real = F.softplus(-real_logits).mean()
    else:
        real = F.binary_cross_entropy_with_logits(real_logits, real_targets)
    return real + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """E log(1 - D(G(z))) = -E softplus(logits): saturates when D rejects the fakes."""
    return -F.softplus(fake_logits.float()).mean()


def nonsaturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E log D(G(z)): same fixed point, strong gradients early in training."""
    return F.softplus(-fake_logits.float()).mean()


GENERATOR_LOSSES = {"minimax": minimax_generator_loss, "nonsaturating": nonsaturating_generator_loss}


# --- the family base --------------------------------------------------------------------------

class Adversarial(Model):
    """A generator and a discriminator, and the stabilisers the whole family shares.

    Subclasses build ``self.generator`` and ``self.discriminator``, call :meth:`stabilise`,
    and define ``d_step`` and ``g_step``; their config derives from :class:`Stabilised`
    (and :class:`AdversarialConfig` for the sigmoid-loss models, which adds Adam, ``loss``,
    ``d_steps``, ``r1`` and ``label_smoothing``).
    """

    networks = ("generator", "discriminator")
    walks = True  # every generator maps N(0, I) codes to samples
    ema_warmup = False  # True: the EMA's decay warms up (see nn.stabilisers.EMA)

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
            self.generator_ema = EMA(self.generator, self.config.ema, warmup=self.ema_warmup)

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
        real_targets = smooth_real_targets(real_logits, cfg.label_smoothing) if cfg.label_smoothing else None
        out = {
            "loss": discriminator_loss(real_logits, fake_logits, real_targets),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),   # -> 1/2 at the equilibrium
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }
        if cfg.r1 and r1_scale:
            out["r1"] = r1_penalty(real_logits, real_x, cfg.r1)
            out["loss"] = out["loss"] + r1_scale * out["r1"]
        return out
