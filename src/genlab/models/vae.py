"""Variational autoencoder with MLP encoder and decoder.

Kingma & Welling 2014, "Auto-Encoding Variational Bayes". The encoder gives
q(z|x) = N(mu, diag sigma^2); a sample z = mu + sigma * eps (the reparameterisation trick,
section 2.4) goes through the decoder to p(x|z); training maximises the evidence lower bound
ELBO = E_q log p(x|z) - beta * KL(q(z|x) || N(0, I)), with beta = 1 the true bound
(beta > 1 as in Higgins et al. 2017).

Decoders: ``bernoulli`` for binary data, and ``gaussian`` with a per-dimension mean and
log-variance. On quantised images (``n_bins`` > 0) the Gaussian decoder is a density on
uniformly dequantised data, so its ELBO converts to bits/dim (``genlab.metrics.likelihood``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..config import check, check_learning_rate, check_positive, check_shape
from ..metrics.likelihood import bits_per_dim, dequantize, importance_weighted_log_likelihood, levels
from ..nn import mlp
from ..trainer import Phase
from .base import Model, standard_normal

LOG_2PI = math.log(2 * math.pi)


@dataclass
class VAEConfig:
    data_shape: tuple[int, ...] = (2,)  # (d,) for points; (C, H, W) for images in [0, 1]
    n_bins: int = 0                     # intensity levels of quantised images; 0 = continuous data
    latent_dim: int = 8
    hidden: int = 256
    layers: int = 2
    likelihood: Literal["gaussian", "bernoulli"] = "gaussian"
    beta: float = 1.0
    lr: float = 1e-3

    def __post_init__(self):
        check_shape(self.data_shape)
        check_positive(self, "latent_dim", "hidden", "layers")
        check(self.n_bins == 0 or self.n_bins >= 2, f"n_bins must be 0 or at least 2, got {self.n_bins}")
        check(self.beta >= 0, f"beta must be non-negative, got {self.beta}")
        check_learning_rate(self.lr)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example (Kingma & Welling, appendix B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


class VAE(Model):
    name = "vae"
    Config = VAEConfig

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        dim = math.prod(config.data_shape)
        out = dim * (2 if config.likelihood == "gaussian" else 1)
        self.encoder = mlp(dim, 2 * config.latent_dim, config.hidden, config.layers)
        self.decoder = mlp(config.latent_dim, out, config.hidden, config.layers)

    # --- data space <-> the space the likelihood lives in ----------------------------------

    def model_input(self, x: torch.Tensor, generator: torch.Generator | None = None,
                    noise: bool = True) -> torch.Tensor:
        """Flattened input; quantised data are dequantised to (level + u) / n_bins."""
        x = x.flatten(1)
        n_bins = self.config.n_bins
        if n_bins and self.config.likelihood == "gaussian":
            if not noise:
                return (levels(x, n_bins) + 0.5) / n_bins
            return dequantize(x, n_bins, generator)
        return x

    def to_data(self, x: torch.Tensor) -> torch.Tensor:
        n_bins = self.config.n_bins
        if n_bins and self.config.likelihood == "gaussian":
            x = (x * n_bins - 0.5) / (n_bins - 1)
        if len(self.config.data_shape) == 3:
            x = x.clamp(0, 1)
        return x.view(len(x), *self.config.data_shape)

    # --- encoder, decoder, likelihood ------------------------------------------------------

    def posterior(self, x_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x_in).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def decoder_params(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.decoder(z)
        if self.config.likelihood == "bernoulli":
            return out, None                                  # logits
        mean, logvar = out.chunk(2, dim=1)
        return mean, logvar.clamp(-12, 8)

    def log_likelihood(self, x_in: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per example, summed over dimensions."""
        a, logvar = self.decoder_params(z)
        if logvar is None:
            return -F.binary_cross_entropy_with_logits(a, x_in, reduction="none").sum(1)
        return -0.5 * (LOG_2PI + logvar + (x_in - a).pow(2) / logvar.exp()).sum(1)

    def elbo_terms(self, x_in: torch.Tensor, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x|z) with z ~ q(z|x), KL(q(z|x) || p(z))), each per example."""
        mu, logvar = self.posterior(x_in)
        eps = standard_normal(mu.shape, generator, mu.device)
        z = mu + (0.5 * logvar).exp() * eps                   # reparameterisation trick
        return self.log_likelihood(x_in, z), gaussian_kl(mu, logvar)

    # --- public verbs ------------------------------------------------------------------------

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of q(z|x) for data-space ``x``."""
        return self.posterior(self.model_input(x, noise=False))[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z), in data space."""
        a, logvar = self.decoder_params(z)
        return self.to_data(torch.sigmoid(a) if logvar is None else a)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def sample(self, n, *, labels=None, generator=None):
        """Decoder means for images (the usual way to show a VAE's samples); full draws
        from p(x|z) for points, whose spread is part of the distribution."""
        self._check_labels(n, labels)
        z = standard_normal((n, self.config.latent_dim), generator, self.device)
        if len(self.config.data_shape) == 3:
            return self.decode(z)
        mean, logvar = self.decoder_params(z)
        if logvar is None:
            u = torch.rand(mean.shape, generator=generator).to(mean.device)
            return self.to_data((u < torch.sigmoid(mean)).to(mean.dtype))
        noise = standard_normal(mean.shape, generator, mean.device)
        return self.to_data(mean + (0.5 * logvar).exp() * noise)

    def optimizers(self):
        return {"vae": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def phases(self):
        return [Phase("vae", "vae", self.loss)]

    def loss(self, x, y=None):
        log_px, kl = self.elbo_terms(self.model_input(x))
        recon, kl = -log_px.mean(), kl.mean()
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def negative_elbo(self, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """-ELBO per example in nats (one z per example; dequantisation seeded)."""
        generator = torch.Generator(self.device).manual_seed(seed)
        x_in = self.model_input(x.to(self.device), generator)
        log_px, kl = self.elbo_terms(x_in, generator)
        return kl - log_px

    def log_importance_weights(self, x_in: torch.Tensor, m: int, generator=None) -> torch.Tensor:
        """(m, N) log p(x, z) - log q(z|x) for m draws z ~ q(z|x) per example."""
        mu, logvar = self.posterior(x_in)
        std = (0.5 * logvar).exp()
        eps = standard_normal((m, *mu.shape), generator, mu.device)    # (m, N, latent)
        z = mu + std * eps
        log_q = -0.5 * (LOG_2PI + logvar + eps.pow(2)).sum(-1)         # (m, N)
        log_prior = -0.5 * (LOG_2PI + z.pow(2)).sum(-1)
        x_rep = x_in.expand(m, *x_in.shape).reshape(-1, x_in.shape[1])
        log_px = self.log_likelihood(x_rep, z.reshape(-1, z.shape[-1])).view(m, -1)
        return log_px + log_prior - log_q

    @torch.no_grad()
    def iwae_nll(self, x: torch.Tensor, k: int = 1000, chunk: int = 100, seed: int = 0) -> torch.Tensor:
        """-log p(x) per example by the IWAE bound with ``k`` importance samples, in nats
        (on the dequantised data for quantised images; seeded)."""
        generator = torch.Generator(self.device).manual_seed(seed)
        x_in = self.model_input(x.to(self.device), generator)
        weights = lambda xs, m: self.log_importance_weights(xs, m, generator)  # noqa: E731
        return -importance_weighted_log_likelihood(weights, x_in, k, chunk)

    def evaluate(self, data, iwae_k: int = 0) -> dict[str, float]:
        """Held-out -ELBO (nats per example) and, with ``iwae_k`` > 0, the IWAE NLL; both also
        in bits/dim for quantised images (an upper bound on the true bits/dim)."""
        out = {"negative_elbo": self.negative_elbo(data.x)}
        if iwae_k:
            out["iwae_nll"] = self.iwae_nll(data.x, iwae_k)
        if self.config.n_bins and self.config.likelihood == "gaussian":
            dims = math.prod(self.config.data_shape)
            out["bits_per_dim"] = bits_per_dim(-out["negative_elbo"], dims, self.config.n_bins)
            if iwae_k:
                out["iwae_bits_per_dim"] = bits_per_dim(-out["iwae_nll"], dims, self.config.n_bins)
        return {k: float(v.mean()) for k, v in out.items()}
