"""Causal convolutions for autoregressive image models.

Pixels are ordered in raster order (row by row, left to right). A layer is *causal* when its
output at (i, j) depends only on pixels before (i, j), so that a product of per-pixel
conditionals p(x_ij | x_<ij) is an exact likelihood.

- :class:`MaskedConv2d`: van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
  section 3.4: the kernel is zeroed below the centre row and right of the centre; mask A
  (the first layer) also zeroes the centre, mask B (every later layer) keeps it. Stacks of
  masked 3x3 convolutions have a *blind spot*: pixels up and to the right that no chain of
  kernels reaches.
- :class:`GatedBlock`: van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
  Decoders", section 2.2: a vertical stack that sees every row above (the full width of its
  kernel) and a horizontal stack that sees the current row to the left, linked vertical ->
  horizontal, with no blind spot; gated activations tanh(W_f * x) . sigmoid(W_g * x)
  (eq. 2) and an optional class embedding added inside both gates (eq. 4).

Channels of one position are never ordered among themselves (no R -> G -> B masking): the
pixel models take one-channel images, where every hidden channel at (i, j) is a feature of
the pixels before (i, j).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


def causal_mask(kernel_size: tuple[int, int], mask: Literal["A", "B"]) -> torch.Tensor:
    """(kh, kw) of ones where the kernel may look: rows above the centre, and the centre row
    left of the centre (mask A) or up to and including it (mask B)."""
    kh, kw = kernel_size
    m = torch.ones(kh, kw)
    ci, cj = kh // 2, kw // 2
    m[ci + 1:] = 0                                   # rows below the centre
    m[ci, cj + (mask == "B"):] = 0                   # the centre row from the centre (A) or after it (B)
    return m


class MaskedConv2d(nn.Conv2d):
    """A same-size convolution whose kernel is multiplied by a causal mask A or B."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 mask: Literal["A", "B"]):
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if kh % 2 == 0 or kw % 2 == 0 or mask not in ("A", "B"):
            raise ValueError(f"a masked convolution needs odd kernel sizes and mask 'A' or 'B', "
                             f"got {kernel_size}, {mask!r}")
        super().__init__(in_channels, out_channels, (kh, kw), padding=(kh // 2, kw // 2))
        self.register_buffer("mask", causal_mask((kh, kw), mask), persistent=False)  # rebuilt, never saved

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def gate(a: torch.Tensor) -> torch.Tensor:
    """tanh(first half) * sigmoid(second half) over channels (Gated PixelCNN, eq. 2)."""
    f, g = a.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedBlock(nn.Module):
    """One layer of the Gated PixelCNN, (v, h) -> (v, h), each (B, C, H, W).

    The vertical stack is kept *strictly above*: v at (i, j) depends only on rows < i. The
    first block shifts its input down by one row (and the horizontal input right by one
    column: mask A); later blocks look at rows i-r..i of v, which is still strictly above,
    and at columns j-r..j of h (mask B). So the link v -> h needs no further shift, and
    h at (i, j) sees every row above within the widening vertical field plus row i left of j.
    """

    def __init__(self, in_channels: int, channels: int, kernel_size: int, first: bool, num_classes: int = 0):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.r, self.first = kernel_size // 2, first
        self.v_conv = nn.Conv2d(in_channels, 2 * channels, (self.r + 1, kernel_size))  # r+1 rows, full width
        self.h_conv = nn.Conv2d(in_channels, 2 * channels, (1, self.r + 1))            # one row, left half
        self.link = nn.Conv2d(2 * channels, 2 * channels, 1)                           # vertical -> horizontal
        self.h_out = nn.Conv2d(channels, channels, 1)
        self.embed = nn.Embedding(num_classes, 2 * channels) if num_classes else None

    def forward(self, v: torch.Tensor, h: torch.Tensor, y: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        v_new, to_h = self.vertical(v, y)
        return v_new, self.horizontal(h, to_h, y)

    def vertical(self, v: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The vertical stack's output and its link to the horizontal stack, (B, C | 2C, H, W)."""
        r = self.r
        if self.first:  # rows i-r-1..i-1: strictly above
            v_in = F.pad(v, (r, r, r + 1, 0))[:, :, :-1]       # (B, C_in, H + r, W + 2r)
        else:           # rows i-r..i of a v that is already strictly above
            v_in = F.pad(v, (r, r, r, 0))
        v_pre = self.v_conv(v_in)                              # (B, 2C, H, W)
        return gate(v_pre + self.class_bias(y)), self.link(v_pre)

    def horizontal(self, h: torch.Tensor, to_h: torch.Tensor, y=None) -> torch.Tensor:
        """The horizontal stack's output (B, C, H, W) from its input and the vertical link;
        every row on its own, so it also runs on a single row."""
        r = self.r
        if self.first:  # columns j-r-1..j-1 (mask A)
            h_in = F.pad(h, (r + 1, 0, 0, 0))[..., :-1]        # (B, C_in, H, W + r)
        else:           # columns j-r..j of a causal h (mask B)
            h_in = F.pad(h, (r, 0, 0, 0))
        h_new = self.h_out(gate(self.h_conv(h_in) + to_h + self.class_bias(y)))
        return h_new if self.first else h + h_new              # residual on the horizontal stack

    def class_bias(self, y) -> torch.Tensor | float:
        """Eq. 4: a class embedding added inside both gates, (B, 2C, 1, 1)."""
        return 0.0 if self.embed is None else self.embed(y)[:, :, None, None]


def output_head(channels: int, n_out: int) -> nn.Sequential:
    """ReLU, 1x1, ReLU, 1x1 to ``n_out`` logits per pixel (PixelRNN paper, Table 4); a 1x1
    convolution is position-wise, so it keeps causality."""
    return nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, n_out, 1))
