"""Denoising diffusion (DDPM) with DDIM sampling, classifier-free guidance and the ELBO.

Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models". The forward process adds
Gaussian noise in T steps, q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), so that
in closed form q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) with
alpha_bar_t = prod_{s<=t} (1 - beta_s) (eq. 4). Since we added the noise we know how to remove
it: a network learns to predict it from x_t, and the reverse chain p(x_{t-1} | x_t) walks back
from N(0, I) to data. Pieces, each separate (docs/STYLE.md, principle 2):

- :class:`Diffusion`: the schedule and its Gaussian algebra, no parameters and no network:
  ``linear`` betas 1e-4..0.02 at T = 1000 (Ho et al.; scaled by 1000 / T for other T, as in
  Nichol & Dhariwal 2021, "Improved Denoising Diffusion Probabilistic Models") or ``cosine``
  alpha_bar (Nichol & Dhariwal, eq. 17); betas are capped at 0.999.
- The network (``nn/unet.py``): a U-Net for images (C, H, W), a residual MLP for points (D,),
  both with a sinusoidal time embedding. It predicts ``eps`` (the noise; Ho et al.'s
  L_simple, eq. 14), ``x0`` (the clean data) or ``v`` = sqrt(alpha_bar) eps - sqrt(1 -
  alpha_bar) x0 (Salimans & Ho 2022, "Progressive Distillation", section 4); the loss is the
  mean squared error on that target, at t uniform over 1..T.
- Samplers, small functions with one signature ``sampler(denoise, process, x_T, *,
  generator, progress, ...)``: :func:`ddpm_sampler`, ancestral over all T steps (Ho et al.,
  algorithm 2), and :func:`ddim_sampler` over any number of evenly spaced steps (Song, Meng &
  Ermon 2021, "Denoising Diffusion Implicit Models", eq. 12; eta = 0 is deterministic, eta = 1
  over all T steps is the ancestral sampler).
- Class conditioning with classifier-free guidance (Ho & Salimans 2022): with
  ``conditional=true`` the label is replaced by a null class with probability
  ``label_dropout`` in training, and sampling uses eps = (1 + w) eps(x, c) - w eps(x, null)
  with w = ``guidance`` (their eq. 6). A conditional model asked for samples without labels
  draws balanced classes 0, 1, ..., K-1, 0, ... (as cgan, cvae and pixelcnn do, and as
  ``genlab eval`` asks); the null class alone, an unconditional denoiser of the same
  network, is ``denoiser(None)``.
- An EMA of the network's weights (``ema`` decay; 0 = off) samples and scores; its decay is
  warmed up as min(ema, (1 + n) / (10 + n)) after n updates, so short runs are not left
  holding their initial weights.

The sampling settings ``sampler``, ``sampling_steps``, ``eta`` and ``guidance`` are config
defaults that ``sample(n, sampler="ddpm", ...)`` (and ``genlab sample --set``) override.
Images in [0, 1] are mapped to [-1, 1] and the predicted x_0 is clipped to [-1, 1] at every
reverse step (Ho et al.'s sampler does the same); points are modelled as they are.

Likelihood (Ho et al., eq. 5 and section 3.3): -log p(x_0) <= L_T + sum_{t=2}^T L_{t-1} + L_0,
with L_T = KL(q(x_T | x_0) || N(0, I)), L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))
between Gaussians with the same fixed variance, the posterior's beta_tilde_t, and L_0 =
-log p(x_0 | x_1) with p's mean at the predicted x_0 and variance beta_1. On quantised
images (n_bins levels) L_0 is the Gaussian's mass over the level's bin, the end bins
stretched to +-inf (Ho et al.'s discretised decoder, eq. 13, for n_bins levels instead of
256), so the bound is on -log P(levels) and /(D ln 2) gives bits/dim without dequantisation;
on points (and continuous images) L_0 is the Gaussian density, a bound in nats per example.
Each term is taken at one seeded draw of x_t ~ q(x_t | x_0). With ``elbo_terms`` = 0 (or
>= T - 1) every one of the T terms is summed; the default, 100, sums L_T, L_0 and at most 100
of the T - 1 middle terms, one per stratum of timesteps per example, weighted by the
stratum's width (strata of width 1 at small t, where the terms are largest): an unbiased
estimate of the same bound at about a tenth of the cost for T = 1000, since an exact sum on
CPU takes minutes on digits and hours on mnist5k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch
import torch.nn.functional as F

from ..config import Settings, check, check_learning_rate, check_positive, check_shape
from ..errors import ConfigError
from ..nn.stabilisers import EMA
from ..nn.unet import TimeMLP, UNet
from .base import ConditionalSettings, Model, Phase, standard_normal

# images denoised at once when sampling: on a CPU, a batch of 1,000 28x28 images through the
# U-Net spends about as long in the kernel (allocating and freeing its large activations) as in
# the network; chunks of 256 cut that to a fifth, and bound the memory for any n
SAMPLE_CHUNK = 256


@dataclass
class DDPMSampling(Settings):
    """How samples are drawn; the config holds the defaults, ``sample(**settings)`` and
    ``genlab sample --set`` override them for one call."""

    sampler: Literal["ddim", "ddpm"] = "ddim"  # DDIM (Song et al. 2021) or ancestral DDPM
    sampling_steps: int = 50              # ddim: evenly spaced steps out of T
    eta: float = 0.0                      # ddim: 0 = deterministic, 1 = ancestral noise
    guidance: float = 0.0                 # w of classifier-free guidance (conditional only)

    def __post_init__(self):
        super().__post_init__()
        check(self.sampling_steps >= 1, f"sampling_steps must be at least 1, got {self.sampling_steps}")
        check(self.eta >= 0, f"eta must be >= 0 (0 = deterministic ddim), got {self.eta}")
        check(self.guidance >= 0, f"guidance must be >= 0, got {self.guidance}")


@dataclass
class DDPMConfig(ConditionalSettings, DDPMSampling):
    """``conditional=true``: class-conditional, with classifier-free guidance."""

    data_shape: tuple[int, ...] = (2,)    # (d,) for points; (C, H, W) for images in [0, 1]
    n_bins: int = 0                       # intensity levels of quantised images; 0 = continuous data
    label_dropout: float = 0.1            # probability of training on the null class instead
    timesteps: int = 1000                 # T
    schedule: Literal["linear", "cosine"] = "linear"  # the betas: Ho et al. or Nichol & Dhariwal
    prediction: Literal["eps", "x0", "v"] = "eps"  # what the network predicts
    width: int = 32                       # U-Net base channels
    levels: tuple[int, ...] = (1, 2, 2)   # U-Net channel multipliers, one per resolution
    blocks: int = 1                       # U-Net residual blocks per level (down)
    hidden: int = 128                     # points: width and blocks of the residual MLP
    layers: int = 3
    ema: float = 0.999                    # decay of the weight average that samples; 0 = off
    lr: float = 1e-3
    elbo_terms: int = 100                 # middle terms of the bound evaluated: 0 or >= T - 1 = all (exact)

    def __post_init__(self):
        super().__post_init__()
        check_shape(self.data_shape)
        check(len(self.data_shape) in (1, 3), f"ddpm models points (d,) or images (C, H, W); "
                                              f"got data of shape {tuple(self.data_shape)}")
        check(self.n_bins == 0 or self.n_bins >= 2, f"n_bins must be 0 or at least 2, got {self.n_bins}")
        check(0 <= self.label_dropout < 1, f"label_dropout must lie in [0, 1), got {self.label_dropout}")
        check_positive(self, "timesteps", "width", "blocks", "hidden", "layers")
        check(0 <= self.ema < 1, f"ema must lie in [0, 1) (0 = off), got {self.ema}")
        check_learning_rate(self.lr)
        check_sampling(self, self)
        check(self.elbo_terms >= 0, f"elbo_terms must be 0 (all terms) or a number of terms, got {self.elbo_terms}")


def check_sampling(c: DDPMConfig, s: DDPMSampling) -> None:
    """The sampling settings ``s`` that need the model's config ``c`` to be checked."""
    check(s.sampler != "ddim" or s.sampling_steps <= c.timesteps,
          f"ddim sampling_steps={s.sampling_steps} exceeds the model's timesteps={c.timesteps}")
    check(s.guidance == 0 or c.conditional,
          f"guidance={s.guidance} needs a class-conditional model (conditional=true, trained on labelled data)")


