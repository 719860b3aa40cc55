"""Denoising networks for diffusion: a small U-Net for images and a residual MLP for points.

Both map (x_t, t, y) to a tensor of x_t's shape and know nothing about the noise process
(the schedule, what the output means, the loss and the samplers live in ``models/ddpm.py``).
The timestep enters as a sinusoidal embedding (Vaswani et al. 2017, section 3.5) through a
small MLP, as in Ho et al. 2020, "Denoising Diffusion Probabilistic Models", appendix B; an
optional class embedding is added to it, with one extra index (``num_classes``) for the
null class that classifier-free guidance trains and samples with (Ho & Salimans 2022).

The U-Net follows the PixelCNN++-style network of Ho et al. (appendix B), small and without
self-attention: residual blocks (GroupNorm, SiLU, 3x3 convolution, the time embedding added
per channel), a stride-2 convolution down and nearest-neighbour upsampling with a 3x3
convolution up, skip connections from every block of the way down. Downsampling rounds up
(7 -> 4) and upsampling returns to the size of the matching skip, so any side works:
8 -> 4 -> 2, 28 -> 14 -> 7, 32 -> 16 -> 8.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check
from .mlp import mlp


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """(B,) timesteps -> (B, dim): sin and cos of t at frequencies from 1 to 1/max_period."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / max(half, 1))
    angles = t.float()[:, None] * freqs[None]                             # (B, half)
    return F.pad(torch.cat([angles.sin(), angles.cos()], 1), (0, dim % 2))


class TimeEmbedding(nn.Module):
    """t -> MLP(sinusoidal(t)) of width ``dim``, plus a learned class embedding when
    ``num_classes`` > 0; class ``num_classes`` is the null class (labels None use it)."""

    def __init__(self, base: int, dim: int, num_classes: int = 0):
        super().__init__()
        self.base, self.num_classes = base, num_classes
        self.mlp = mlp(base, dim, dim, 1, "silu")
        self.classes = nn.Embedding(num_classes + 1, dim) if num_classes else None

    def forward(self, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.mlp(sinusoidal_embedding(t, self.base))                 # (B, dim)
        if self.classes is not None:
            y = torch.full_like(t, self.num_classes) if y is None else y
            emb = emb + self.classes(y)
        return emb


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, channels), channels)  # 8 groups where the channels allow


class ResBlock(nn.Module):
    """x + conv(SiLU(norm(conv(SiLU(norm(x))) + W emb))), with a 1x1 convolution on the
    skip path when the channels change."""

    def __init__(self, cin: int, cout: int, emb_dim: int):
        super().__init__()
        self.first = nn.Sequential(group_norm(cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, cout))
        self.second = nn.Sequential(group_norm(cout), nn.SiLU(), nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.first(x) + self.emb(emb)[:, :, None, None]                 # (B, cout, H, W)
        return self.skip(x) + self.second(h)


class Downsample(nn.Conv2d):
    """3x3 convolution with stride 2: H -> ceil(H / 2)."""

    def __init__(self, channels: int):
        super().__init__(channels, channels, 3, stride=2, padding=1)


class Upsample(nn.Module):
    """Nearest-neighbour upsampling to the skip's size, then a 3x3 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size) -> torch.Tensor:
        return self.conv(F.interpolate(x, size=tuple(size), mode="nearest"))


def check_unet(shape: tuple[int, ...], width: int, levels: tuple[int, ...], blocks: int) -> None:
    """One line for a U-Net that cannot be built for images of ``shape``."""
    check(len(shape) == 3, f"the U-Net takes images (C, H, W); got data of shape {tuple(shape)}")
    check(width > 0 and blocks > 0, f"width and blocks must be positive, got {width} and {blocks}")
    check(len(levels) > 0 and all(m > 0 for m in levels),
          f"levels must be positive channel multipliers, one per resolution, got {tuple(levels)}")
    halvings = len(levels) - 1
    check(min(shape[1:]) >= 2 ** halvings,
          f"{len(levels)} levels halve the image {halvings} times; a {shape[1]}x{shape[2]} image is too "
          f"small for that (use fewer levels)")


class UNet(nn.Module):
    """(B, C, H, W) x_t, (B,) t, optional (B,) labels -> (B, C, H, W).

    ``levels`` gives the channel multiplier of ``width`` at each resolution (one halving
    between consecutive levels); ``blocks`` residual blocks per level on the way down,
    ``blocks + 1`` on the way up (each taking one skip), two in the middle.
    """

    def __init__(self, shape: tuple[int, ...], width: int = 32, levels: tuple[int, ...] = (1, 2, 2),
                 blocks: int = 1, num_classes: int = 0):
        super().__init__()
        check_unet(shape, width, levels, blocks)
        channels, emb_dim = shape[0], 4 * width
        self.embed = TimeEmbedding(width, emb_dim, num_classes)
        self.stem = nn.Conv2d(channels, width, 3, padding=1)
        self.down, skips, ch = nn.ModuleList(), [width], width
        for i, mult in enumerate(levels):
            for _ in range(blocks):
                self.down.append(ResBlock(ch, width * mult, emb_dim))
                ch = width * mult
                skips.append(ch)
            if i < len(levels) - 1:
                self.down.append(Downsample(ch))
                skips.append(ch)
        self.middle = nn.ModuleList([ResBlock(ch, ch, emb_dim), ResBlock(ch, ch, emb_dim)])
        self.up = nn.ModuleList()
        for i, mult in reversed(list(enumerate(levels))):
            for _ in range(blocks + 1):
                self.up.append(ResBlock(ch + skips.pop(), width * mult, emb_dim))
                ch = width * mult
            if i > 0:
                self.up.append(Upsample(ch))
        self.head = nn.Sequential(group_norm(ch), nn.SiLU(), nn.Conv2d(ch, channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embed(t, y)                                              # (B, 4 width)
        h = self.stem(x)
        hs = [h]                                                            # every skip, finest first
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
            hs.append(h)
        for layer in self.middle:
            h = layer(h, emb)
        for layer in self.up:
            if isinstance(layer, ResBlock):
                h = layer(torch.cat([h, hs.pop()], 1), emb)
            else:
                h = layer(h, hs[-1].shape[-2:])                             # back to the next skip's size
        return self.head(h)


class TimeMLP(nn.Module):
    """(B, D) x_t, (B,) t, optional (B,) labels -> (B, D): a residual MLP whose every block
    sees the time (and class) embedding, h <- h + Linear(SiLU(h + emb))."""

    def __init__(self, dim: int, hidden: int = 128, layers: int = 3, num_classes: int = 0):
        super().__init__()
        self.embed = TimeEmbedding(hidden, hidden, num_classes)
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden)) for _ in range(layers))
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        emb, h = self.embed(t, y), self.inp(x)                              # (B, hidden) each
        for block in self.blocks:
            h = h + block(h + emb)
        return self.out(h)
