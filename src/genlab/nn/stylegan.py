"""StyleGAN's networks: mapping, style-modulated synthesis grown by resolution, discriminator.

Karras et al. 2019, "A Style-Based Generator Architecture for GANs" (StyleGAN), and Karras et
al. 2020, "Analyzing and Improving the Image Quality of StyleGAN" (StyleGAN2). genlab takes:

- the mapping network z -> w, an MLP of equalised-learning-rate layers with a learning-rate
  multiplier of 0.01 on normalised z (StyleGAN, section 2);
- the synthesis network from a learned 4x4 constant, with StyleGAN2's modulated and
  demodulated 3x3 convolutions in place of AdaIN (StyleGAN2, section 2.2: AdaIN's
  normalisation of each feature map causes the "droplet" artefacts), a per-layer noise input
  with a learned strength, a bias and a leaky ReLU;
- growing resolution as in progressive GANs (Karras et al. 2018): the generator's output at
  stage s is toRGB_s at side 4 * 2^s; while stage s fades in, the image is
  (1 - alpha) * upsample(toRGB_{s-1}) + alpha * toRGB_s, alpha rising linearly. The image is
  then upsampled (nearest) to the full side, and the real images are shown to the
  discriminator at the same resolution and blend, so the discriminator keeps one
  architecture;
- a discriminator of equalised 3x3 convolutions and average pooling down to 4x4, with the
  minibatch standard deviation feature of progressive GANs before its last layers.

Equalised learning rate (Karras et al. 2018, section 4.1): weights are drawn from N(0, 1) and
scaled by He's constant at run time, so Adam's per-parameter step sizes suit every layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2)


class EqualLinear(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, *, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale, self.lr_mul, self.activation = lr_mul / math.sqrt(in_dim), lr_mul, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(x, 0.2) * LRELU_GAIN if self.activation else x


class EqualConv2d(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, activation: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.scale, self.activation = 1 / math.sqrt(in_ch * kernel * kernel), activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)
        return F.leaky_relu(x, 0.2) * LRELU_GAIN if self.activation else x


class MappingNetwork(nn.Module):
    """(B, z_dim) -> (B, w_dim): normalise z to the unit sphere (times sqrt(dim)), then an MLP."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float = 0.01):
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activation=True) for a, b in zip(dims, dims[1:])])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
        return self.net(z)


class ModulatedConv2d(nn.Module):
    """StyleGAN2's convolution: scale the input channels of the weight by the style
    s = A(w), then (demodulate) rescale each output channel to unit expected norm."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)        # styles start at 1
        self.scale, self.demodulate = 1 / math.sqrt(in_ch * kernel * kernel), demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        b, c, h, width = x.shape
        style = self.affine(w)                                           # (B, in)
        weight = self.scale * self.weight[None] * style[:, None, :, None, None]  # (B, out, in, k, k)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.square().sum((2, 3, 4), keepdim=True) + 1e-8)
        out_ch, k = weight.shape[1], weight.shape[-1]
        x = F.conv2d(x.reshape(1, b * c, h, width), weight.reshape(b * out_ch, c, k, k), padding=k // 2, groups=b)
        return x.reshape(b, out_ch, h, width)


class StyledLayer(nn.Module):
    """Modulated 3x3 convolution, then noise times a learned strength, bias and leaky ReLU."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, side: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.register_buffer("noise_const", torch.randn(1, 1, side, side))  # for noise="const"

    def forward(self, x, w, noise: str = "random", generator: torch.Generator | None = None):
        x = self.conv(x, w)
        if noise == "random":
            shape = (x.shape[0], 1, *x.shape[2:])
            draw = torch.randn(shape, generator=generator, device="cpu" if generator is None else generator.device)
            x = x + self.noise_strength * draw.to(x)
        elif noise == "const":
            x = x + self.noise_strength * self.noise_const
        return F.leaky_relu(x + self.bias[None, :, None, None], 0.2) * LRELU_GAIN


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x, w):
        return self.conv(x, w) + self.bias[None, :, None, None]


