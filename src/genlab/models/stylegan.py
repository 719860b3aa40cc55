"""StyleGAN: a mapping network, style-modulated synthesis, style mixing, truncation, growing.

Karras et al. 2019, "A Style-Based Generator Architecture for GANs", with StyleGAN2's
modulated convolutions, lazy R1 and path-length regularisation (Karras et al. 2020); the
networks are in ``nn/stylegan.py``. Noise z is mapped to an intermediate latent w; one copy
of w per layer (the styles ``ws``) modulates the synthesis network. Training:

- the non-saturating loss with the R1 penalty gamma/2 ||grad D(x)||^2 on real images,
  computed every ``r1_every`` steps and weighted by ``r1_every`` (lazy regularisation);
- style-mixing regularisation: with probability ``mixing_prob`` the styles from a second z
  take over from a random layer on, so that neighbouring styles are not assumed correlated;
- optional path-length regularisation (``pl_weight``): a fixed-size step in w should move
  the image by a fixed amount, (|J_w^T y| - a)^2 with a the running mean, every 4 steps;
- an EMA of the generator, used for sampling, and a running average of w for truncation:
  w' = w_avg + psi (w - w_avg), which trades diversity (recall) for quality (precision);
- growing resolution by ``grow_steps`` per stage with fade-in (0: train at full size).

Images whose side is not a power of two are fitted to the next one by ``fit``: ``pad``
(zeros around, cropped off the samples) or ``resize`` (bilinear up, area average down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Settings, check, check_positive
from ..errors import ConfigError
from ..nn.stylegan import MappingNetwork, StyleDiscriminator, Synthesis, blend, growth
from .adversarial import GENERATOR_LOSSES, Adversarial, AdversarialConfig
from .base import standard_normal

W_AVG_BETA = 0.995
PL_EVERY = 4


@dataclass
class StyleGANConfig(AdversarialConfig):
    data_shape: tuple[int, ...] = (1, 32, 32)  # (C, S, S) images in [0, 1]
    latent_dim: int = 64  # z and w
    mapping_layers: int = 1  # the paper's 8; 4 with mixing 0.9 needs 4x the CPU budget on mnist5k (benchmarks/stylegan.py)
    mapping_lr_mul: float = 0.01  # the mapping network's learning-rate multiplier (the paper's 0.01)
    width: int = 64  # channels of every synthesis and discriminator layer
    mbstd_group: int = 0  # examples per minibatch-std group of the discriminator (the paper's 4; 0: the batch)
    fit: Literal["none", "pad", "resize"] = "none"  # how a side that is not a power of two is fitted
    grow_steps: int = 0  # steps per resolution stage, fading in over the first half; 0 = no growing
    mixing_prob: float = 0.0  # style-mixing regularisation (the paper's 0.9); 0 = off
    r1_every: int = 16  # lazy R1: computed every r1_every steps, weighted by r1_every
    pl_weight: float = 0.0  # path-length regularisation weight (StyleGAN2 uses 2); 0 = off
    # the family's settings at StyleGAN2's values
    r1: float = 1.0
    lr: float = 2e-3
    beta1: float = 0.0
    beta2: float = 0.99
    ema: float = 0.999

    def __post_init__(self):
        super().__post_init__()
        fitted_side(self)
        check_positive(self, "latent_dim", "mapping_layers", "width", "r1_every", "mapping_lr_mul")
        check(self.mbstd_group >= 0, f"mbstd_group must be 0 (the whole batch) or a group size, got {self.mbstd_group}")
        check(self.grow_steps >= 0, f"grow_steps must be 0 (no growing) or positive, got {self.grow_steps}")
        check(0 <= self.mixing_prob <= 1, f"mixing_prob must lie in [0, 1], got {self.mixing_prob}")
        check(self.pl_weight >= 0, f"pl_weight must be >= 0, got {self.pl_weight}")
        check(self.fit in ("none", "pad", "resize"), f"fit must be none, pad or resize, got {self.fit!r}")
        check(not self.spectral_norm, "spectral_norm is not available for stylegan: its discriminator's "
                                      "equalised-learning-rate layers are not ones the normaliser wraps; R1 "
                                      "(r1, on by default) keeps it smooth")


@dataclass
class StyleGANSampling(Settings):
    """``sample``'s settings: ``truncation`` psi in [0, 1] pulls w towards its average;
    ``noise`` is ``random`` (drawn from the sampling generator), ``const`` or ``none``."""

    truncation: float = 1.0
    noise: Literal["random", "const", "none"] = "random"

    def __post_init__(self):
        super().__post_init__()
        check(0 <= self.truncation <= 1, f"truncation psi must lie in [0, 1], got {self.truncation}")


def fitted_side(config) -> int:
    """The power-of-two side the networks work at, or a one-line ConfigError."""
    shape = tuple(config.data_shape)
    check(len(shape) == 3 and shape[1] == shape[2] and shape[1] >= 8,
          f"stylegan needs square images (C, S, S) with S >= 8, got data_shape {shape}")
    side = shape[1]
    if side & (side - 1) == 0:
        return side
    check(config.fit != "none", f"stylegan works at power-of-two sides; {side} is not one: set fit=pad "
                                f"(pad to {2 ** math.ceil(math.log2(side))} with zeros) or fit=resize")
    return 2 ** math.ceil(math.log2(side))


class StyleGenerator(nn.Module):
    """z -> image: mapping, truncation, synthesis. Holds w's running average and the training
    step it was last trained at (set from the trainer's state), which decides the resolution
    stage, as buffers (the EMA copy gets both)."""

    def __init__(self, channels: int, side: int, config: StyleGANConfig):
        super().__init__()
        self.mapping = MappingNetwork(config.latent_dim, config.latent_dim, config.mapping_layers,
                                      lr_mul=config.mapping_lr_mul)
        self.synthesis = Synthesis(channels, int(math.log2(side)) - 2, config.width, config.latent_dim)
        self.side, self.grow_steps = side, config.grow_steps
        self.register_buffer("w_avg", torch.zeros(config.latent_dim))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    def growth(self) -> tuple[int, float]:
        return growth(int(self.steps_done), self.grow_steps, self.synthesis.stages)

    def ws(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """(B, num_ws, w_dim): the mapped, truncated w, one copy per layer."""
        w = self.mapping(z)
        if truncation != 1:
            w = self.w_avg.lerp(w, truncation)
        return w[:, None].expand(-1, self.num_ws, -1)

    def synthesize(self, ws: torch.Tensor, noise: str = "random", generator=None) -> torch.Tensor:
        """Images at the full side in [-1, 1] (upsampled from the current stage)."""
        stage, alpha = self.growth()
        image = self.synthesis(ws, stage, alpha, noise, generator)
        if image.shape[-1] != self.side:
            image = F.interpolate(image, size=(self.side, self.side), mode="nearest")
        return image

    def forward(self, z: torch.Tensor, truncation: float = 1.0, noise: str = "random", generator=None):
        return self.synthesize(self.ws(z, truncation), noise, generator)


class StyleGAN(Adversarial):
    name = "stylegan"
    Config = StyleGANConfig
    data_kinds = ("image",)
    Sampling = StyleGANSampling
    mixes = True
    ema_warmup = True
    # benchmarks/stylegan.py: 28x28 padded to 32x32, width 32, batch 32, about 12 CPU minutes
    presets = {"mnist5k": dict(fit="pad", width=32, batch_size=32, steps=1_900)}
    networks = ()  # the synthesis network's styles, noise and growth are the model's own

    def __init__(self, config: StyleGANConfig):
        super().__init__(config)
        self.side = fitted_side(config)
        channels = config.data_shape[0]
        self.generator = StyleGenerator(channels, self.side, config)
        self.discriminator = StyleDiscriminator(channels, self.side, config.width, config.mbstd_group)
        self.register_buffer("pl_mean", torch.zeros(()))
        self.stabilise()

    # --- data at the networks' side ------------------------------------------------------------

    def to_network(self, x: torch.Tensor) -> torch.Tensor:
        """Data images in [0, 1] -> [-1, 1] at the fitted power-of-two side."""
        x = 2 * x - 1
        side = x.shape[-1]
        if side == self.side:
            return x
        if self.config.fit == "pad":
            before = (self.side - side) // 2
            return F.pad(x, (before, self.side - side - before) * 2, value=-1.0)
        return F.interpolate(x, size=(self.side, self.side), mode="bilinear", align_corners=False)

    def to_data(self, image: torch.Tensor) -> torch.Tensor:
        """Network images in [-1, 1] -> data images in [0, 1] of the data's side."""
        side = self.config.data_shape[-1]
        if side != self.side:
            if self.config.fit == "pad":
                before = (self.side - side) // 2
                image = image[..., before:before + side, before:before + side]
            else:
                image = F.interpolate(image, size=(side, side), mode="area")
        return ((image + 1) / 2).clamp(0, 1)

    def real_at_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Real images as the growing generator can make them: averaged down to the stage's
        side (blended with the side below during a fade-in), then upsampled back."""
        stage, alpha = self.generator.growth()
        side = 4 * 2 ** stage
        if side == self.side:
            return x if alpha == 1 else blend(F.avg_pool2d(x, 2), x, alpha)
        factor = self.side // side
        low = F.avg_pool2d(x, factor)
        if alpha < 1:
            low = blend(F.avg_pool2d(x, 2 * factor), low, alpha)
        return F.interpolate(low, scale_factor=factor, mode="nearest")

    # --- training -------------------------------------------------------------------------------

    def mixed_ws(self, n: int) -> torch.Tensor:
        """Styles of n fresh codes; with probability mixing_prob those of a second code take
        over from a random layer on (style-mixing regularisation)."""
        g = self.generator
        ws = g.ws(torch.randn(n, self.config.latent_dim, device=self.device))
        if self.config.mixing_prob > 0 and float(torch.rand(())) < self.config.mixing_prob:
            cut = int(torch.randint(1, g.num_ws, ()))
            other = g.ws(torch.randn(n, self.config.latent_dim, device=self.device))
            ws = torch.cat([ws[:, :cut], other[:, cut:]], 1)
        return ws

    def at_step(self, state) -> int:
        """Steps done before this one: from the trainer's state, or as the generator records
        them when a step is taken outside the trainer; the generator is set to it."""
        g = self.generator
        if state is None:
            return int(g.steps_done)
        g.steps_done.fill_(state.step - 1)
        return state.step - 1  # not read back from the buffer: no host-device sync per step

    def d_step(self, x, y=None, state=None):
        cfg = self.config
        done = self.at_step(state)
        with torch.no_grad():
            fake = self.generator.synthesize(self.mixed_ws(len(x)))
        lazy_r1 = cfg.r1 > 0 and done % cfg.r1_every == 0
        real = self.real_at_stage(self.to_network(x))
        if lazy_r1:
            real = real.detach().requires_grad_(True)
        return self.d_outputs(self.discriminator(real), self.discriminator(fake), real,
                              r1_scale=cfg.r1_every if lazy_r1 else 0)

    def g_step(self, x, y=None, state=None):
        g, cfg = self.generator, self.config
        done = self.at_step(state)
        ws = self.mixed_ws(len(x))
        loss = GENERATOR_LOSSES[cfg.loss](self.discriminator(g.synthesize(ws)))
        out = {}
        if cfg.pl_weight > 0 and done % PL_EVERY == 0:
            out["path_length"] = self.path_length_penalty(len(x))
            loss = loss + PL_EVERY * cfg.pl_weight * out["path_length"]
        with torch.no_grad():
            g.w_avg.lerp_(ws[:, 0].mean(0), 1 - W_AVG_BETA)
            g.steps_done.fill_(done + 1)
        stage, alpha = g.growth()
        return {"loss": loss, **out, "stage": torch.tensor(float(stage)), "alpha": torch.tensor(alpha)}

    def path_length_penalty(self, n: int) -> torch.Tensor:
        """(|J_w^T y| - a)^2 for y ~ N(0, I) / sqrt(pixels); a is a running mean (decay 0.99)."""
        g = self.generator
        ws = g.ws(torch.randn(max(1, n // 2), self.config.latent_dim, device=self.device))
        image = g.synthesize(ws)
        y = torch.randn_like(image) / math.sqrt(image.shape[2] * image.shape[3])
        (grad,) = torch.autograd.grad((image * y).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.mean(), 0.01)
        return (lengths - self.pl_mean).square().mean()

    # --- sampling ----------------------------------------------------------------------------------

    def _z(self, n: int, generator) -> torch.Tensor:
        return standard_normal((n, self.config.latent_dim), generator, self.device)

    def sample(self, n, *, labels=None, generator=None, **settings):
        """``n`` images in [0, 1]; ``settings``: ``truncation`` psi in [0, 1] pulls w towards
        its average; ``noise`` is ``random`` (drawn from ``generator``), ``const`` (fixed per
        layer) or ``none`` (:class:`StyleGANSampling`)."""
        self._check_labels(n, labels)
        s = self.sampling(settings)
        ws = self.sampler.ws(self._z(n, generator), s.truncation)
        return self.to_data(self.sampler.synthesize(ws, s.noise, generator))

    def from_noise(self, z, *, labels=None, **settings):
        """Images of codes ``z`` at ``settings`` (truncation; noise ``const`` unless asked, so
        that a walk is deterministic)."""
        self._check_labels(len(z), labels)
        s = self.sampling({"noise": "const", **settings})
        return self.to_data(self.sampler.synthesize(self.sampler.ws(z.to(self.device), s.truncation), s.noise))

    def w(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """(B, w_dim) intermediate latents of ``z``, e.g. to interpolate in w."""
        truncation = self.sampling({"truncation": truncation}).truncation
        return self.sampler.ws(z.to(self.device), truncation)[:, 0]

    def synthesize(self, w: torch.Tensor, noise: str = "const", generator=None) -> torch.Tensor:
        """Images in [0, 1] from w (B, w_dim) or per-layer styles (B, num_ws, w_dim)."""
        noise = self.sampling({"noise": noise}).noise
        ws = w[:, None].expand(-1, self.sampler.num_ws, -1) if w.dim() == 2 else w
        return self.to_data(self.sampler.synthesize(ws.to(self.device), noise, generator))

    def mix(self, z_coarse: torch.Tensor, z_fine: torch.Tensor, crossover_layer: int, *,
            truncation: float = 1.0, noise: str = "const") -> torch.Tensor:
        """Images whose styles before ``crossover_layer`` come from ``z_coarse`` and from it on
        from ``z_fine`` (layers 0 .. num_ws - 1; 0 is the 4x4 layer)."""
        num_ws = self.sampler.num_ws
        if not 1 <= crossover_layer < num_ws:
            raise ConfigError(f"crossover_layer must lie in 1..{num_ws - 1} ({num_ws} style layers), got {crossover_layer}")
        s = self.sampling({"truncation": truncation, "noise": noise})
        truncation, noise = s.truncation, s.noise
        coarse, fine = (self.sampler.ws(z.to(self.device), truncation) for z in (z_coarse, z_fine))
        ws = torch.cat([coarse[:, :crossover_layer], fine[:, crossover_layer:]], 1)
        return self.to_data(self.sampler.synthesize(ws, noise))

    def pictures(self, generator):
        """A run's mixing.png: coarse styles by row, fine styles by column."""
        return {"mixing.png": (self.mixing_grid(rows=6, cols=8, generator=generator), 9)}

    def upgrade_state(self, state: dict) -> dict:
        """An older genlab kept the EMA's warm-up count as the generator's step count."""
        state = super().upgrade_state(state)
        if self.config.ema and "generator_ema.updates" not in state and "generator.steps_done" in state:
            state["generator_ema.updates"] = state["generator.steps_done"].clone()
        return state

    def mixing_grid(self, rows: int = 4, cols: int = 6, crossover_layer: int | None = None,
                    generator=None, truncation: float = 1.0) -> torch.Tensor:
        """A (1 + rows) x (1 + cols) grid: the top row shows the fine-style sources, the left
        column the coarse-style sources, cell (i, j) the coarse styles of row i with the fine
        styles of column j; the corner is blank. Returns the images, row by row."""
        cut = crossover_layer or max(1, self.sampler.num_ws // 2)
        z_rows, z_cols = self._z(rows, generator), self._z(cols, generator)
        corner = torch.zeros(1, *self.config.data_shape, device=self.device)
        top = torch.cat([corner, self.mix(z_cols, z_cols, cut, truncation=truncation)])
        lines = [top]
        for i in range(rows):
            left = self.mix(z_rows[i:i + 1], z_rows[i:i + 1], cut, truncation=truncation)
            cells = self.mix(z_rows[i:i + 1].expand(cols, -1), z_cols, cut, truncation=truncation)
            lines.append(torch.cat([left, cells]))
        return torch.cat(lines)
