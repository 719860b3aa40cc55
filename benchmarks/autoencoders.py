"""The autoencoder family on mnist5k at a stated CPU budget.

Run split of mnist5k (4,000 training and 1,000 test images, seed 0); convolutional encoders
and decoders of the same width and latent size throughout; one torch thread; the budget is
printed in steps and in CPU minutes of training.

- samplers: ``ae`` (codes drawn from N(0, I) through its decoder), ``vae`` (discretised
  logistic decoder over the 256 grey levels, decoder means shown) and ``vaegan`` (Larsen et al. 2016) with the same
  encoder and decoder; 1,000 samples scored by ``genlab.evaluate`` on genlab's classifier
  (Frechet distance, KID, precision/recall, density/coverage, Inception-style score, classes
  hit) beside real-vs-real; sample grids written side by side to ``--grid``.
- denoise: ``dae`` trained with Gaussian noise sigma = 0.5; on the held-out images, the MSE of
  the denoised images against the MSE of the noisy inputs (both to the clean images).
- cvae (latent_dim 8, beta 4, ``--cvae-steps`` steps): samples drawn for balanced labels
  0..9; the fraction the classifier calls the class asked for, beside the classifier's test
  accuracy.

    python benchmarks/autoencoders.py [--tasks samplers denoise cvae] [--steps 3000]
        [--cvae-steps 6000] [--grid autoencoders.png]

Seen (2026-12-07, one thread on a 2-core machine shared with other runs; model / real vs
real 0.180): ae FD 97.9, precision 0.001, recall 0, 6 classes (2.3 CPU minutes); vae with the
discretised logistic FD 17.7, precision 0.635, recall 0.706, score 4.23, 10 classes (2.7);
vaegan FD 4.44, precision 0.770, recall 0.907, score 5.10 (13.0). cvae (beta 4, 6,000 steps,
6.0 CPU minutes): 91.1 % of samples called their class (classifier 97.1 %), FD 4.31, score
7.77; at beta 2, 81.2 % and FD 5.71. A Bernoulli decoder on the grey levels, which genlab now
refuses (its ELBO bounds nothing), had reached 95 % at beta 2; on mnist5k binarised at 0.5 the
Bernoulli cvae reached 78.9 %.
"""

from __future__ import annotations

import argparse

import torch
from common import fit, print_scores

import genlab
from genlab.evaluation import evaluate
from genlab.plot import save_image_grid
from genlab.runs import SPLIT_SEED, TEST_FRACTION

SHARED = dict(backbone="conv", width=32, latent_dim=16)
SAMPLERS = {  # label: (model, settings)
    "ae": ("ae", SHARED),
    "vae": ("vae", dict(SHARED, likelihood="discretized")),
    "vaegan": ("vaegan", SHARED),
}
# A small code under a heavier KL weight leaves the class to the label: with a Bernoulli decoder
# on the grey levels, latent_dim 16 and beta 1 over 3,000 steps put 80 % of the cvae's samples in
# their class, latent_dim 8 and beta 2 over 6,000 steps 95 %. The discretised logistic's
# log-likelihood is larger than that cross-entropy, so the KL needs more weight: beta 4, 91 %.
CVAE = dict(latent_dim=8, beta=4.0)
BATCH = 64


def samplers(train, test, args) -> None:
    grids = []
    for label, (name, settings) in SAMPLERS.items():
        model, minutes = fit(name, settings, train, steps=args.steps, batch=BATCH, seed=args.seed)
        scores = evaluate(model, train, test, n=1000, metrics=["features", "classes"], seed=args.seed)["scores"]
        print_scores(f"{label} on mnist5k: {args.steps} steps x batch 64, {minutes:.1f} CPU minutes, "
                     f"seed {args.seed}, {settings}", scores)
        with torch.no_grad():
            grids.append(model.sample(64, generator=torch.Generator().manual_seed(args.seed)).cpu())
    if args.grid:  # each row: 8 samples of each model, a blank tile between models
        blank = torch.ones_like(grids[0][:1])
        tiles = [t for r in range(8) for i, g in enumerate(grids)
                 for t in ([blank] if i else []) + list(g[r * 8:(r + 1) * 8, None])]
        save_image_grid(torch.cat(tiles), args.grid, nrow=8 * len(grids) + len(grids) - 1)
        print(f"\nsample grids ({', '.join(SAMPLERS)}, left to right) written to {args.grid}")


def denoise(train, test, args) -> None:
    model, minutes = fit("dae", dict(SHARED, corruption="gaussian", noise=0.5), train, steps=args.steps,
                         batch=BATCH, seed=args.seed)
    noisy = test.x + 0.5 * torch.randn(test.x.shape, generator=torch.Generator().manual_seed(args.seed + 1))
    with torch.no_grad():
        denoised = model.denoise(noisy)
    noisy_mse = float((noisy - test.x).pow(2).mean())
    denoised_mse = float((denoised - test.x).pow(2).mean())
    print(f"\ndae (Gaussian noise sigma 0.5) on mnist5k: {args.steps} steps x batch 64, {minutes:.1f} CPU minutes")
    print(f"held-out MSE, noisy input {noisy_mse:.4f}; denoised {denoised_mse:.4f}; "
          f"ratio {denoised_mse / noisy_mse:.3f}", flush=True)


def cvae(train, test, args) -> None:
    settings = dict(SHARED, likelihood="discretized", **CVAE)
    model, minutes = fit("cvae", settings, train, steps=args.cvae_steps, batch=BATCH, seed=args.seed)
    scores = evaluate(model, train, test, n=1000, metrics=["features", "classes"], seed=args.seed)["scores"]
    print_scores(f"cvae on mnist5k: {args.cvae_steps} steps x batch 64, {minutes:.1f} CPU minutes, seed {args.seed}, "
                 f"{settings}", scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["samplers", "denoise", "cvae"],
                        choices=["samplers", "denoise", "cvae"])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cvae-steps", type=int, default=6000)
    parser.add_argument("--grid", default="autoencoders.png", help="PNG for the side-by-side sample grids")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, test = genlab.load_dataset("mnist5k").split(TEST_FRACTION, seed=SPLIT_SEED)
    for task in args.tasks:
        {"samplers": samplers, "denoise": denoise, "cvae": cvae}[task](train, test, args)


if __name__ == "__main__":
    main()
