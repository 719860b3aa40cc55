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
decoders (MLP or conv) come from ``nn/autoencoder.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..config import check, check_learning_rate, check_positive, check_shape
from ..nn.autoencoder import Decoder, Encoder
from ..nn.dcgan import image_plan
from ..trainer import Phase
from .base import Model, standard_normal


def check_backbone(config, name: str) -> None:
    """The settings every model of the family shares: shape, sizes, conv only for images."""
    check_shape(config.data_shape)
    check_positive(config, "latent_dim", "hidden", "layers", "width")
    if config.backbone == "conv":
        image_plan(config.data_shape, f"{name} with backbone='conv'")


def networks(config, enc_out: int, dec_params: int, cond_dim: int = 0) -> tuple[Encoder, Decoder]:
    """The encoder (to ``enc_out`` numbers) and decoder (``dec_params`` per data dimension)."""
    sizes = dict(backbone=config.backbone, hidden=config.hidden, layers=config.layers, width=config.width,
                 cond_dim=cond_dim)
    shape = tuple(config.data_shape)
    return Encoder(shape, enc_out, **sizes), Decoder(config.latent_dim, shape, dec_params, **sizes)


def latent_path(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """(N, steps, L) codes on the straight lines from z_a (N, L) to z_b, both ends included."""
    check(steps >= 2, f"interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0, 1, steps, device=z_a.device)[None, :, None]  # (1, steps, 1)
    return (1 - t) * z_a[:, None] + t * z_b[:, None]


class Autoencoding(Model):
    """The verbs of the family, given ``encode(x)`` and ``decode(z)``."""

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def interpolate(self, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """(N, steps, *shape): decodings of codes evenly spaced from encode(x_a) to encode(x_b)."""
        z = latent_path(self.encode(x_a), self.encode(x_b), steps)   # (N, steps, L)
        return self.decode(z.flatten(0, 1)).view(len(x_a), steps, *self.config.data_shape)


@dataclass
class AEConfig:
    data_shape: tuple[int, ...] = (2,)  # (d,) for points; (C, H, W) for images in [0, 1]
    latent_dim: int = 8
    backbone: Literal["mlp", "conv"] = "mlp"
    hidden: int = 256  # mlp backbone: width and number of hidden layers
    layers: int = 2
    width: int = 32    # conv backbone: base channels
    lr: float = 1e-3

    def __post_init__(self):
        check_backbone(self, "ae")
        check_learning_rate(self.lr)


class AE(Autoencoding):
    name = "ae"
    Config = AEConfig

    def __init__(self, config):
        super().__init__(config)
        self.is_image = len(config.data_shape) == 3
        self.encoder, self.decoder = networks(config, config.latent_dim, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)                                     # (B, latent_dim)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(len(z), *self.config.data_shape)

    def from_logits(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out) if self.is_image else out        # images in [0, 1], points as-is

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.from_logits(self.decode_logits(z))

    def sample(self, n, *, labels=None, generator=None):
        """Codes from N(0, I) through the decoder: the autoencoder's (poor) sampler."""
        self._check_labels(n, labels)
        return self.decode(standard_normal((n, self.config.latent_dim), generator, self.device))

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

    def loss(self, x, y=None):
        out = self.decode_logits(self.encode(self.corrupt(x)))
        recon = self.reconstruction_error(out, x).mean()
        mse = (self.from_logits(out) - x).pow(2).mean().detach()
        return {"loss": recon, "recon": recon, "mse": mse}


@dataclass
class DAEConfig(AEConfig):
    corruption: Literal["gaussian", "masking"] = "gaussian"
    noise: float = 0.5  # gaussian: the noise's standard deviation; masking: the fraction of inputs zeroed

    def __post_init__(self):
        check_backbone(self, "dae")
        check_learning_rate(self.lr)
        if self.corruption == "gaussian":
            check(self.noise > 0, f"noise (the Gaussian's standard deviation) must be positive, got {self.noise}")
        else:
            check(0 < self.noise < 1, f"noise (the fraction of inputs masked) must lie in (0, 1), got {self.noise}")


class DAE(AE):
    name = "dae"
    Config = DAEConfig

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x~ from x: x + noise * eps, or x with each input zeroed with probability ``noise``."""
        if self.config.corruption == "gaussian":
            return x + self.config.noise * standard_normal(x.shape, generator, x.device)
        u = torch.rand(x.shape, generator=generator, device=generator.device if generator else x.device)
        return x * (u.to(x.device) >= self.config.noise)

    def denoise(self, x_noisy: torch.Tensor) -> torch.Tensor:
        return self.reconstruct(x_noisy)
