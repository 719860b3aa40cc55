"""Claims from the lecture notes, measured: ``genlab explain NAME``.

Each claim is a function ``(out_dir, quick) -> Claim`` in one of this package's modules: it
computes a small table of numbers that shows the claim (or would refute it), draws one PNG
with matplotlib, and runs in a few CPU minutes at most with fixed seeds; ``quick=True`` is a
smaller budget for the test suite that still shows the claim's direction. :data:`CLAIMS` maps
command names to ``(summary, "module:function")``; a claim's module is imported only when it
runs, so listing them costs nothing.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import ConfigError
from .claim import Claim

CLAIMS: dict[str, tuple[str, str]] = {
    "js-vs-wasserstein": ("JS stays at log 2 for disjoint supports while W1 grows with distance",
                          "divergences:js_vs_wasserstein"),
    "kl-asymmetry": ("KL(p||q) != KL(q||p): mode-covering vs mode-seeking Gaussian fits",
                     "divergences:kl_asymmetry"),
    "optimal-discriminator": ("D*(x) = p/(p+q), learned by a classifier, 1/2 where p = q",
                              "divergences:optimal_discriminator"),
    "ngram-order": ("n-gram order: training perplexity falls, held-out turns up; what smoothing buys",
                    "text:ngram_order"),
    "pixelcnn-blind-spot": ("PixelCNN's masked stack misses pixels above-right; the gated stacks do not",
                            "pixels:pixelcnn_blind_spot"),
    "ddim-steps": ("DDPM needs 1,000 slow steps; DDIM buys the speed back with a few",
                   "diffusion:ddim_steps"),
    "truncation": ("StyleGAN's truncation psi trades recall (diversity) for precision (quality)",
                   "stylegan:truncation"),
    "trilemma": ("quality, diversity, sampling speed: no deep family wins all three (genlab compare)",
                 "trilemma:trilemma"),
    "mode-collapse": ("a GAN's samples collapse into one clump over ring8's modes; WGAN-GP and DDPM cover them",
                      "gans:mode_collapse"),
    "minimax-saturation": ("log(1 - D(G(z))) gives G no gradient once D is confident; -log D(G(z)) does",
                           "gans:minimax_saturation"),
    "autoencoder-vs-vae": ("an autoencoder samples poorly from N(0, I), a VAE well but blurrier than a GAN",
                           "autoencoders:autoencoder_vs_vae"),
    "elbo-vs-iwae": ("the ELBO is a lower bound on log p(x); the IWAE bound rises towards it with K",
                     "autoencoders:elbo_vs_iwae"),
}


def claim_function(name: str):
    """The function that measures the claim called ``name``."""
    if name not in CLAIMS:
        raise ConfigError(f"unknown claim {name!r}; valid: {', '.join(sorted(CLAIMS))}")
    module, function = CLAIMS[name][1].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def run_claim(name: str, out_dir: Path | str, quick: bool = False) -> Claim:
    """Measure the claim called ``name``, writing its plot under ``out_dir``; ``quick`` for
    the smaller budget the test suite uses."""
    return claim_function(name)(Path(out_dir), quick=quick)


__all__ = ["CLAIMS", "Claim", "claim_function", "run_claim"]
