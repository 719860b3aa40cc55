"""Deep convolutional GAN.

Radford et al. 2016, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks". The game and its losses are those of ``gan.py``
(Goodfellow et al. 2014); the networks are the all-convolutional pair of ``nn/dcgan.py``,
trained with Adam at lr 2e-4 and beta1 0.5 (section 4). The generator works in [-1, 1]
(tanh output), so real images in [0, 1] are mapped there before the discriminator sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..config import check_adam, check_positive
from ..nn.dcgan import ConvFeatures, ConvGenerator, image_plan
from ..trainer import Phase
from .base import Model, standard_normal
from .gan import GENERATOR_LOSSES, discriminator_loss


@dataclass
class DCGANConfig:
    data_shape: tuple[int, ...] = (1, 32, 32)  # (C, S, S) images in [0, 1], S >= 8
    latent_dim: int = 100
    width: int = 32  # base channels; the paper's 128 is slow on a CPU
    loss: Literal["minimax", "nonsaturating"] = "nonsaturating"
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1

    def __post_init__(self):
        image_plan(self.data_shape)
        check_positive(self, "latent_dim", "width", "d_steps")
        check_adam(self)


def adam_pair(model, config) -> dict[str, torch.optim.Optimizer]:
    """One Adam per player, with the config's lr and betas."""
    betas = (config.beta1, config.beta2)
    return {
        "d": torch.optim.Adam(model.discriminator.parameters(), lr=config.lr, betas=betas),
        "g": torch.optim.Adam(model.generator.parameters(), lr=config.lr, betas=betas),
    }


def d_outputs(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """The discriminator's loss, and mean D(x), D(G(z)) (both -> 1/2 at the equilibrium)."""
    return {
        "loss": discriminator_loss(real_logits, fake_logits),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


class DCGAN(Model):
    name = "dcgan"
    Config = DCGANConfig

    def __init__(self, config: DCGANConfig):
        super().__init__(config)
        self.generator = ConvGenerator(config.latent_dim, config.data_shape, config.width)
        features = ConvFeatures(config.data_shape, config.width)
        self.discriminator = nn.Sequential(features, nn.Linear(features.out_dim, 1))
        nn.init.normal_(self.discriminator[1].weight, 0.0, 0.02)
        nn.init.zeros_(self.discriminator[1].bias)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)                                   # (B, C, S, S) in [-1, 1]

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x).squeeze(1)                    # (B,) logits; x in [-1, 1]

    def sample(self, n, *, labels=None, generator=None):
        self._check_labels(n, labels)
        z = standard_normal((n, self.config.latent_dim), generator, self.device)
        return (self.generate(z) + 1) / 2                          # [-1, 1] -> [0, 1]

    def optimizers(self):
        return adam_pair(self, self.config)

    def phases(self):
        return [Phase("d", "d", self.d_step, repeats=self.config.d_steps), Phase("g", "g", self.g_step)]

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, device=self.device)

    def d_step(self, x, y=None):
        with torch.no_grad():
            fake = self.generate(self._noise(len(x)))
        return d_outputs(self.discriminate(2 * x - 1), self.discriminate(fake))

    def g_step(self, x, y=None):
        fake_logits = self.discriminate(self.generate(self._noise(len(x))))
        return {"loss": GENERATOR_LOSSES[self.config.loss](fake_logits)}
