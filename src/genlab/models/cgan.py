"""Class-conditional GAN.

Mirza & Osindero 2014, "Conditional Generative Adversarial Nets": the generator and the
discriminator both see the class y, so the game matches p_g(x | y) to p_data(x | y). The
generator takes an embedding of y concatenated to z. The discriminator either takes the
embedding concatenated to its input (``concat``: extra input features for the MLP, extra
constant channels for the conv net), or uses the projection discriminator of Miyato &
Koyama 2018, "cGANs with Projection Discriminator", eq. 3:
logit(x, y) = psi(phi(x)) + embed(y) . phi(x).

Backbones: ``mlp`` (``nn/mlp.py``; points or images) or ``conv`` (the DCGAN blocks of
``nn/dcgan.py``; square images). Images are mapped to [-1, 1] inside the model (tanh
output), as in DCGAN. Training uses the labels y of each real batch for the fakes too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..config import check, check_positive, check_shape
from ..errors import DataError
from ..nn import mlp
from ..nn.dcgan import ConvFeatures, ConvGenerator, image_plan
from .adversarial import GENERATOR_LOSSES, Adversarial, AdversarialConfig


@dataclass
class CGANConfig(AdversarialConfig):
    data_shape: tuple[int, ...] = (2,)  # (d,) for points; (C, H, W) for images in [0, 1]
    num_classes: int = 10
    latent_dim: int = 32
    embed_dim: int = 16  # size of the class embedding fed to G (and to D with concat)
    backbone: Literal["mlp", "conv"] = "mlp"
    discriminator: Literal["concat", "projection"] = "concat"  # how D sees the label
    hidden: int = 256  # mlp backbone: width and number of hidden layers
    layers: int = 2
    width: int = 32  # conv backbone: base channels

    def __post_init__(self):
        super().__post_init__()
        check_shape(self.data_shape)
        if self.backbone == "conv":
            image_plan(self.data_shape, "cgan with backbone='conv'")
        check(self.num_classes > 0, f"cgan needs labelled data: num_classes must be positive, got {self.num_classes}")
        check_positive(self, "latent_dim", "embed_dim", "hidden", "layers", "width")


class Generator(nn.Module):
    """(z, y) -> x in model space: G(concat(z, embed(y)))."""

    def __init__(self, c: CGANConfig):
        super().__init__()
        self.shape, is_image = tuple(c.data_shape), len(c.data_shape) == 3
        self.embed = nn.Embedding(c.num_classes, c.embed_dim)
        in_dim = c.latent_dim + c.embed_dim
        if c.backbone == "conv":
            self.net = ConvGenerator(in_dim, self.shape, c.width)
        else:
            body = mlp(in_dim, math.prod(self.shape), c.hidden, c.layers, "relu")
            self.net = nn.Sequential(body, nn.Tanh()) if is_image else body

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(y)], 1)).view(len(z), *self.shape)


class Discriminator(nn.Module):
    """(x, y) -> logits (B,): concat or projection conditioning on features phi(x)."""

    def __init__(self, c: CGANConfig):
        super().__init__()
        self.concat = c.discriminator == "concat"
        extra = c.embed_dim if self.concat else 0
        if c.backbone == "conv":
            self.phi = ConvFeatures(c.data_shape, c.width, extra_channels=extra)
            out_dim = self.phi.out_dim
        else:  # hidden layers of mlp(), each followed by LeakyReLU(0.2)
            body = mlp(math.prod(c.data_shape) + extra, c.hidden, c.hidden, c.layers - 1, "leaky_relu")
            self.phi, out_dim = nn.Sequential(nn.Flatten(), body, nn.LeakyReLU(0.2)), c.hidden
        self.psi = nn.Linear(out_dim, 1)
        self.embed = nn.Embedding(c.num_classes, c.embed_dim if self.concat else out_dim)
        nn.init.xavier_uniform_(self.embed.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        e = self.embed(y)                                          # (B, E) or (B, F)
        if not self.concat:  # Miyato & Koyama 2018, eq. 3
            h = self.phi(x)                                        # (B, F)
            return self.psi(h).squeeze(1) + (e * h).sum(1)
        if x.dim() == 4 and isinstance(self.phi, ConvFeatures):    # label as E constant channels
            x = torch.cat([x, e[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        else:
            x = torch.cat([x.flatten(1), e], 1)
        return self.psi(self.phi(x)).squeeze(1)


class CGAN(Adversarial):
    name = "cgan"
    Config = CGANConfig
    presets = {"mnist5k": dict(backbone="conv", discriminator="projection", width=32, latent_dim=100,
                               batch_size=128, steps=3_000)}  # benchmarks/image_gans.py

    def __init__(self, config: CGANConfig, **networks):
        super().__init__(config, **networks)
        self.is_image = len(config.data_shape) == 3
        self.generator = self.network_for("generator", lambda: Generator(config))
        self.discriminator = self.network_for("discriminator", lambda: Discriminator(config))
        self.stabilise()

    def network_examples(self):
        """generator: (z (B, latent_dim), y (B,)) -> (B, *data_shape) (images in [-1, 1]);
        discriminator: (x (B, *data_shape), y (B,)) -> (B,) logits."""
        shape, y = tuple(self.config.data_shape), torch.zeros(2, dtype=torch.long)
        return {"generator": ((torch.zeros(2, self.config.latent_dim), y), (2, *shape)),
                "discriminator": ((torch.zeros(2, *shape), y), (2,))}

    @property
    def conditional(self) -> bool:
        return True

    def from_noise(self, z, *, labels=None):
        x = self.sampler(z.to(self.device), self.labels_for(len(z), labels))
        return (x + 1) / 2 if self.is_image else x                 # images: [-1, 1] -> [0, 1]

    def _fakes(self, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise DataError("cgan needs class labels y with every batch; train it on labelled data")
        return self.generator(torch.randn(len(y), self.config.latent_dim, device=self.device), y)

    def d_step(self, x, y=None, state=None):
        with torch.no_grad():
            fake = self._fakes(y)
        real = self.real_input(2 * x - 1 if self.is_image else x)
        return self.d_outputs(self.discriminator(real, y), self.discriminator(fake, y), real)

    def g_step(self, x, y=None, state=None):
        fake_logits = self.discriminator(self._fakes(y), y)
        return {"loss": GENERATOR_LOSSES[self.config.loss](fake_logits)}