# --- the process: schedule and Gaussian algebra ------------------------------------------------

def make_betas(schedule: str, timesteps: int) -> torch.Tensor:
    """(T,) float64 betas of the ``linear`` or ``cosine`` schedule, capped at 0.999."""
    if schedule == "linear":
        scale = 1000 / timesteps
        betas = torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)
    elif schedule == "cosine":
        s = 0.008  # Nichol & Dhariwal's offset, so that beta_1 is not vanishingly small
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
        alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
        betas = 1 - alpha_bar[1:] / alpha_bar[:-1]
    else:
        check(False, f"schedule={schedule!r} is not one of 'linear', 'cosine'")
    return betas.clamp(max=0.999)


class Diffusion:
    """q(x_t | x_0) for the betas of a schedule, and the Gaussians built on it.

    Timesteps are 0-based indices: index i is the paper's t = i + 1, so x_t at index 0 is one
    step of noise from x_0. Tensors ``t`` are (B,) long indices; coefficients are kept in
    float64 and cast to the data's dtype when used.
    """

    def __init__(self, betas: torch.Tensor):
        self.betas = betas.double()
        self.alpha_bar = torch.cumprod(1 - self.betas, 0)
        self.alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bar[:-1]])
        # q(x_{t-1} | x_t, x_0) = N(coef_x0 x_0 + coef_xt x_t, beta_tilde) (Ho et al., eq. 6-7)
        self.beta_tilde = self.betas * (1 - self.alpha_bar_prev) / (1 - self.alpha_bar)
        self.coef_x0 = self.betas * self.alpha_bar_prev.sqrt() / (1 - self.alpha_bar)
        self.coef_xt = (1 - self.betas).sqrt() * (1 - self.alpha_bar_prev) / (1 - self.alpha_bar)

    @classmethod
    def from_config(cls, config: DDPMConfig) -> "Diffusion":
        return cls(make_betas(config.schedule, config.timesteps))

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    @staticmethod
    def at(values: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """values[t] shaped (B, 1, ...) to broadcast against x, in x's dtype and device."""
        return values.to(x.device)[t].to(x.dtype).view(-1, *[1] * (x.dim() - 1))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (Ho et al., eq. 4)."""
        ab = self.at(self.alpha_bar, t, x0)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, prediction: str) -> torch.Tensor:
        if prediction == "eps":
            return noise
        if prediction == "x0":
            return x0
        ab = self.at(self.alpha_bar, t, x0)
        return ab.sqrt() * noise - (1 - ab).sqrt() * x0                    # v (Salimans & Ho 2022)

    def split(self, out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
              prediction: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0, eps) implied by a network output of the given ``prediction`` type."""
        if prediction == "eps":
            return self.x0_from_eps(x_t, t, out), out
        if prediction == "x0":
            return out, self.eps_from_x0(x_t, t, out)
        ab = self.at(self.alpha_bar, t, x_t)
        return ab.sqrt() * x_t - (1 - ab).sqrt() * out, (1 - ab).sqrt() * x_t + ab.sqrt() * out

    def x0_from_eps(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        ab = self.at(self.alpha_bar, t, x_t)
        return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()

    def eps_from_x0(self, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        ab = self.at(self.alpha_bar, t, x_t)
        return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()

    def posterior_mean(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Mean of q(x_{t-1} | x_t, x_0); at index 0 it is x_0 itself."""
        return self.at(self.coef_x0, t, x_t) * x0 + self.at(self.coef_xt, t, x_t) * x_t

    def prior_kl(self, x0: torch.Tensor) -> torch.Tensor:
        """L_T = KL(q(x_T | x_0) || N(0, I)) per example, in nats."""
        ab = float(self.alpha_bar[-1])
        return 0.5 * (ab * x0.pow(2) + (1 - ab) - 1 - math.log(1 - ab)).flatten(1).sum(1)


# --- samplers: one signature, (denoise, process, x_T, *, generator, progress, ...) -> x_0 ---------

Denoiser = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]  # (x_t, t) -> (x0, eps)
Progress = Callable[[int, int], None]  # (steps done, steps in all)


@torch.no_grad()
def ddpm_sampler(denoise: Denoiser, process: Diffusion, x: torch.Tensor, *,
                 generator: torch.Generator | None = None, progress: Progress | None = None) -> torch.Tensor:
    """Ancestral sampling over all T steps (Ho et al., algorithm 2, with the posterior's
    variance beta_tilde): x_{t-1} = mu(x_t, x0_hat) + sqrt(beta_tilde_t) z; the last step
    returns the mean, the predicted x_0."""
    steps = process.timesteps
    for k, i in enumerate(reversed(range(steps))):
        t = torch.full((len(x),), i, device=x.device, dtype=torch.long)
        x0, _ = denoise(x, t)
        mean = process.posterior_mean(x0, x, t)
        if i > 0:
            noise = standard_normal(x.shape, generator, x.device)
            x = mean + process.at(process.beta_tilde, t, x).sqrt() * noise
        else:
            x = mean
        if progress is not None:
            progress(k + 1, steps)
    return x


def chunk_progress(progress: Progress, chunk: int, chunks: int) -> Progress:
    """A sampler's (done, total) for chunk ``chunk`` of ``chunks`` as a count through all of them."""
    return lambda done, total: progress(chunk * total + done, chunks * total)


def ddim_timesteps(timesteps: int, steps: int) -> list[int]:
    """``steps`` evenly spaced indices out of T, from T - 1 down (stride T / steps)."""
    check(1 <= steps <= timesteps, f"ddim steps must lie in 1..{timesteps} (the model's timesteps), got {steps}")
    return [(k + 1) * timesteps // steps - 1 for k in reversed(range(steps))]


@torch.no_grad()
def ddim_sampler(denoise: Denoiser, process: Diffusion, x: torch.Tensor, *,
                 generator: torch.Generator | None = None, progress: Progress | None = None,
                 steps: int = 50, eta: float = 0.0) -> torch.Tensor:
    """DDIM (Song et al. 2021, eq. 12) over ``steps`` evenly spaced timesteps:
    x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z, with
    sigma = eta sqrt((1 - ab_prev) / (1 - ab)) sqrt(1 - ab / ab_prev) (eq. 16)."""
    check(eta >= 0, f"eta must be >= 0, got {eta}")
    times = ddim_timesteps(process.timesteps, steps)
    for k, (i, j) in enumerate(zip(times, times[1:] + [-1])):
        t = torch.full((len(x),), i, device=x.device, dtype=torch.long)
        x0, eps = denoise(x, t)
        ab = float(process.alpha_bar[i])
        ab_prev = float(process.alpha_bar[j]) if j >= 0 else 1.0
        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        x = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma ** 2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * standard_normal(x.shape, generator, x.device)
        if progress is not None:
            progress(k + 1, len(times))
    return x


# --- the likelihood's terms ----------------------------------------------------------------------

def gaussian_log_density(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    return -0.5 * (math.log(2 * math.pi) + var.log() + (x - mean).pow(2) / var)


def log_normal_mass(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(Phi(b) - Phi(a)) for a < b, taken in whichever tail keeps it accurate."""
    upper = a + b > 0                                   # both far right: use Phi(-a) - Phi(-b)
    lo, hi = torch.where(upper, -b, a), torch.where(upper, -a, b)
    log_hi, log_lo = torch.special.log_ndtr(hi), torch.special.log_ndtr(lo)
    return log_hi + torch.log(-torch.expm1((log_lo - log_hi).clamp(max=-1e-12)))


def discretized_gaussian_log_prob(x0: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                                  n_bins: int) -> torch.Tensor:
    """log P(level) per dimension for x_0 in [-1, 1] at ``n_bins`` levels: N(mean, std^2)'s
    mass over the level's bin of half-width 1 / (n_bins - 1), the end bins open to +-inf
    (Ho et al. 2020, eq. 13, for 256 levels)."""
    h = 1.0 / (n_bins - 1)
    a, b = (x0 - h - mean) / std, (x0 + h - mean) / std
    first, last = torch.special.log_ndtr(b), torch.special.log_ndtr(-a)
    return torch.where(x0 < -1 + h, first, torch.where(x0 > 1 - h, last, log_normal_mass(a, b)))


# --- the model ----------------------------------------------------------------------------------------

class DDPM(Model):
    name = "ddpm"
    Config = DDPMConfig
    Sampling = DDPMSampling
    walks = True
    likelihood = True
    evaluate_options = ("progress",)  # the bound is slow: a progress callback, (done, all) terms
    networks = ("net",)
    presets = {**{toy: dict(hidden=256, layers=3, batch_size=256, steps=4_000) for toy in ("ring8", "grid25")},
               "digits": dict(width=32, levels=(1, 2), batch_size=128, steps=3_000),  # benchmarks/ddim_speed.py
               "mnist5k": dict(width=16, batch_size=64, steps=2_500)}  # benchmarks/image_gans.py
    retired_state = ("ema_updates",)  # the EMA keeps its own count now (see upgrade_state)

    def __init__(self, config: DDPMConfig, **networks):
        super().__init__(config, **networks)
        self.is_image = len(config.data_shape) == 3
        self.process = Diffusion.from_config(config)
        k = config.num_classes
        self.net = self.network_for("net", lambda: (
            UNet(config.data_shape, config.width, config.levels, config.blocks, k) if self.is_image
            else TimeMLP(config.data_shape[0], config.hidden, config.layers, k)))
        if config.ema:
            self.net_ema = EMA(self.net, config.ema, warmup=True)

    def network_examples(self):
        """net: (x_t (B, *data_shape), t (B,) long timesteps in 0..T-1, y (B,) labels with the
        null class K, or None when unconditional) -> (B, *data_shape), the prediction
        ``prediction`` names (eps, x0 or v)."""
        shape = tuple(self.config.data_shape)
        y = torch.zeros(2, dtype=torch.long) if self.config.conditional else None
        return {"net": ((torch.zeros(2, *shape), torch.zeros(2, dtype=torch.long), y), (2, *shape))}

    def upgrade_state(self, state: dict) -> dict:
        """An older genlab kept the EMA's warm-up count as ``ema_updates``."""
        if "ema_updates" in state and "net_ema.updates" not in state:
            state["net_ema.updates"] = state["ema_updates"]
        return super().upgrade_state(state)

    @property
    def network(self):
        """The network that samples and scores: the EMA average when on, else the live one."""
        return self.net_ema if self.config.ema else self.net

    def update_ema(self) -> None:
        self.net_ema.update(self.net)

    # --- data space <-> the process's space -----------------------------------------------------

    def model_input(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x - 1 if self.is_image else x                # images [0, 1] -> [-1, 1]

    def to_data(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1) if self.is_image else x

    # --- training -----------------------------------------------------------------------------------

    def optimizers(self):
        return {"ddpm": torch.optim.Adam(self.net.parameters(), lr=self.config.lr)}

    def phases(self):
        return [Phase("ddpm", "ddpm", self.loss, after=self.update_ema if self.config.ema else None)]

    def loss(self, x, y=None, state=None):
        """L_simple: the mean squared error of the network's prediction at t ~ U{1..T}."""
        cfg = self.config
        x0 = self.model_input(x)
        y = self.condition(y, len(x))
        if y is not None and cfg.label_dropout:                 # classifier-free guidance's null class
            drop = torch.rand(len(y), device=y.device) < cfg.label_dropout
            y = torch.where(drop, torch.full_like(y, cfg.num_classes), y)
        t = torch.randint(cfg.timesteps, (len(x),), device=x.device)
        noise = torch.randn_like(x0)
        out = self.net(self.process.q_sample(x0, t, noise), t, y).float()
        return {"loss": F.mse_loss(out, self.process.target(x0, noise, t, cfg.prediction))}

    # --- sampling ------------------------------------------------------------------------------------

    def denoiser(self, y: torch.Tensor | None, guidance: float = 0.0, network=None) -> Denoiser:
        """(x_t, t) -> (x0, eps) from ``network`` (default: the sampling network) for labels
        ``y`` (None: unconditional, or the null class of a conditional model), guided with
        weight ``guidance``; for images x0 is clipped to [-1, 1] and eps made consistent."""
        net = self.network if network is None else network
        process, prediction = self.process, self.config.prediction

        def denoise(x_t: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if y is None or not guidance:
                x0, eps = process.split(net(x_t, t, y), x_t, t, prediction)
            else:  # conditional and null-class outputs in one batch (Ho & Salimans 2022, eq. 6)
                null = torch.full_like(y, self.config.num_classes)
                x_2, t_2 = torch.cat([x_t, x_t]), torch.cat([t, t])
                eps_c, eps_u = process.split(net(x_2, t_2, torch.cat([y, null])), x_2, t_2, prediction)[1].chunk(2)
                eps = (1 + guidance) * eps_c - guidance * eps_u
                x0 = process.x0_from_eps(x_t, t, eps)
            if self.is_image:
                x0 = x0.clamp(-1, 1)
                eps = process.eps_from_x0(x_t, t, x0)
            return x0, eps

        return denoise

    def check_sampling(self, sampling: DDPMSampling) -> None:
        check_sampling(self.config, sampling)

    @torch.no_grad()
    def sample(self, n, *, labels=None, generator=None, progress: Progress | None = None, **settings):
        """``n`` samples by the configured sampler; ``settings`` (sampler, sampling_steps, eta,
        guidance) override the config's for this call. A conditional model draws the classes
        ``labels`` (default balanced 0, 1, ..., K-1, 0, ...)."""
        cfg = self.sampling(settings)
        y = self.sample_labels(n, labels)
        starts = range(0, n, SAMPLE_CHUNK)
        out = []
        for c, start in enumerate(starts):  # chunk by chunk, each from its own x_T to x_0
            size = min(SAMPLE_CHUNK, n - start)
            y_c = None if y is None else y[start:start + size]
            x = standard_normal((size, *self.config.data_shape), generator, self.device)   # x_T
            step = None if progress is None else chunk_progress(progress, c, len(starts))
            out.append(self.to_data(self.reverse(x, y_c, cfg, generator, step)))
        return torch.cat(out)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """x_T: N(0, I) noise of the data's shape."""
        return standard_normal((n, *self.config.data_shape), generator, self.device)

    @torch.no_grad()
    def from_noise(self, z, *, labels=None, **settings):
        """x_0 of each x_T in ``z`` along DDIM's deterministic path (eta = 0; Song et al. 2021,
        section 4.3), the one sampler whose samples are a function of their noise: the
        path is taken whatever the config's sampler; ``settings`` may choose its steps and
        guidance, and asking for another sampler is an error."""
        cfg = self.sampling({"sampler": "ddim", "eta": 0.0, **settings})
        if cfg.sampler != "ddim" or cfg.eta != 0:
            raise ConfigError("a sample is a function of its noise only on DDIM's deterministic path: "
                              "sampler=ddim, eta=0")
        return self.to_data(self.reverse(z.to(self.device), self.sample_labels(len(z), labels), cfg, None, None))

    def reverse(self, x: torch.Tensor, y: torch.Tensor | None, cfg: DDPMSampling,
                generator: torch.Generator | None, progress: Progress | None) -> torch.Tensor:
        """x_T -> x_0 in the network's space by the sampler ``cfg`` names."""
        denoise = self.denoiser(y, cfg.guidance)
        if cfg.sampler == "ddpm":
            return ddpm_sampler(denoise, self.process, x, generator=generator, progress=progress)
        return ddim_sampler(denoise, self.process, x, generator=generator, progress=progress,
                            steps=cfg.sampling_steps, eta=cfg.eta)

    # --- likelihood ------------------------------------------------------------------------------------

    def bound_timesteps(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """((S, n) indices in 1..T-1 of the middle terms evaluated for each of n examples, (S,)
        the weight of each row). All T - 1 with weight 1 when ``elbo_terms`` is 0 or covers
        them; else strata [e_k, e_{k+1}) with edges e_k = 1 + (T - 1) (k / K)^2 rounded, narrow
        at small t where the terms are large (width-1 strata are exact), one uniform index per
        stratum and example, weighted by the stratum's width: an unbiased estimate of the sum."""
        T, k = self.config.timesteps, self.config.elbo_terms
        if not k or k >= T - 1:
            edges = torch.arange(1, T + 1)
        else:
            edges = torch.unique((1 + (T - 1) * (torch.arange(k + 1, dtype=torch.float64) / k) ** 2).round().long())
        width = edges[1:] - edges[:-1]                                              # (S,)
        u = torch.rand(len(width), n, generator=generator, dtype=torch.float64)
        return edges[:-1, None] + (u * width[:, None]).long(), width.double()

    def decoder_nll(self, x0: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """L_0 = -log p(x_0 | x_1) per example: discretised on quantised images, else a density."""
        var = self.process.betas[0].to(x0)
        if self.is_image and self.config.n_bins >= 2:
            log_p = discretized_gaussian_log_prob(x0, mean, var.sqrt(), self.config.n_bins)
        else:
            log_p = gaussian_log_density(x0, mean, var)
        return -log_p.flatten(1).sum(1)

    @torch.no_grad()
    def negative_elbo(self, x: torch.Tensor, labels=None, seed: int = 0, batch: int = 500,
                      progress: Progress | None = None) -> torch.Tensor:
        """-ELBO per example in nats: L_T + sum_t L_{t-1} + L_0, each at one seeded draw of x_t.
        ``progress(done, all)`` is called after each term of each batch (the bound takes minutes
        on a CPU)."""
        generator = torch.Generator().manual_seed(seed)
        out = []
        starts = range(0, len(x), batch)
        for start in starts:
            x0 = self.model_input(x[start:start + batch].to(self.device))
            y = self.condition(None if labels is None else labels[start:start + batch], len(x0))
            times, weight = self.bound_timesteps(len(x0), generator)
            denoise = self.denoiser(y)
            total = self.process.prior_kl(x0)
            for k, t in enumerate([torch.zeros(len(x0), dtype=torch.long), *times]):  # L_0, then L_1..L_{T-1}
                t = t.to(x0.device)
                if progress is not None:
                    progress(len(out) * (len(times) + 1) + k + 1, len(starts) * (len(times) + 1))
                x_t = self.process.q_sample(x0, t, standard_normal(x0.shape, generator, x0.device))
                x0_hat, _ = denoise(x_t, t)
                if k == 0:
                    total = total + self.decoder_nll(x0, x0_hat)  # the mean at t = 1 is x0_hat
                    continue
                # KL between Gaussians of equal variance beta_tilde: the squared distance of the means
                diff = self.process.posterior_mean(x0, x_t, t) - self.process.posterior_mean(x0_hat, x_t, t)
                var = self.process.at(self.process.beta_tilde, t, x0)
                total = total + float(weight[k - 1]) * (diff.pow(2) / (2 * var)).flatten(1).sum(1)
            out.append(total)
        return torch.cat(out)

    def likelihood_unit(self) -> str:
        """bits/dim on multi-level images; nats per image on binarised ones; nats per example
        (a density bound) on points."""
        if self.is_image and self.config.n_bins > 2:
            return "bits/dim"
        return "nats per image" if self.is_image else "nats per example"

    def evaluate(self, data, *, progress: Progress | None = None) -> dict[str, float]:
        """The held-out -ELBO in nats per example (of log p(x | y) when conditional), and in
        bits/dim on multi-level images: an upper bound on the true bits/dim."""
        nelbo = self.negative_elbo(data.x, data.y if self.config.conditional else None, progress=progress)
        out = {"negative_elbo": float(nelbo.mean())}
        if self.likelihood_unit() == "bits/dim":
            out["bits_per_dim"] = out["negative_elbo"] / (math.prod(self.config.data_shape) * math.log(2))
        return out
