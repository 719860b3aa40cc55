"""Deep convolutional GAN.

Radford et al. 2016, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks". The game and its losses are those of ``gan.py``
(Goodfellow et al. 2014); the networks are the all-convolutional pair of ``nn/dcgan.py``,
trained with Adam at lr 2e-4 and beta1 0.5 (section 4). The generator works in [-1, 1]
(tanh output), so real images in [0, 1] are mapped there before the discriminator sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import check_positive
from ..nn.dcgan import ConvFeatures, ConvGenerator, image_plan
from .adversarial import GENERATOR_LOSSES, Adversarial, AdversarialConfig


@dataclass
class DCGANConfig(AdversarialConfig):
    data_shape: tuple[int, ...] = (1, 32, 32)  # (C, S, S) images in [0, 1], S >= 8
    latent_dim: int = 100
    width: int = 32  # base channels; the paper's 128 is slow on a CPU

    def __post_init__(self):
        super().__post_init__()
        image_plan(self.data_shape)
        check_positive(self, "latent_dim", "width")


def conv_discriminator(config: DCGANConfig) -> nn.Sequential:
    """The all-convolutional features and a linear logit, initialised N(0, 0.02) as the paper."""
    features = ConvFeatures(config.data_shape, config.width)
    discriminator = nn.Sequential(features, nn.Linear(features.out_dim, 1))
    nn.init.normal_(discriminator[1].weight, 0.0, 0.02)
    nn.init.zeros_(discriminator[1].bias)
    return discriminator


class DCGAN(Adversarial):
    name = "dcgan"
    Config = DCGANConfig
    data_kinds = ("image",)
    # benchmarks/image_gans.py: lr 5e-4 and batch 64 did better than the paper's 2e-4 and 128
    presets = {"mnist5k": dict(lr=5e-4, batch_size=64, steps=7_000)}

    def __init__(self, config: DCGANConfig, **networks):
        super().__init__(config, **networks)
        self.generator = self.network_for("generator", lambda: ConvGenerator(config.latent_dim, config.data_shape,
                                                                         config.width))
        self.discriminator = self.network_for("discriminator", lambda: conv_discriminator(config))
        self.stabilise()

    def network_examples(self):
        """generator: z (B, latent_dim) -> (B, C, S, S) images in [-1, 1] (tanh);
        discriminator: (B, C, S, S) images in [-1, 1] -> (B, 1) logits."""
        shape = tuple(self.config.data_shape)
        return {"generator": ((torch.zeros(2, self.config.latent_dim),), (2, *shape)),
                "discriminator": ((torch.zeros(2, *shape),), (2, 1))}

    def generate(self, z: torch.Tensor, network: nn.Module | None = None) -> torch.Tensor:
        return (self.generator if network is None else network)(z)  # (B, C, S, S) in [-1, 1]

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x).squeeze(1)                    # (B,) logits; x in [-1, 1]

    def from_noise(self, z, *, labels=None):
        self._check_labels(len(z), labels)
        return (self.generate(z.to(self.device), self.sampler) + 1) / 2   # [-1, 1] -> [0, 1]

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, device=self.device)

    def d_step(self, x, y=None, state=None):
        with torch.no_grad():
            fake = self.generate(self._noise(len(x)))
        real = self.real_input(2 * x - 1)
        return self.d_outputs(self.discriminate(real), self.discriminate(fake), real)

    def g_step(self, x, y=None, state=None):
        fake_logits = self.discriminate(self.generate(self._noise(len(x))))
        return {"loss": GENERATOR_LOSSES[self.config.loss](fake_logits)}
