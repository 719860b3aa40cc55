"""Generative adversarial network with MLP generator and discriminator.

Goodfellow et al. 2014, "Generative Adversarial Nets". D maximises
E log D(x) + E log(1 - D(G(z))); G either minimises log(1 - D(G(z))) (the minimax game,
whose gradient vanishes when D confidently rejects fakes) or maximises log D(G(z)) (the
non-saturating loss of section 3 of the paper). At the game's equilibrium p_g = p_data and
the optimal discriminator outputs 1/2 everywhere, so mean D(x) and D(G(z)) are logged.

The losses, phases and optional stabilisers (spectral norm, EMA, R1, label smoothing) are
the family's, in ``adversarial.py``; this model builds its two MLPs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..nn import mlp
from .adversarial import GENERATOR_LOSSES, Adversarial, AdversarialConfig, MLPNetworks
from .base import standard_normal


@dataclass
class GANConfig(MLPNetworks, AdversarialConfig):
    """The MLP networks (``data_shape``: (d,) points or (C, H, W) images in [0, 1]) and the
    sigmoid-loss game, Adam at lr 2e-4 and beta1 0.5."""


class GAN(Adversarial):
    name = "gan"
    Config = GANConfig
    # benchmarks/modes.py: a small shared MLP, 16,000 steps of batch 256 (all 8 / 25 modes)
    presets = {toy: dict(hidden=128, layers=3, latent_dim=2, lr=5e-4, batch_size=256, steps=16_000)
               for toy in ("ring8", "grid25")}

    def __init__(self, config: GANConfig, **networks):
        super().__init__(config, **networks)
        dim = math.prod(config.data_shape)
        c = config
        self.generator = self.network_for("generator", lambda: mlp(c.latent_dim, dim, c.hidden, c.layers, "relu"))
        self.discriminator = self.network_for("discriminator", lambda: mlp(dim, 1, c.hidden, c.layers, "leaky_relu"))
        self.stabilise()
        self.is_image = len(config.data_shape) == 3

    def network_examples(self):
        """generator: z (B, latent_dim) -> (B, D) flat outputs (logits for images, points as
        they are); discriminator: (B, D) flattened data -> (B, 1) logits."""
        dim = math.prod(self.config.data_shape)
        return {"generator": ((torch.zeros(2, self.config.latent_dim),), (2, dim)),
                "discriminator": ((torch.zeros(2, dim),), (2, 1))}

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

    def from_noise(self, z, *, labels=None):
        self._check_labels(len(z), labels)
        return self.generate(z.to(self.device), self.sampler)

    def d_step(self, x, y=None, state=None):
        with torch.no_grad():
            fake = self.fake(len(x))
        x = self.real_input(x)
        return self.d_outputs(self.discriminate(x), self.discriminate(fake), x)

    def g_step(self, x, y=None, state=None):
        fake_logits = self.discriminate(self.fake(len(x)))
        return {"loss": GENERATOR_LOSSES[self.config.loss](fake_logits)}
