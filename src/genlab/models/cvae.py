"""Conditional variational autoencoder.

Sohn, Lee & Yan 2015, "Learning Structured Output Representation using Deep Conditional
Generative Models": the encoder q(z|x, y) and the decoder p(x|z, y) both see the class y
(here one-hot, concatenated to the input: extra features for the MLP, constant channels for
the conv encoder, extra inputs to the decoder), and the prior stays N(0, I). Training
maximises the conditional ELBO, E_q log p(x|z, y) - beta * KL(q(z|x, y) || N(0, I)), so z
is left to carry what the class does not (style); ``sample(n, labels=...)`` draws the
classes asked for. Everything else is the VAE of ``vae.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import check
from ..errors import DataError
from .autoencoding import latent_path
from .vae import VAE, VAEConfig


@dataclass
class CVAEConfig(VAEConfig):
    num_classes: int = 10

    def __post_init__(self):
        super().__post_init__()
        check(self.num_classes > 0,
              f"cvae needs labelled data: num_classes must be positive, got {self.num_classes}")


class CVAE(VAE):
    name = "cvae"
    Config = CVAEConfig
    # benchmarks/autoencoders.py: latent 8 and beta 4 over 6,000 steps put 91 % of samples in
    # their class (beta 2: 81 %)
    presets = {"mnist5k": dict(backbone="conv", width=32, latent_dim=8, beta=4.0, likelihood="discretized",
                               batch_size=64, steps=6_000)}

    @property
    def cond_dim(self) -> int:
        return self.config.num_classes  # read by VAE.__init__ to size both networks

    @property
    def conditional(self) -> bool:
        return True

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor:
        """One-hot (n, num_classes) for labels ``y``, checked."""
        if y is None:
            raise DataError("cvae needs class labels y; train and evaluate it on labelled data")
        return F.one_hot(self.labels_for(n, y), self.config.num_classes).float()

    def sample(self, n, *, labels=None, generator=None):
        """``n`` samples of the classes ``labels`` (default 0, 1, ..., K-1, 0, ...: balanced)."""
        return self._sample(n, self.condition(self.labels_for(n, labels), n), generator)

    def interpolate(self, x_a, x_b, steps: int = 8, *, labels_a=None, labels_b=None) -> torch.Tensor:
        """(N, steps, *shape): codes and one-hot conditions both moved on straight lines from
        (encode(x_a, y_a), y_a) to (encode(x_b, y_b), y_b)."""
        c_a, c_b = self.condition(labels_a, len(x_a)), self.condition(labels_b, len(x_b))
        z_a, z_b = self.encode(x_a, labels_a), self.encode(x_b, labels_b)
        z, c = latent_path(z_a, z_b, steps), latent_path(c_a, c_b, steps)  # (N, steps, L), (N, steps, K)
        return self._decode(z.flatten(0, 1), c.flatten(0, 1)).view(len(x_a), steps, *self.config.data_shape)
