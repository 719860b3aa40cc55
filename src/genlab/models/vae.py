"""Variational autoencoder with an MLP or convolutional encoder and decoder.

Kingma & Welling 2014, "Auto-Encoding Variational Bayes". The encoder gives
q(z|x) = N(mu, diag sigma^2); a sample z = mu + sigma * eps (the reparameterisation trick,
section 2.4) goes through the decoder to p(x|z); training maximises the evidence lower bound
ELBO = E_q log p(x|z) - beta * KL(q(z|x) || N(0, I)), with beta = 1 the true bound
(beta > 1 as in Higgins et al. 2017, "beta-VAE"). ``kl_warmup`` > 0 raises the KL weight
linearly from 0 to beta over that many steps (KL annealing, Bowman et al. 2016, "Generating
Sentences from a Continuous Space", section 3.1), against posterior collapse early on.

Likelihoods p(x|z): ``bernoulli`` for binary (binarised) data only, scored in nats per image;
``gaussian`` with a per-dimension mean and log-variance, which on quantised images
(``n_bins`` > 0) is a density on uniformly dequantised data, so its ELBO converts to bits/dim
(``genlab.metrics.likelihood``); ``discretized``: a logistic per dimension integrated over
each intensity bin (Salimans et al. 2017, PixelCNN++, eq. 2, one component), an exact
probability of the levels, so -log p / (D ln 2) is bits/dim with no dequantisation.
The test NLL is estimated by the importance-weighted bound of Burda et al. 2016 (IWAE).
Encoders and decoders are the family's (``autoencoding.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..config import check
from ..metrics.likelihood import bits_per_dim, dequantize, importance_weighted_log_likelihood, levels
from .autoencoding import Autoencoding, BackboneConfig, build_networks
from .base import Phase, standard_normal

LOG_2PI = math.log(2 * math.pi)
PARAMS = {"gaussian": 2, "bernoulli": 1, "discretized": 2}  # decoder outputs per data dimension


@dataclass
class VAEConfig(BackboneConfig):
    n_bins: int = 0                     # intensity levels of quantised images; 0 = continuous data
    likelihood: Literal["gaussian", "bernoulli", "discretized"] = "gaussian"  # p(x|z), see above
    beta: float = 1.0                   # weight of the KL term; 1 = the true ELBO
    kl_warmup: int = 0                  # steps over which the KL weight rises from 0 to beta; 0 = off

    def __post_init__(self):
        super().__post_init__()
        check(self.n_bins == 0 or self.n_bins >= 2, f"n_bins must be 0 or at least 2, got {self.n_bins}")
        check(self.likelihood != "discretized" or self.n_bins >= 2,
              "likelihood='discretized' needs quantised images (n_bins >= 2, taken from the data)")
        # a Bernoulli is a distribution over 0 and 1: with soft targets its "ELBO" is no bound
        check(self.likelihood != "bernoulli" or self.n_bins == 2,
              f"likelihood='bernoulli' models binary data, and these have "
              f"{f'{self.n_bins} levels' if self.n_bins else 'continuous values'}: binarise them "
              f"(--set binarize=0.5) or use likelihood=discretized (levels) or gaussian")
        check(self.beta >= 0, f"beta must be non-negative, got {self.beta}")
        check(self.kl_warmup >= 0, f"kl_warmup must be 0 (off) or a number of steps, got {self.kl_warmup}")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example (Kingma & Welling, appendix B)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


def discretized_logistic_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor,
                                  n_bins: int) -> torch.Tensor:
    """log P(x) per dimension for x = level / (n_bins - 1): the logistic's mass over the level's
    bin of half-width h, the end bins stretched to -inf and +inf (PixelCNN++, eq. 2)."""
    h = 0.5 / (n_bins - 1)
    centred, inv_s = x - mean, torch.exp(-log_scale)
    upper, lower = inv_s * (centred + h), inv_s * (centred - h)
    mass = torch.sigmoid(upper) - torch.sigmoid(lower)
    mid = inv_s * centred                                   # tiny mass: density at the centre times 2h
    log_density_mid = mid - log_scale - 2 * F.softplus(mid) + math.log(2 * h)
    log_mid = torch.where(mass > 1e-5, mass.clamp_min(1e-12).log(), log_density_mid)
    lv = levels(x, n_bins)
    first, last = F.logsigmoid(upper), -F.softplus(lower)  # log CDF(x + h), log(1 - CDF(x - h))
    return torch.where(lv == 0, first, torch.where(lv == n_bins - 1, last, log_mid))


class VAE(Autoencoding):
    name = "vae"
    Config = VAEConfig
    likelihood = True
    evaluate_options = ("iwae_k",)
    retired_state = ("steps_done",)  # KL annealing follows the trainer's step now
    presets = {"digits": dict(batch_size=128, steps=3_000),  # the demo's run
               "mnist5k": dict(backbone="conv", width=32, latent_dim=16, likelihood="discretized", batch_size=64,
                               steps=3_000)}  # benchmarks/autoencoders.py

    def __init__(self, config: VAEConfig, **user_networks):
        super().__init__(config, **user_networks)
        self.encoder, self.decoder = build_networks(self, *self.code_sizes(), self.cond_dim)

    def code_sizes(self) -> tuple[int, int]:
        return 2 * self.config.latent_dim, PARAMS[self.config.likelihood]

    # --- data space <-> the space the likelihood lives in ----------------------------------

    @property
    def dequantized(self) -> bool:
        return bool(self.config.n_bins) and self.config.likelihood == "gaussian"

    def model_input(self, x: torch.Tensor, generator: torch.Generator | None = None,
                    noise: bool = True) -> torch.Tensor:
        """Flattened input; for the Gaussian likelihood quantised data are dequantised to
        (level + u) / n_bins."""
        x = x.flatten(1)
        n_bins = self.config.n_bins
        if self.dequantized:
            if not noise:
                return (levels(x, n_bins) + 0.5) / n_bins
            return dequantize(x, n_bins, generator)
        return x

    def to_data(self, x: torch.Tensor) -> torch.Tensor:
        n_bins = self.config.n_bins
        if self.dequantized:
            x = (x * n_bins - 0.5) / (n_bins - 1)
        if len(self.config.data_shape) == 3:
            x = x.clamp(0, 1)
        return x.view(len(x), *self.config.data_shape)

    # --- encoder, decoder, likelihood ------------------------------------------------------

    def posterior(self, x_in: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = (self.encoder(x_in) if c is None else self.encoder(x_in, c)).float().chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def decoder_params(self, z: torch.Tensor, c: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, None) for Bernoulli; (mean, log-variance) or (mean, log-scale) otherwise."""
        out = (self.decoder(z) if c is None else self.decoder(z, c)).float()  # likelihoods in fp32
        if self.config.likelihood == "bernoulli":
            return out, None
        mean, log_spread = out.chunk(2, dim=1)
        return mean, log_spread.clamp(-12, 8)

    def log_likelihood(self, x_in: torch.Tensor, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x|z) per example, summed over dimensions."""
        a, log_spread = self.decoder_params(z, c)
        if self.config.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(a, x_in, reduction="none").sum(1)
        if self.config.likelihood == "discretized":
            return discretized_logistic_log_prob(x_in, a, log_spread, self.config.n_bins).sum(1)
        return -0.5 * (LOG_2PI + log_spread + (x_in - a).pow(2) / log_spread.exp()).sum(1)

    def elbo_terms(self, x_in: torch.Tensor, c: torch.Tensor | None = None,
                   generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x|z) with z ~ q(z|x), KL(q(z|x) || p(z))), each per example."""
        mu, logvar = self.posterior(x_in, c)
        eps = standard_normal(mu.shape, generator, mu.device)
        z = mu + (0.5 * logvar).exp() * eps                   # reparameterisation trick
        return self.log_likelihood(x_in, z, c), gaussian_kl(mu, logvar)

    # --- public verbs ------------------------------------------------------------------------

    def encode(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """Mean of q(z|x) for data-space ``x``."""
        return self.posterior(self.model_input(x, noise=False), self.condition(labels, len(x)))[0]

    def decode(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """Mean of p(x|z), in data space."""
        return self._decode(z, self.condition(labels, len(z)))

    def _decode(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        a, log_spread = self.decoder_params(z, c)
        return self.to_data(torch.sigmoid(a) if log_spread is None else a)

    def sample(self, n, *, labels=None, generator=None):
        self._check_labels(n, labels)
        return self._sample(n, None, generator)

    def from_noise(self, z, *, labels=None):
        """The decoder's means at codes ``z`` (points too: a walk shows the mean's path)."""
        return self.decode(z.to(self.device), labels)

    def _sample(self, n: int, c: torch.Tensor | None, generator) -> torch.Tensor:
        """Decoder means for images (the usual way to show a VAE's samples); full draws
        from p(x|z) for points, whose spread is part of the distribution."""
        z = standard_normal((n, self.config.latent_dim), generator, self.device)
        if len(self.config.data_shape) == 3:
            return self._decode(z, c)
        mean, logvar = self.decoder_params(z, c)
        if logvar is None:
            u = torch.rand(mean.shape, generator=generator).to(mean.device)
            return self.to_data((u < torch.sigmoid(mean)).to(mean.dtype))
        noise = standard_normal(mean.shape, generator, mean.device)
        return self.to_data(mean + (0.5 * logvar).exp() * noise)

    def optimizers(self):
        return {"vae": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def phases(self):
        return [Phase(self.name, "vae", self.loss)]

    def kl_weight(self, state=None) -> float:
        """beta, raised linearly from 0 over the first ``kl_warmup`` steps (Bowman et al. 2016);
        beta itself outside training (``state`` None)."""
        warmup = self.config.kl_warmup
        ramp = 1.0 if not warmup or state is None else min(1.0, (state.step - 1) / warmup)
        return self.config.beta * ramp

    def loss(self, x, y=None, state=None):
        log_px, kl = self.elbo_terms(self.model_input(x), self.condition(y, len(x)))
        recon, kl, weight = -log_px.mean(), kl.mean(), self.kl_weight(state)
        return {"loss": recon + weight * kl, "recon": recon, "kl": kl,
                "kl_weight": torch.tensor(weight, device=x.device)}

    @torch.no_grad()
    def negative_elbo(self, x: torch.Tensor, labels=None, seed: int = 0) -> torch.Tensor:
        """-ELBO per example in nats (one z per example; dequantisation seeded)."""
        generator = torch.Generator(self.device).manual_seed(seed)
        x_in = self.model_input(x.to(self.device), generator)
        log_px, kl = self.elbo_terms(x_in, self.condition(labels, len(x)), generator)
        return kl - log_px

    def log_importance_weights(self, x_in: torch.Tensor, m: int, c: torch.Tensor | None = None,
                               generator=None) -> torch.Tensor:
        """(m, N) log p(x, z) - log q(z|x) for m draws z ~ q(z|x) per example."""
        mu, logvar = self.posterior(x_in, c)
        std = (0.5 * logvar).exp()
        eps = standard_normal((m, *mu.shape), generator, mu.device)    # (m, N, latent)
        z = mu + std * eps
        log_q = -0.5 * (LOG_2PI + logvar + eps.pow(2)).sum(-1)         # (m, N)
        log_prior = -0.5 * (LOG_2PI + z.pow(2)).sum(-1)
        x_rep = x_in.expand(m, *x_in.shape).reshape(-1, x_in.shape[1])  # (m * N, D)
        c_rep = None if c is None else c.expand(m, *c.shape).reshape(-1, c.shape[1])
        log_px = self.log_likelihood(x_rep, z.reshape(-1, z.shape[-1]), c_rep).view(m, -1)
        return log_px + log_prior - log_q

    @torch.no_grad()
    def iwae_nll(self, x: torch.Tensor, k: int = 1000, chunk: int = 100, seed: int = 0,
                 labels=None, batch: int | None = None) -> torch.Tensor:
        """-log p(x) per example by the IWAE bound (Burda et al. 2016, eq. 8) with ``k``
        importance samples, in nats (on the dequantised data for the Gaussian likelihood on
        quantised images; seeded). ``chunk`` samples of ``batch`` examples are decoded at a
        time (default: about 8,192 decodings), so memory stays bounded at any K."""
        generator = torch.Generator(self.device).manual_seed(seed)
        x_in = self.model_input(x.to(self.device), generator)
        c = self.condition(labels, len(x))
        batch = batch or max(1, 8192 // min(chunk, k))
        out = []
        for i in range(0, len(x_in), batch):
            xs, cs = x_in[i:i + batch], None if c is None else c[i:i + batch]
            weights = lambda x_, m: self.log_importance_weights(x_, m, cs, generator)  # noqa: E731
            out.append(-importance_weighted_log_likelihood(weights, xs, k, chunk))
        return torch.cat(out)

    def likelihood_unit(self) -> str:
        """How the held-out likelihood is reported: bits/dim for quantised data under the
        Gaussian or discretised likelihood, else nats per image (binarised) or per point."""
        if self.config.n_bins and self.config.likelihood != "bernoulli":
            return "bits/dim"
        return "nats per image" if len(self.config.data_shape) == 3 else "nats per example"

    def to_bits_per_dim(self, nll: torch.Tensor) -> torch.Tensor:
        dims = math.prod(self.config.data_shape)
        if self.config.likelihood == "discretized":        # an exact probability of the levels
            return nll / (dims * math.log(2))
        return bits_per_dim(-nll, dims, self.config.n_bins)  # a density on dequantised data

    def evaluate(self, data, *, iwae_k: int = 0) -> dict[str, float]:
        """Held-out -ELBO (nats per example) and, with ``iwae_k`` > 0, the IWAE NLL; both also
        in bits/dim for quantised images under the Gaussian or discretised likelihood (upper
        bounds on the true bits/dim)."""
        out = {"negative_elbo": self.negative_elbo(data.x, data.y if self.cond_dim else None)}
        if iwae_k:
            out["iwae_nll"] = self.iwae_nll(data.x, iwae_k, labels=data.y if self.cond_dim else None)
        if self.likelihood_unit() == "bits/dim":  # -ELBO and IWAE NLL stay in nats beside it
            out["bits_per_dim"] = self.to_bits_per_dim(out["negative_elbo"])
            if iwae_k:
                out["iwae_bits_per_dim"] = self.to_bits_per_dim(out["iwae_nll"])
        return {k: float(v.mean()) for k, v in out.items()}
