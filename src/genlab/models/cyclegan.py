"""CycleGAN: unpaired translation between two image domains.

Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks". Two generators, G_ab: A -> B and G_ba: B -> A, and a discriminator for each
domain. Each generator plays a GAN game against the discriminator of the domain it writes
into, and the cycle-consistency loss asks that translating there and back returns the input,
|G_ba(G_ab(a)) - a|_1 and |G_ab(G_ba(b)) - b|_1, which is what ties a translated image to its
source when no pairs are given. An optional identity loss |G_ab(b) - b|_1 + |G_ba(a) - a|_1
keeps images that already belong to the target domain unchanged (section 5.2).

The adversarial loss is least squares (Mao et al. 2017) as in the paper, or the
non-saturating loss of ``gan.py``. The discriminators see generated images through a pool of
the last ``pool_size`` generated images (``nn/cyclegan.py``), which damps oscillation. Adam at
lr 2e-4, beta1 0.5; the networks are in ``nn/cyclegan.py``, sized from the image shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import AdamSettings, check, check_positive
from ..errors import ConfigError, DataError
from ..nn.cyclegan import ImagePool, PatchDiscriminator, ResnetGenerator, check_image_shape
from .base import Model, Phase

DIRECTIONS = ("a2b", "b2a")


@dataclass
class CycleGANConfig(AdamSettings):
    data_shape: tuple[int, ...] = (1, 28, 28)  # (C, S, S) images in [0, 1], S >= 8, both domains
    width: int = 32  # generators' first-layer channels (the paper's 64)
    d_width: int = 32  # discriminators' first-layer channels (the paper's 64)
    res_blocks: int = 4  # residual blocks in each generator (the paper: 6 at 128x128, 9 at 256x256)
    loss: Literal["lsgan", "nonsaturating"] = "lsgan"
    cycle_weight: float = 10.0  # lambda of the cycle-consistency loss
    identity_weight: float = 0.0  # the paper uses 0.5 x cycle_weight for paintings <-> photos
    pool_size: int = 50  # 0 turns the image pool off

    def __post_init__(self):
        super().__post_init__()
        check_image_shape(tuple(self.data_shape))
        check_positive(self, "width", "d_width")
        check(self.res_blocks >= 0 and self.pool_size >= 0,
              f"res_blocks and pool_size must be 0 or more, got {self.res_blocks} and {self.pool_size}")
        check(self.cycle_weight >= 0 and self.identity_weight >= 0,
              f"cycle_weight and identity_weight must be 0 or more, got {self.cycle_weight} and {self.identity_weight}")
        check(self.loss in ("lsgan", "nonsaturating"), f"loss must be lsgan or nonsaturating, got {self.loss!r}")


def generator_loss(logits: torch.Tensor, kind: str) -> torch.Tensor:
    """The generator's side of the game: least squares (D(G(x)) - 1)^2, or -log D(G(x))."""
    if kind == "lsgan":
        return (logits - 1).pow(2).mean()
    return F.softplus(-logits).mean()


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Half the discriminator's loss, as in the paper, so that D learns slower than G."""
    if kind == "lsgan":
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())
    return 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())


