"""Autoencoder and denoising autoencoder.

An autoencoder compresses x to a code z = f(x) and reconstructs g(z); trained on the
reconstruction error alone, nothing makes the codes of the data fill N(0, I), so decoding
codes drawn from N(0, I) (``AE.sample``) is a poor sampler — the failure the VAE repairs.
The denoising autoencoder of Vincent et al. 2008, "Extracting and Composing Robust
Features with Denoising Autoencoders", reconstructs x from a corrupted copy x~: Gaussian
noise x + sigma * eps, or masking noise that zeroes a random fraction of the inputs
(section 2.3), so it learns to remove the noise.

Images are reconstructed through a sigmoid with the cross-entropy loss of Vincent et al.
(inputs in [0, 1]); points through a linear output with the squared error. Encoders and
decoders (MLP or conv) are the family's (``autoencoding.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..config import check
from .autoencoding import Autoencoding, BackboneConfig, build_networks
from .base import Phase, standard_normal


@dataclass
class AEConfig(BackboneConfig):
    """The family's backbone settings (``autoencoding.py``); nothing more."""


class AE(Autoencoding):
    """Autoencoder: a code z = f(x) and a reconstruction g(z); a poor sampler from N(0, I)."""

    name = "ae"
    Config = AEConfig
    presets = {"mnist5k": dict(backbone="conv", width=32, latent_dim=16, batch_size=64, steps=3_000)}

    def __init__(self, config, **user_networks):
        super().__init__(config, **user_networks)
        self.is_image = len(config.data_shape) == 3
        self.encoder, self.decoder = build_networks(self, config.latent_dim, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)                                     # (B, latent_dim)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(len(z), *self.config.data_shape)

    def from_logits(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out) if self.is_image else out        # images in [0, 1], points as-is

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.from_logits(self.decode_logits(z))

    def from_noise(self, z, *, labels=None):
        """Codes through the decoder; from N(0, I) they are the autoencoder's (poor) sampler."""
        self._check_labels(len(z), labels)
        return self.decode(z.to(self.device))

    def optimizers(self):
        return {"ae": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def phases(self):
        return [Phase(self.name, "ae", self.loss)]

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return x                                                   # a plain autoencoder sees x itself

    def reconstruction_error(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per example, summed over dimensions: cross-entropy for images, squared error for points."""
        if self.is_image:
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
        return (out - x).pow(2).flatten(1).sum(1)

    def loss(self, x, y=None, state=None):
        out = self.decode_logits(self.encode(self.corrupt(x)))
        recon = self.reconstruction_error(out, x).mean()
        mse = (self.from_logits(out) - x).pow(2).mean().detach()
        return {"loss": recon, "recon": recon, "mse": mse}


@dataclass
class DAEConfig(AEConfig):
    corruption: Literal["gaussian", "masking"] = "gaussian"  # additive Gaussian noise or zeroed inputs
    noise: float = 0.5  # gaussian: the noise's standard deviation; masking: the fraction of inputs zeroed

    def __post_init__(self):
        super().__post_init__()
        if self.corruption == "gaussian":
            check(self.noise > 0, f"noise (the Gaussian's standard deviation) must be positive, got {self.noise}")
        else:
            check(0 < self.noise < 1, f"noise (the fraction of inputs masked) must lie in (0, 1), got {self.noise}")


class DAE(AE):
    """Denoising autoencoder: reconstructs x from a copy corrupted by Gaussian or masking noise."""

    name = "dae"
    Config = DAEConfig
    presets = AE.presets  # benchmarks/autoencoders.py: the same backbone for every sampler

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x~ from x: x + noise * eps, or x with each input zeroed with probability ``noise``."""
        if self.config.corruption == "gaussian":
            return x + self.config.noise * standard_normal(x.shape, generator, x.device)
        u = torch.rand(x.shape, generator=generator, device=generator.device if generator else x.device)
        return x * (u.to(x.device) >= self.config.noise)

    def denoise(self, x_noisy: torch.Tensor) -> torch.Tensor:
        return self.reconstruct(x_noisy)
