"""PixelCNN and Gated PixelCNN: exact likelihood by masked convolutions.

An image is a product of per-pixel conditionals in raster order,
p(x) = prod_ij p(x_ij | x_<ij) (van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
eq. 1), each given by a network that is causal: its output at (i, j) sees only the pixels
before (i, j). All conditionals are computed in one pass for training and likelihood;
sampling draws pixel by pixel.

- ``gated=False``: the PixelCNN of that paper (section 3.5): a mask-A convolution, then
  residual blocks of ReLU and a 3x3 mask-B convolution. Its receptive field has a blind spot
  up and to the right.
- ``gated=True``: the Gated PixelCNN of van den Oord et al. 2016, "Conditional Image
  Generation with PixelCNN Decoders": vertical and horizontal stacks with gated activations
  and no blind spot; ``conditional=True`` adds a class embedding in every gate (eq. 4).

Output heads: a Bernoulli logit per pixel for binarised data (``n_bins`` = 2), scored in nats
per image; a categorical over the ``n_bins`` levels otherwise (section 2.2), an exact
probability of the levels, so -log p / (D ln 2) is bits/dim with no dequantisation. The
heads, likelihood and sampler are the family's (``autoregressive.py``), shared with ``pixelrnn``.
Blocks come from ``nn/masked.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.masked import GatedBlock, MaskedConv2d, output_head
from .autoregressive import Autoregressive, PixelConfig


@dataclass
class PixelCNNConfig(PixelConfig):
    gated: bool = True  # vertical + horizontal stacks (no blind spot); False = masked-conv PixelCNN


class PlainNet(nn.Module):
    """Mask-A k x k convolution, then ``layers - 1`` residual blocks ReLU -> 3x3 mask B,
    then the output head; a class embedding is added as a bias after every convolution."""

    def __init__(self, c: PixelCNNConfig, n_out: int):
        super().__init__()
        self.first = MaskedConv2d(1, c.channels, c.kernel_size, "A")
        self.blocks = nn.ModuleList(MaskedConv2d(c.channels, c.channels, 3, "B") for _ in range(c.layers - 1))
        self.embed = nn.ModuleList(nn.Embedding(c.num_classes, c.channels) for _ in range(c.layers)) \
            if c.num_classes else None
        self.head = output_head(c.channels, n_out)
        self.r = c.kernel_size // 2

    def bias(self, k: int, y) -> torch.Tensor | float:
        return 0.0 if self.embed is None else self.embed[k](y)[:, :, None, None]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.first(x) + self.bias(0, y)                          # (B, C, H, W)
        for k, block in enumerate(self.blocks, 1):
            h = h + block(F.relu(h)) + self.bias(k, y)
        return self.head(h)                                          # (B, n_out, H, W)

    def row_logits(self, x: torch.Tensor, i: int, y, cache: dict) -> torch.Tensor:
        """Logits of row i (B, n_out, W), computing only row i of every layer: the first
        layer from the input's rows i-r..i, each 3x3 block from its input's rows i-1 (kept
        in ``cache`` from the last call of the row above) and i. A layer's row i does not
        depend on pixel (i, W-1), so the last call of a row leaves its final features."""
        above = cache.get(i - 1)                                     # each layer's row i-1; None at row 0
        h = self.first(x[:, :, max(0, i - self.r):i + 1])[:, :, -1:] + self.bias(0, y)  # (B, C, 1, W)
        rows = [h]
        for k, block in enumerate(self.blocks, 1):
            pair = torch.cat([above[k - 1] if above else torch.zeros_like(h), h], 2)     # (B, C, 2, W)
            h = h + block(F.relu(pair))[:, :, 1:] + self.bias(k, y)
            rows.append(h)
        cache[i] = rows
        cache.pop(i - 2, None)
        return self.head(h)[:, :, 0]


class GatedNet(nn.Module):
    """``layers`` gated blocks (the first with the k x k kernel and shifted inputs), then the
    output head on the horizontal stack."""

    def __init__(self, c: PixelCNNConfig, n_out: int):
        super().__init__()
        sizes = [(1, c.kernel_size, True)] + [(c.channels, 3, False)] * (c.layers - 1)
        self.blocks = nn.ModuleList(GatedBlock(cin, c.channels, k, first, c.num_classes) for cin, k, first in sizes)
        self.head = output_head(c.channels, n_out)
        self.rows_above = c.kernel_size // 2 + 1 + (c.layers - 1)  # input rows above row i that row i sees

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        v, h = x, x                                                  # (B, 1, H, W)
        for block in self.blocks:
            v, h = block(v, h, y)                                    # (B, C, H, W) each
        return self.head(h)                                          # (B, n_out, H, W)

    def row_logits(self, x: torch.Tensor, i: int, y, cache: dict) -> torch.Tensor:
        """Logits of row i (B, n_out, W). The vertical stack at row i sees only rows above,
        so it runs once per row (on the rows it can see) and its links to the horizontal
        stack are kept; each pixel then costs the horizontal stack on one row."""
        if cache.get("row") != i:
            v, links = x[:, :, max(0, i - self.rows_above):i + 1], []
            for block in self.blocks:
                v, to_h = block.vertical(v, y)
                links.append(to_h[:, :, -1:])                        # (B, 2C, 1, W)
            cache.update(row=i, links=links)
        h = x[:, :, i:i + 1]                                         # (B, 1, 1, W)
        for block, to_h in zip(self.blocks, cache["links"]):
            h = block.horizontal(h, to_h, y)
        return self.head(h)[:, :, 0]


class PixelCNN(Autoregressive):
    name = "pixelcnn"
    Config = PixelCNNConfig
    presets = {"digits": dict(gated=True, layers=4, channels=32, kernel_size=5, batch_size=64, steps=1_500),
               "mnist5k": dict(gated=True, binarize=0.5, batch_size=64, steps=1_100)}  # benchmarks/likelihood.py

    def __init__(self, config: PixelCNNConfig, **networks):
        super().__init__(config, **networks)
        self.net = self.network_for("net", lambda: (GatedNet if config.gated else PlainNet)(config, self.n_out))