class CycleGAN(Model):
    name = "cyclegan"
    Config = CycleGANConfig
    data_kinds = ("image",)
    two_domains = True
    translates = True
    networks = ("g_ab", "g_ba", "d_a", "d_b")
    presets = {"mnist5k-inverted": dict(width=16, d_width=16, res_blocks=3, batch_size=16, steps=1_500)}

    def __init__(self, config: CycleGANConfig, **networks):
        super().__init__(config, **networks)
        shape = tuple(config.data_shape)
        self.g_ab = self.network_for("g_ab", lambda: ResnetGenerator(shape, config.width, config.res_blocks))
        self.g_ba = self.network_for("g_ba", lambda: ResnetGenerator(shape, config.width, config.res_blocks))
        self.d_a = self.network_for("d_a", lambda: PatchDiscriminator(shape, config.d_width))
        self.d_b = self.network_for("d_b", lambda: PatchDiscriminator(shape, config.d_width))
        self.pool_a = ImagePool(config.pool_size, shape)  # generated images of A, for d_a
        self.pool_b = ImagePool(config.pool_size, shape)
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None  # the last generator step's, for d's

    def network_examples(self):
        """g_ab, g_ba: (B, C, S, S) images in [-1, 1] -> the same shape; d_a, d_b: images ->
        (B, 1, P, P) patch logits (any P: the losses average them)."""
        shape = tuple(self.config.data_shape)
        x = torch.zeros(2, *shape)
        patch = tuple(self.d_a(x).shape) if "d_a" not in self.user_networks else tuple(self.d_b(x).shape)
        return {"g_ab": ((x,), (2, *shape)), "g_ba": ((x,), (2, *shape)),
                "d_a": ((x,), patch), "d_b": ((x,), patch)}

    def generators(self) -> nn.ModuleList:
        return nn.ModuleList([self.g_ab, self.g_ba])

    def discriminators(self) -> nn.ModuleList:
        return nn.ModuleList([self.d_a, self.d_b])

    def optimizers(self):
        c = self.config
        return {"g": torch.optim.Adam(self.generators().parameters(), lr=c.lr, betas=(c.beta1, c.beta2)),
                "d": torch.optim.Adam(self.discriminators().parameters(), lr=c.lr, betas=(c.beta1, c.beta2))}

    def phases(self):
        return [Phase("g", "g", self.g_step), Phase("d", "d", self.d_step)]

    # --- the game ----------------------------------------------------------------------------

    @staticmethod
    def _domains(x) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(x, (tuple, list)):
            raise DataError("cyclegan trains on two domains: pass (x_a, x_b)")
        a, b = x
        return 2 * a - 1, 2 * b - 1                                      # [0, 1] -> [-1, 1]

    def g_step(self, x, y=None, state=None):
        c = self.config
        a, b = self._domains(x)
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        adversarial = (generator_loss(self.d_b(fake_b), c.loss) + generator_loss(self.d_a(fake_a), c.loss))
        cycle = (self.g_ba(fake_b) - a).abs().mean() + (self.g_ab(fake_a) - b).abs().mean()
        loss = adversarial + c.cycle_weight * cycle
        out = {"adversarial": adversarial.detach(), "cycle_l1": cycle.detach()}
        if c.identity_weight > 0:
            identity = (self.g_ab(b) - b).abs().mean() + (self.g_ba(a) - a).abs().mean()
            loss = loss + c.identity_weight * identity
            out["identity_l1"] = identity.detach()
        self._fakes = (fake_a.detach(), fake_b.detach())
        return {"loss": loss, **out}

    def d_step(self, x, y=None, state=None):
        a, b = self._domains(x)
        if self._fakes is None:  # a discriminator step before any generator step
            with torch.no_grad():
                self._fakes = (self.g_ba(b), self.g_ab(a))
        fake_a, fake_b = self._fakes
        fake_a, fake_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
        real_a, real_b = self.d_a(a), self.d_b(b)
        loss = (discriminator_loss(real_a, self.d_a(fake_a), self.config.loss)
                + discriminator_loss(real_b, self.d_b(fake_b), self.config.loss))
        return {"loss": loss, "d_real_b": real_b.detach().mean()}

    # --- use -----------------------------------------------------------------------------------

    def translate(self, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Images (N, C, S, S) in [0, 1] of domain A (``"a2b"``) or B (``"b2a"``), translated."""
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction must be a2b or b2a, got {direction!r}")
        shape = tuple(self.config.data_shape)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise DataError(f"cyclegan translates images of shape {shape}, got {tuple(x.shape)}")
        net = self.g_ab if direction == "a2b" else self.g_ba
        return (net(2 * x.to(self.device) - 1) + 1) / 2

    def cycle(self, x: torch.Tensor, direction: str = "a2b") -> tuple[torch.Tensor, torch.Tensor]:
        """(translated, reconstructed): ``x`` there and back again."""
        there = self.translate(x, direction)
        return there, self.translate(there, "b2a" if direction == "a2b" else "a2b")

    def translation_grid(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Rows of images for a picture: A inputs, A -> B, A -> B -> A, then the same for B."""
        ab, aba = self.cycle(a, "a2b")
        ba, bab = self.cycle(b, "b2a")
        return torch.cat([a.to(ab), ab, aba, b.to(ab), ba, bab])

    def evaluate(self, data) -> dict[str, float]:
        """Mean absolute cycle error on held-out images of each domain (images in [0, 1])."""
        if data.domain is None:
            return {}
        out = {}
        for which, direction in (("a", "a2b"), ("b", "b2a")):
            x = data.part(which).x[:1000]
            out[f"cycle_l1_{which}"] = float((self.cycle(x, direction)[1].cpu() - x).abs().mean())
        return out

    def sample(self, n, *, labels=None, generator=None, **settings):
        raise ConfigError("cyclegan translates images rather than drawing them from noise: use "
                          "model.translate(x, direction='a2b'), or `genlab sample RUN`, which translates "
                          "held-out images of the run's domain A")
