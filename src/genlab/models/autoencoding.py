"""The autoencoding family: an encoder, a decoder, and the verbs they give.

An autoencoder maps x to a code z = encode(x) and back to decode(z). What the family shares
lives here: the backbone settings (an MLP or a convolutional encoder and decoder from
``nn/autoencoder.py``) as one config base, the networks built from them, and the verbs
``reconstruct`` and ``interpolate`` (decodings along the straight line between two codes).
ae, dae, vae, cvae and vaegan derive from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..config import Settings, check, check_learning_rate, check_positive, check_shape
from ..nn.autoencoder import Decoder, Encoder
from ..nn.dcgan import image_plan
from .base import Model


@dataclass
class BackboneConfig(Settings):
    """The encoder and decoder of every autoencoding model, and the learning rate."""

    data_shape: tuple[int, ...] = (2,)  # (d,) for points; (C, H, W) for images in [0, 1]
    latent_dim: int = 8
    backbone: Literal["mlp", "conv"] = "mlp"
    hidden: int = 256  # mlp backbone: width and number of hidden layers
    layers: int = 2
    width: int = 32    # conv backbone: base channels
    lr: float = 1e-3

    def __post_init__(self):
        super().__post_init__()
        check_shape(self.data_shape)
        check_positive(self, "latent_dim", "hidden", "layers", "width")
        if self.backbone == "conv":
            name = type(self).__name__.removesuffix("Config").lower()
            image_plan(self.data_shape, f"{name} with backbone='conv'")
        check_learning_rate(self.lr)


def build_networks(model, enc_out: int, dec_params: int, cond_dim: int = 0) -> tuple[Encoder, Decoder]:
    """The encoder (to ``enc_out`` numbers) and decoder (``dec_params`` per data dimension):
    the user's where given, else built from the config's backbone."""
    config = model.config
    sizes = dict(backbone=config.backbone, hidden=config.hidden, layers=config.layers, width=config.width,
                 cond_dim=cond_dim)
    shape = tuple(config.data_shape)
    return (model.network_for("encoder", lambda: Encoder(shape, enc_out, **sizes)),
            model.network_for("decoder", lambda: Decoder(config.latent_dim, shape, dec_params, **sizes)))


def latent_path(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """(N, steps, L) codes on the straight lines from z_a (N, L) to z_b, both ends included."""
    check(steps >= 2, f"interpolation needs at least 2 steps, got {steps}")
    t = torch.linspace(0, 1, steps, device=z_a.device)[None, :, None]  # (1, steps, 1)
    return (1 - t) * z_a[:, None] + t * z_b[:, None]


class Autoencoding(Model):
    """The verbs of the family, given ``encode(x)`` and ``decode(z)``."""

    interpolates = True
    walks = True
    networks = ("encoder", "decoder")

    def network_examples(self):
        """encoder: (B, *data_shape) data -> (B, code size: latent_dim for ae and dae, twice
        that for the mean and log-variance of vae and vaegan); decoder: (B, latent_dim) codes
        -> (B, outputs per dimension x D), flat (see each model's likelihood). A conditional
        model calls both with a one-hot condition (B, num_classes) as a second argument."""
        shape, latent = tuple(self.config.data_shape), self.config.latent_dim
        dim, (code, params) = math.prod(shape), self.code_sizes()
        extra = (torch.zeros(2, self.cond_dim),) if self.cond_dim else ()
        return {"encoder": ((torch.zeros(2, *shape), *extra), (2, code)),
                "decoder": ((torch.zeros(2, latent), *extra), (2, params * dim))}

    cond_dim = 0  # a conditional model feeds a condition (one-hot label) to both networks

    def code_sizes(self) -> tuple[int, int]:
        """(numbers the encoder gives per example, decoder outputs per data dimension)."""
        return self.config.latent_dim, 1

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def interpolate(self, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """(N, steps, *shape): decodings of codes evenly spaced from encode(x_a) to encode(x_b)."""
        z = latent_path(self.encode(x_a), self.encode(x_b), steps)   # (N, steps, L)
        return self.decode(z.flatten(0, 1)).view(len(x_a), steps, *self.config.data_shape)
