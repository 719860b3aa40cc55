"""Convolutional generator and discriminator of DCGAN, sized from the image shape.

Radford et al. 2016, "Unsupervised Representation Learning with Deep Convolutional GANs",
section 3: strided convolutions instead of pooling, batch norm in both networks (except the
generator's output and the discriminator's input layer), ReLU in the generator with a tanh
output, LeakyReLU(0.2) in the discriminator, no fully connected hidden layers, weights
initialised from N(0, 0.02).

A square side S is reached from a small base map by ``stages`` doublings: the most that keep
the base map at least 4x4, and at least two (so 8x8 images start from 2x2). Sides that are
not a base times a power of two (28 = 4 * 8 - 4) are generated a little larger and centre
cropped; the discriminator's stride-2 convolutions floor the side at every stage.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import check

MIN_SIDE = 8


def image_plan(shape: tuple[int, ...], what: str = "dcgan") -> tuple[int, int, int, int]:
    """(channels, side, base, stages) for ``shape`` = (C, S, S), or a one-line ConfigError."""
    ok = len(shape) == 3 and shape[1] == shape[2] and shape[1] >= MIN_SIDE
    check(ok, f"{what} needs square images (C, S, S) with S >= {MIN_SIDE}, got data_shape {tuple(shape)}")
    channels, side = shape[0], shape[1]
    stages = 2
    while math.ceil(side / 2 ** (stages + 1)) >= 4:
        stages += 1
    return channels, side, math.ceil(side / 2 ** stages), stages


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights for convolutions and linear maps, N(1, 0.02) batch-norm scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class ConvGenerator(nn.Module):
    """(B, in_dim) vectors -> (B, C, S, S) images in [-1, 1].

    Project and reshape to (width * 2^(stages-1), base, base), then stride-2 transposed
    convolutions halve the channels and double the side; the last one outputs C channels.
    """

    def __init__(self, in_dim: int, shape: tuple[int, ...], width: int):
        super().__init__()
        channels, self.side, self.base, stages = image_plan(shape)
        top = width * 2 ** (stages - 1)
        self.project = nn.Sequential(nn.Linear(in_dim, top * self.base ** 2, bias=False),
                                     nn.Unflatten(1, (top, self.base, self.base)),
                                     nn.BatchNorm2d(top), nn.ReLU())
        layers: list[nn.Module] = []
        for i in range(stages - 1):
            c_in = top // 2 ** i
            layers += [nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c_in // 2), nn.ReLU()]
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.upsample(self.project(z))                        # (B, C, base * 2^stages, same)
        off = (x.shape[-1] - self.side) // 2                      # centre crop to S when larger
        return x[..., off:off + self.side, off:off + self.side]


class ConvFeatures(nn.Module):
    """(B, C, S, S) images -> (B, out_dim) features phi(x) by stride-2 convolutions.

    The DCGAN discriminator is ``Linear(out_dim, 1)`` on these: the same map as its final
    convolution whose kernel covers the whole remaining feature map.
    """

    def __init__(self, shape: tuple[int, ...], width: int, extra_channels: int = 0):
        super().__init__()
        channels, side, _, stages = image_plan(shape)
        layers: list[nn.Module] = []
        c_in = channels + extra_channels
        for i in range(stages):
            c_out = width * 2 ** i
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=i == 0))
            if i > 0:  # no batch norm on the input layer (section 3)
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in, side = c_out, side // 2                          # kernel 4, stride 2, pad 1: floor(S/2)
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.out_dim = c_in * side * side
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)                                       # (B, out_dim)
