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
from .base import standard_normal
from .gan import GENERATOR_LOSSES, Adversarial, check_stabilisers


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
    spectral_norm: bool = False  # stabilisers: see gan.py and nn/stabilisers.py
    ema: float = 0.0
    r1: float = 0.0
    label_smoothing: float = 0.0

    def __post_init__(self):
        image_plan(self.data_shape)
        check_positive(self, "latent_dim", "width", "d_steps")
        check_adam(self)
        check_stabilisers(self)


class DCGAN(Adversarial):
    name = "dcgan"
    Config = DCGANConfig

    def __init__(self, config: DCGANConfig):
        super().__init__(config)
        self.generator = ConvGenerator(config.latent_dim, config.data_shape, config.width)
        features = ConvFeatures(config.data_shape, config.width)
        self.discriminator = nn.Sequential(features, nn.Linear(features.out_dim, 1))
        nn.init.normal_(self.discriminator[1].weight, 0.0, 0.02)
        nn.init.zeros_(self.discriminator[1].bias)
        self.stabilise()

    def generate(self, z: torch.Tensor, network: nn.Module | None = None) -> torch.Tensor:
        return (self.generator if network is None else network)(z)  # (B, C, S, S) in [-1, 1]

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x).squeeze(1)                    # (B,) logits; x in [-1, 1]

    def sample(self, n, *, labels=None, generator=None):
        self._check_labels(n, labels)
        z = standard_normal((n, self.config.latent_dim), generator, self.device)
        return (self.generate(z, self.sampler) + 1) / 2            # [-1, 1] -> [0, 1]

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, device=self.device)

    def d_step(self, x, y=None):
        with torch.no_grad():
            fake = self.generate(self._noise(len(x)))
        real = self.real_input(2 * x - 1)
        return self.d_outputs(self.discriminate(real), self.discriminate(fake), real)

    def g_step(self, x, y=None):
        fake_logits = self.discriminate(self.generate(self._noise(len(x))))
        return {"loss": GENERATOR_LOSSES[self.config.loss](fake_logits)}
