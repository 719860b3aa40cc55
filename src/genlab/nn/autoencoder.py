"""Encoders and decoders of the autoencoder family (ae, dae, vae, cvae, vaegan), in one place.

Both come with an MLP or a convolutional body. The convolutional pair follows the layout of
the DCGAN networks (``image_plan`` decides the number of stride-2 stages from the image
side; see ``nn/dcgan.py``) but without batch norm, so that an example's code and likelihood
never depend on the rest of its batch, and with a linear output instead of a tanh: the
models decide what the outputs mean (logits, means, log-variances, a discriminator's logit).

A condition (a one-hot label for the conditional VAE, Sohn et al. 2015) is concatenated to
the input: as extra input features for the MLP, as constant extra channels for the conv
encoder (as ``models/cgan.py`` does), and to the code for either decoder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .dcgan import image_plan
from .mlp import ACTIVATIONS, mlp


def conv_trunk(shape: tuple[int, ...], width: int, extra_channels: int, activation: str) -> tuple[nn.Sequential, int]:
    """Stride-2 4x4 convolutions (width * 2^i channels at stage i), flattened: (module, out_dim)."""
    channels, side, _, stages = image_plan(shape, "a conv encoder")
    layers: list[nn.Module] = []
    c_in = channels + extra_channels
    for i in range(stages):
        c_out = width * 2 ** i
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), ACTIVATIONS[activation]()]
        c_in, side = c_out, side // 2                              # kernel 4, stride 2, pad 1: floor(S/2)
    return nn.Sequential(*layers, nn.Flatten()), c_in * side * side


class Encoder(nn.Module):
    """(B, *shape) data [and a (B, cond_dim) condition] -> (B, out_dim).

    ``features`` is the last hidden layer (the MLP's last activation, the conv stack's last
    feature map, flattened); ``forward`` is a linear map of it. VAE-GAN's discriminator is an
    Encoder with ``out_dim`` 1 whose ``features`` measure reconstructions (Larsen et al. 2016).
    """

    def __init__(self, shape: tuple[int, ...], out_dim: int, *, backbone: str = "mlp", hidden: int = 256,
                 layers: int = 2, width: int = 32, cond_dim: int = 0, activation: str = "relu"):
        super().__init__()
        self.conv = backbone == "conv"
        if self.conv:
            self.trunk, feature_dim = conv_trunk(shape, width, cond_dim, activation)
        else:  # ``layers`` hidden layers, each followed by the activation
            body = mlp(math.prod(shape) + cond_dim, hidden, hidden, layers - 1, activation)
            self.trunk, feature_dim = nn.Sequential(body, ACTIVATIONS[activation]()), hidden
        self.shape = tuple(shape)
        self.head = nn.Linear(feature_dim, out_dim)

    def features(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.conv:
            x = x.reshape(len(x), *self.shape)                     # (B, C, S, S)
            if cond is not None:                                   # condition as constant channels
                x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        else:
            x = x.flatten(1)                                       # (B, D)
            if cond is not None:
                x = torch.cat([x, cond], 1)
        return self.trunk(x)                                       # (B, feature_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, cond))                   # (B, out_dim)


class Decoder(nn.Module):
    """(B, in_dim) codes [and a (B, cond_dim) condition] -> (B, params * D) flat outputs.

    ``params`` outputs per data dimension, laid out as ``params`` blocks of D (for images,
    ``params * C`` channels flattened), so that ``out.chunk(params, dim=1)`` splits them into
    (B, D) pieces, e.g. a mean and a log-variance.
    """

    def __init__(self, in_dim: int, shape: tuple[int, ...], params: int = 1, *, backbone: str = "mlp",
                 hidden: int = 256, layers: int = 2, width: int = 32, cond_dim: int = 0):
        super().__init__()
        self.conv = backbone == "conv"
        in_dim += cond_dim
        if not self.conv:
            self.net = mlp(in_dim, params * math.prod(shape), hidden, layers)
            return
        channels, self.side, base, stages = image_plan(shape, "a conv decoder")
        top = width * 2 ** (stages - 1)
        layers_: list[nn.Module] = [nn.Linear(in_dim, top * base ** 2), nn.ReLU(), nn.Unflatten(1, (top, base, base))]
        for i in range(stages - 1):                                # halve the channels, double the side
            c_in = top // 2 ** i
            layers_ += [nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1), nn.ReLU()]
        layers_.append(nn.ConvTranspose2d(width, params * channels, 4, 2, 1))
        self.net = nn.Sequential(*layers_)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if cond is not None:
            z = torch.cat([z, cond], 1)
        out = self.net(z)
        if self.conv:                                              # (B, params * C, base * 2^stages, same)
            off = (out.shape[-1] - self.side) // 2                 # centre crop to S when larger (28 -> 32)
            out = out[..., off:off + self.side, off:off + self.side]
        return out.flatten(1)                                      # (B, params * D)
