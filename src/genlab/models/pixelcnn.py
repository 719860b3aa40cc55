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
heads, likelihood and sampler live in :class:`Autoregressive`, shared with ``pixelrnn``.
Blocks come from ``nn/masked.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check, check_learning_rate, check_positive, check_shape
from ..errors import DataError
from ..metrics.likelihood import levels
from ..nn.masked import GatedBlock, MaskedConv2d, output_head
from ..trainer import Phase
from .base import Model
from .cgan import CGAN


@dataclass
class PixelConfig:
    """Settings shared by the pixel models; the data fill in the first three."""

    data_shape: tuple[int, ...] = (1, 28, 28)  # (1, H, W): one-channel images
    n_bins: int = 2                      # intensity levels: 2 for binarised data (Bernoulli head)
    num_classes: int = 0                 # classes of the data; kept only when conditional, else 0
    conditional: bool = False            # condition every layer on the class label
    layers: int = 6
    channels: int = 32
    kernel_size: int = 7                 # the first (mask-A) layer's k x k kernel; pixelcnn's later ones are 3x3
    lr: float = 1e-3

    def __post_init__(self):
        name = type(self).__name__.removesuffix("Config").lower()
        check_shape(self.data_shape)
        check(len(self.data_shape) == 3, f"{name} models images (1, H, W); got data of shape {tuple(self.data_shape)}")
        check(self.data_shape[0] == 1, f"{name} models one-channel images; got {self.data_shape[0]} channels")
        check(self.n_bins >= 2,
              f"{name} needs quantised images (n_bins >= 2, taken from the data), got n_bins={self.n_bins}")
        check_positive(self, "layers", "channels", "kernel_size")
        check(self.kernel_size % 2 == 1, f"kernel_size must be odd (a centred causal mask), got {self.kernel_size}")
        check(self.num_classes >= 0, f"num_classes must be non-negative, got {self.num_classes}")
        check(not self.conditional or self.num_classes > 0,
              f"conditional {name} needs labelled data (num_classes > 0)")
        if not self.conditional:
            self.num_classes = 0  # unconditional: labels are neither taken nor asked for
        check_learning_rate(self.lr)


@dataclass
class PixelCNNConfig(PixelConfig):
    gated: bool = True  # vertical + horizontal stacks (no blind spot); False = masked-conv PixelCNN


class Autoregressive(Model):
    """Heads, exact likelihood and pixel-by-pixel sampling over a causal ``self.net``:
    ``net(x_in, y)`` maps (B, 1, H, W) inputs in [-1, 1] to (B, n_out, H, W) logits, and
    ``net.row_logits(x_in, i, y, cache)`` gives the same (B, n_out, W) logits of row i
    alone, reusing in ``cache`` (a dict owned by one sampling run) what earlier calls kept."""

    def __init__(self, config: PixelConfig):
        super().__init__(config)
        self.n_out = 1 if config.n_bins == 2 else config.n_bins  # Bernoulli logit or categorical

    labels_for = CGAN.labels_for  # checked (n,) labels; None -> balanced 0..K-1

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if not self.config.conditional:
            return None
        if y is None:
            raise DataError(f"conditional {self.name} needs class labels y; train and evaluate it on labelled data")
        return self.labels_for(n, y)

    @staticmethod
    def model_input(x: torch.Tensor) -> torch.Tensor:
        return 2 * x - 1  # [0, 1] -> [-1, 1]

    def log_prob(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x) per image in nats: the sum of the per-pixel conditionals (exact)."""
        logits = self.net(self.model_input(x), self.condition(labels, len(x)))  # (B, n_out, H, W)
        if self.n_out == 1:
            return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        target = levels(x, self.config.n_bins)                                 # (B, 1, H, W)
        return logits.log_softmax(1).gather(1, target).flatten(1).sum(1)

    # --- training and likelihood -----------------------------------------------------------

    def optimizers(self):
        return {self.name: torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def phases(self):
        return [Phase(self.name, self.name, self.loss)]

    def loss(self, x, y=None):
        nll = -self.log_prob(x, y).mean()
        dims = math.prod(self.config.data_shape)
        return {"loss": nll / dims, "nll": nll}  # minimise nats per dimension; log nats per image

    def likelihood_unit(self) -> str:
        return "nats per image" if self.config.n_bins == 2 else "bits/dim"

    @torch.no_grad()
    def evaluate(self, data, batch: int = 500) -> dict[str, float]:
        """Exact held-out NLL in nats per image, and bits/dim for multi-level images."""
        y = data.y if self.config.conditional else None
        nll = torch.cat([-self.log_prob(data.x[i:i + batch].to(self.device),
                                        None if y is None else y[i:i + batch].to(self.device))
                         for i in range(0, len(data.x), batch)])
        out = {"nll": float(nll.mean())}
        if self.config.n_bins > 2:
            out["bits_per_dim"] = float(nll.mean()) / (math.prod(self.config.data_shape) * math.log(2))
        return out

    # --- sampling ------------------------------------------------------------------------------

    def sample(self, n, *, labels=None, generator=None, cached: bool = True):
        """``n`` images drawn pixel by pixel (of the classes ``labels`` when conditional).
        ``cached=False`` recomputes the whole image for every pixel (the reference that the
        row-wise computation of ``net.row_logits`` is measured against)."""
        if self.config.conditional:
            y = self.labels_for(n, labels)
        else:
            self._check_labels(n, labels)
            y = None
        return sample_pixels(self, n, y, generator, cached)


@torch.no_grad()
def sample_pixels(model: Autoregressive, n: int, y, generator, cached: bool = True) -> torch.Tensor:
    """Raster-order ancestral sampling, the batch of ``n`` images at once: each pixel drawn
    from its conditional by inverting its CDF at a uniform from ``generator``."""
    _, h, w = model.config.data_shape
    n_bins = model.config.n_bins
    u = torch.rand((n, h, w), generator=generator,
                   device=generator.device if generator is not None else model.device).to(model.device)
    x = torch.zeros(n, 1, h, w, device=model.device)
    cache: dict = {}
    for i in range(h):
        for j in range(w):
            x_in = model.model_input(x)
            logits = model.net.row_logits(x_in, i, y, cache) if cached else model.net(x_in, y)[:, :, i]  # (n, n_out, W)
            logits = logits[:, :, j]
            if model.n_out == 1:
                x[:, 0, i, j] = (u[:, i, j] < torch.sigmoid(logits[:, 0])).float()
            else:
                cdf = logits.softmax(1).cumsum(1)                                    # (n, n_bins)
                level = (cdf < u[:, i, j, None]).sum(1).clamp(max=n_bins - 1)
                x[:, 0, i, j] = level.float() / (n_bins - 1)
    return x


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

    def __init__(self, config: PixelCNNConfig):
        super().__init__(config)
        self.net = (GatedNet if config.gated else PlainNet)(config, self.n_out)
