"""CycleGAN's networks, sized from the image shape: a ResNet generator and a PatchGAN critic.

Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", appendix 7.2. The generator (after Johnson et al. 2016) is c7s1-w, two stride-2
convolutions to 4w channels, residual blocks, two fractionally strided convolutions back,
and c7s1-C with tanh; instance norm and ReLU throughout, reflection padding. The
discriminator is a 70x70 PatchGAN: 4x4 convolutions C64-C128-C256 with stride 2 and C512 with
stride 1 (LeakyReLU 0.2, instance norm from the second), then a 1-channel convolution, so
that it scores every overlapping patch rather than the whole image.

Small images take fewer stages: the generator downsamples twice when the side is a
multiple of 4 and at least 16 (28x28 -> 7x7), once when it is even (8x8 -> 4x4); the
discriminator has floor(log2(S / 4)) stride-2 stages, between one and three.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import check

MIN_SIDE = 8


def check_image_shape(shape: tuple[int, ...], what: str = "cyclegan") -> tuple[int, int]:
    """(channels, side) of square images (C, S, S) with S >= 8, or a one-line ConfigError."""
    ok = len(shape) == 3 and shape[1] == shape[2] and shape[1] >= MIN_SIDE
    check(ok, f"{what} translates square images (C, S, S) with S >= {MIN_SIDE}, got data_shape {tuple(shape)}")
    return shape[0], shape[1]


def generator_downsamplings(side: int) -> int:
    return 2 if side % 4 == 0 and side >= 16 else 1 if side % 2 == 0 else 0


def patch_downsamplings(side: int) -> int:
    return max(1, min(3, int(math.log2(side / 4))))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """(B, C, S, S) images in [-1, 1] -> translated images of the same shape in [-1, 1]."""

    def __init__(self, shape: tuple[int, ...], width: int, blocks: int):
        super().__init__()
        channels, side = check_image_shape(shape)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7),
                                   nn.InstanceNorm2d(width), nn.ReLU()]
        c = width
        downs = generator_downsamplings(side)
        for _ in range(downs):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU()]
            c *= 2
        layers += [ResidualBlock(c) for _ in range(blocks)]
        for _ in range(downs):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """(B, C, S, S) images in [-1, 1] -> (B, 1, P, P) logits, one per overlapping patch."""

    def __init__(self, shape: tuple[int, ...], width: int):
        super().__init__()
        channels, side = check_image_shape(shape)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for i in range(patch_downsamplings(side)):
            layers.append(nn.Conv2d(c_in, c, 4, stride=2, padding=1))
            if i > 0:
                layers.append(nn.InstanceNorm2d(c))
            layers.append(nn.LeakyReLU(0.2))
            c_in, c = c, 2 * c
        layers += [nn.Conv2d(c_in, c, 4, stride=1, padding=1), nn.InstanceNorm2d(c), nn.LeakyReLU(0.2),
                   nn.Conv2d(c, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def init_normal(module: nn.Module) -> None:
    """Convolution weights from N(0, 0.02) and zero biases, as in the paper's code."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)


class ImagePool(nn.Module):
    """A history of generated images for the discriminator (Shrivastava et al. 2017).

    Until it holds ``size`` images every new image is stored and passed on; then each new
    image is, with probability 1/2, swapped for a random stored one (which is passed on in its
    place). The pool is a buffer, so it is saved and resumed with the model.
    """

    def __init__(self, size: int, shape: tuple[int, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = images.clone()
        for i in range(len(images)):
            n = int(self.count)
            if n < self.size:
                self.images[n] = images[i]
                self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ()))
                out[i] = self.images[j]
                self.images[j] = images[i]
        return out
