"""The autoregressive family: exact likelihood as a product of per-pixel conditionals.

An image is p(x) = prod_ij p(x_ij | x_<ij) in raster order (van den Oord et al. 2016, "Pixel
Recurrent Neural Networks", eq. 1), each conditional given by a causal network whose output
at (i, j) sees only the pixels before (i, j). What pixelcnn and pixelrnn share lives here:
their settings, the output heads (a Bernoulli logit per pixel for binarised data, scored in
nats per image; a categorical over the ``n_bins`` levels otherwise, section 2.2, an exact
probability of the levels, so -log p / (D ln 2) is bits/dim with no dequantisation), the
exact likelihood, and pixel-by-pixel sampling. Each model supplies its causal ``net``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import Settings, check, check_learning_rate, check_positive, check_shape
from ..metrics.likelihood import levels
from .base import ConditionalSettings, Model, Phase


@dataclass
class PixelConfig(ConditionalSettings):
    """Settings shared by the pixel models; the data fill in the shape, the levels and (when
    conditional: a class embedding in every layer) the classes."""

    data_shape: tuple[int, ...] = (1, 28, 28)  # (1, H, W): one-channel images
    n_bins: int = 2                      # intensity levels: 2 for binarised data (Bernoulli head)
    layers: int = 6
    channels: int = 32                   # feature maps of every layer
    kernel_size: int = 7                 # the first (mask-A) layer's k x k kernel; pixelcnn's later ones are 3x3
    lr: float = 1e-3

    def __post_init__(self):
        super().__post_init__()
        name = type(self).__name__.removesuffix("Config").lower()
        check_shape(self.data_shape)
        check(len(self.data_shape) == 3, f"{name} models images (1, H, W); got data of shape {tuple(self.data_shape)}")
        check(self.data_shape[0] == 1, f"{name} models one-channel images; got {self.data_shape[0]} channels")
        check(self.n_bins >= 2,
              f"{name} needs quantised images (n_bins >= 2, taken from the data), got n_bins={self.n_bins}")
        check_positive(self, "layers", "channels", "kernel_size")
        check(self.kernel_size % 2 == 1, f"kernel_size must be odd (a centred causal mask), got {self.kernel_size}")
        check_learning_rate(self.lr)


@dataclass
class PixelSampling(Settings):
    """``sample``'s settings: ``cached=False`` recomputes the whole image for every pixel."""

    cached: bool = True


class Autoregressive(Model):
    """Heads, exact likelihood and pixel-by-pixel sampling over a causal ``self.net``:
    ``net(x_in, y)`` maps (B, 1, H, W) inputs in [-1, 1] to (B, n_out, H, W) logits, and
    ``net.row_logits(x_in, i, y, cache)`` gives the same (B, n_out, W) logits of row i
    alone, reusing in ``cache`` (a dict owned by one sampling run) what earlier calls kept."""

    data_kinds = ("image",)
    likelihood = True
    Sampling = PixelSampling
    networks = ("net",)  # a user's net is sampled without the row-wise cache (``cached=False``)

    def __init__(self, config: PixelConfig, **networks):
        super().__init__(config, **networks)
        self.n_out = 1 if config.n_bins == 2 else config.n_bins  # Bernoulli logit or categorical

    def network_examples(self):
        """net: (x (B, 1, H, W) in [-1, 1], y (B,) labels or None) -> (B, n_out, H, W) logits,
        causal: the output at (i, j) may depend only on pixels before (i, j) in raster order
        (1 Bernoulli logit for binarised data, else one logit per level)."""
        _, h, w = self.config.data_shape
        y = torch.zeros(2, dtype=torch.long) if self.config.conditional else None
        return {"net": ((torch.zeros(2, 1, h, w), y), (2, self.n_out, h, w))}

    @staticmethod
    def model_input(x: torch.Tensor) -> torch.Tensor:
        return 2 * x - 1  # [0, 1] -> [-1, 1]

    def log_prob(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x) per image in nats: the sum of the per-pixel conditionals (exact)."""
        logits = self.net(self.model_input(x), self.condition(labels, len(x))).float()  # (B, n_out, H, W)
        if self.n_out == 1:
            return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        target = levels(x, self.config.n_bins)                                 # (B, 1, H, W)
        return logits.log_softmax(1).gather(1, target).flatten(1).sum(1)

    # --- training and likelihood -----------------------------------------------------------

    def optimizers(self):
        return {self.name: torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def phases(self):
        return [Phase(self.name, self.name, self.loss)]

    def loss(self, x, y=None, state=None):
        nll = -self.log_prob(x, y).mean()
        dims = math.prod(self.config.data_shape)
        return {"loss": nll / dims, "nll": nll}  # minimise nats per dimension; log nats per image

    def likelihood_unit(self) -> str:
        return "nats per image" if self.config.n_bins == 2 else "bits/dim"

    @torch.no_grad()
    def evaluate(self, data, *, batch: int = 500) -> dict[str, float]:
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

    def sample(self, n, *, labels=None, generator=None, **settings):
        """``n`` images drawn pixel by pixel (of the classes ``labels`` when conditional).
        ``cached=False`` recomputes the whole image for every pixel (the reference that the
        row-wise computation of ``net.row_logits`` is measured against)."""
        cached = self.sampling(settings).cached and "net" not in self.user_networks
        return sample_pixels(self, n, self.sample_labels(n, labels), generator, cached)


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