def growth(step: int, grow_steps: int, stages: int) -> tuple[int, float]:
    """(stage, alpha) after ``step`` training steps: stage s lasts ``grow_steps`` steps and
    fades in over the first half of them; ``grow_steps = 0`` trains the top stage from the start."""
    if grow_steps <= 0:
        return stages, 1.0
    stage = min(step // grow_steps, stages)
    if stage == 0:
        return 0, 1.0
    fade = max(1, grow_steps // 2)
    return stage, min(1.0, (step - stage * grow_steps) / fade)


def blend(low: torch.Tensor, high: torch.Tensor, alpha: float) -> torch.Tensor:
    """The fade-in: ``low`` (side S/2) upsampled to side S, mixed with ``high`` by ``alpha``."""
    return torch.lerp(F.interpolate(low, scale_factor=2, mode="nearest"), high, alpha)


class Synthesis(nn.Module):
    """(B, num_ws, w_dim) styles -> (B, C, 4 * 2^stage, same) images, in [-1, 1] once trained.

    Style index 0 drives the 4x4 layer; block s (side 4 * 2^s) uses indices 2s - 1 and 2s;
    each toRGB uses the style of the last layer before it. Coarse styles (low indices) act
    at low resolution, fine styles at high resolution.
    """

    def __init__(self, channels: int, stages: int, width: int, w_dim: int):
        super().__init__()
        self.stages = stages
        self.num_ws = 1 + 2 * stages
        self.const = nn.Parameter(torch.randn(1, width, 4, 4))
        self.layers = nn.ModuleList([StyledLayer(width, width, w_dim, 4)])
        self.to_rgb = nn.ModuleList([ToRGB(width, channels, w_dim)])
        for s in range(1, stages + 1):
            side = 4 * 2 ** s
            self.layers.extend([StyledLayer(width, width, w_dim, side), StyledLayer(width, width, w_dim, side)])
            self.to_rgb.append(ToRGB(width, channels, w_dim))

    def forward(self, ws: torch.Tensor, stage: int | None = None, alpha: float = 1.0, noise: str = "random",
                generator: torch.Generator | None = None) -> torch.Tensor:
        stage = self.stages if stage is None else stage
        x = self.layers[0](self.const.expand(len(ws), -1, -1, -1), ws[:, 0], noise, generator)
        previous = x
        for s in range(1, stage + 1):
            previous = x
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = self.layers[2 * s - 1](x, ws[:, 2 * s - 1], noise, generator)
            x = self.layers[2 * s](x, ws[:, 2 * s], noise, generator)
        image = self.to_rgb[stage](x, ws[:, 2 * stage])
        if stage > 0 and alpha < 1:
            image = blend(self.to_rgb[stage - 1](previous, ws[:, 2 * stage - 2]), image, alpha)
        return image


class StyleDiscriminator(nn.Module):
    """(B, C, S, S) images -> (B,) logits: fromRGB, (conv, conv, pool) blocks to 4x4, the
    minibatch standard deviation as one more feature map, a conv and two linear layers."""

    def __init__(self, channels: int, side: int, width: int, group: int = 0):
        super().__init__()
        self.group = group  # examples per minibatch-std group; 0: the whole batch
        layers: list[nn.Module] = [EqualConv2d(channels, width, 1)]
        while side > 4:
            layers += [EqualConv2d(width, width, 3), EqualConv2d(width, width, 3), nn.AvgPool2d(2)]
            side //= 2
        self.trunk = nn.Sequential(*layers)
        self.final = EqualConv2d(width + 1, width, 3)
        self.fc = EqualLinear(width * 16, width, activation=True)
        self.out = EqualLinear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.trunk(x)
        x = torch.cat([x, self.minibatch_std(x)], 1)
        return self.out(self.fc(self.final(x).flatten(1))).squeeze(1)

    def minibatch_std(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W): the standard deviation of the features over a group of examples,
        averaged over features and positions — the diversity of the group, which a collapsed
        generator's batches lack. Groups are examples i, i + B/G, i + 2B/G, ... as in
        progressive GANs; a batch that does not split into groups forms one."""
        b = len(x)
        if b < 2:
            return x.new_zeros(b, 1, *x.shape[2:])
        g = self.group if 0 < self.group < b and b % self.group == 0 else b
        std = x.reshape(g, b // g, *x.shape[1:]).std(0, unbiased=False).mean((1, 2, 3))  # (B/G,)
        return std.repeat(g)[:, None, None, None].expand(b, 1, *x.shape[2:])
