"""VAE-GAN: a VAE whose reconstruction error is measured in a discriminator's feature space.

Larsen, Sonderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a learned
similarity metric". A pixel-wise error calls a slightly shifted image far and a blurry one
near; VAE-GAN replaces it by a Gaussian log-likelihood on the features Dis_l of a hidden
layer of a GAN discriminator, and adds the GAN game. With x~ = Dec(z), z ~ q(z|x) and
x_p = Dec(z_p), z_p ~ N(0, I) (section 2, eqs. 6-9 and Algorithm 1):

    L_prior  = KL(q(z|x) || N(0, I))
    L_llike  = -E_q log N(Dis_l(x) | Dis_l(x~), I) = 1/2 ||Dis_l(x) - Dis_l(x~)||^2 + const
    L_GAN    = log Dis(x) + log(1 - Dis(x~)) + log(1 - Dis(x_p))

and each network gets only its own error signal (section 2.2): the encoder minimises
L_prior + L_llike, the decoder gamma * L_llike - L_GAN (gamma weighs reconstructing against
fooling the discriminator), the discriminator maximises L_GAN. The decoder's GAN term is
used in its non-saturating form, -log Dis(x~) - log Dis(x_p) (Goodfellow et al. 2014); L_GAN
never reaches the encoder. The three updates are three training phases. ``beta`` weighs
L_prior (1 in the paper). Dis_l is the last hidden layer of the discriminator (the last
convolution's feature map for the conv backbone); networks from ``nn/autoencoder.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import AdamSettings, check
from ..nn.autoencoder import Encoder
from .autoencoding import Autoencoding, BackboneConfig, build_networks
from .base import Phase
from .vae import gaussian_kl


@dataclass
class VAEGANConfig(BackboneConfig, AdamSettings):
    latent_dim: int = 16
    beta: float = 1.0  # weight of L_prior in the encoder's loss
    gamma: float = 1.0  # weight of L_llike against the GAN loss in the decoder's loss
    lr: float = 3e-4   # the paper's learning rate (RMSProp there; Adam here as in DCGAN)

    def __post_init__(self):
        super().__post_init__()
        check(self.beta >= 0, f"beta must be non-negative, got {self.beta}")
        check(self.gamma >= 0, f"gamma must be non-negative, got {self.gamma}")


class VAEGAN(Autoencoding):
    name = "vaegan"
    Config = VAEGANConfig
    networks = ("encoder", "decoder", "discriminator")
    presets = {"mnist5k": dict(backbone="conv", width=32, latent_dim=16, batch_size=64, steps=3_000)}

    def __init__(self, config: VAEGANConfig, **user_networks):
        super().__init__(config, **user_networks)
        self.is_image = len(config.data_shape) == 3
        self.encoder, self.decoder = build_networks(self, *self.code_sizes())
        self.discriminator = self.network_for("discriminator", lambda: Encoder(
            tuple(config.data_shape), 1, backbone=config.backbone, hidden=config.hidden, layers=config.layers,
            width=config.width, activation="leaky_relu"))

    def code_sizes(self) -> tuple[int, int]:
        return 2 * self.config.latent_dim, 1

    def network_examples(self):
        """As the family's, and the discriminator: (B, *data_shape) -> (B, 1) logits, with a
        ``features(x)`` method giving the layer whose distances measure reconstructions."""
        shape = tuple(self.config.data_shape)
        return {**super().network_examples(), "discriminator": ((torch.zeros(2, *shape),), (2, 1))}

    # --- the three networks -------------------------------------------------------------------

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z).view(len(z), *self.config.data_shape)
        return torch.sigmoid(out) if self.is_image else out        # images in [0, 1], points as-is

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]                                # mean of q(z|x)

    def from_noise(self, z, *, labels=None):
        self._check_labels(len(z), labels)
        return self.decode(z.to(self.device))

    def optimizers(self):
        betas, lr = (self.config.beta1, self.config.beta2), self.config.lr
        return {name: torch.optim.Adam(getattr(self, net).parameters(), lr=lr, betas=betas)
                for name, net in (("enc", "encoder"), ("dec", "decoder"), ("dis", "discriminator"))}

    def phases(self):
        """Algorithm 1's three updates, each on its own error signal."""
        return [Phase("encoder", "enc", self.encoder_step), Phase("decoder", "dec", self.decoder_step),
                Phase("discriminator", "dis", self.discriminator_step)]

    # --- the losses of Algorithm 1 -----------------------------------------------------------------

    def _code(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z ~ q(z|x) by the reparameterisation trick, KL(q(z|x) || p(z)) per example)."""
        mu, logvar = self.posterior(x)
        return mu + (0.5 * logvar).exp() * torch.randn_like(mu), gaussian_kl(mu, logvar)

    def _prior_samples(self, n: int) -> torch.Tensor:
        return self.decode(torch.randn(n, self.config.latent_dim, device=self.device))  # x_p = Dec(z_p)

    def feature_llike(self, x: torch.Tensor, tilde_features: torch.Tensor) -> torch.Tensor:
        """L_llike^{Dis_l}: 1/2 ||Dis_l(x) - Dis_l(x~)||^2 per example, averaged (eq. 8)."""
        with torch.no_grad():
            target = self.discriminator.features(x)               # (B, F), a fixed target
        return 0.5 * (tilde_features - target).pow(2).sum(1).mean()

    def encoder_step(self, x, y=None, state=None):
        z, kl = self._code(x)
        llike, prior = self.feature_llike(x, self.discriminator.features(self.decode(z))), kl.mean()
        return {"loss": self.config.beta * prior + llike, "kl": prior, "feature_llike": llike}

    def decoder_step(self, x, y=None, state=None):
        with torch.no_grad():                                      # only the decoder learns here
            z, _ = self._code(x)
        tilde_features = self.discriminator.features(self.decode(z))
        fake_logits = torch.cat([self.discriminator.head(tilde_features),
                                 self.discriminator(self._prior_samples(len(x)))])
        gan = 2 * F.softplus(-fake_logits).mean()                  # -log Dis(x~) - log Dis(x_p), non-saturating
        return {"loss": self.config.gamma * self.feature_llike(x, tilde_features) + gan, "dec_gan": gan}

    def discriminator_step(self, x, y=None, state=None):
        """-L_GAN: real x labelled 1, reconstructions x~ and prior samples x_p labelled 0."""
        with torch.no_grad():
            fakes = torch.cat([self.decode(self._code(x)[0]), self._prior_samples(len(x))])
        real_logits, fake_logits = self.discriminator(x), self.discriminator(fakes)
        loss = F.softplus(-real_logits).mean() + 2 * F.softplus(fake_logits).mean()  # the three terms' means
        return {"loss": loss, "d_real": torch.sigmoid(real_logits).mean().detach(),
                "d_fake": torch.sigmoid(fake_logits).mean().detach()}
