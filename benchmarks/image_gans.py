"""DCGAN, conditional GAN and DDPM on mnist5k: image quality after a stated CPU budget.

Trains each model on the run split of mnist5k (4,000 training images; 20 % held out, seed
0), then scores 1,000 samples with ``genlab.evaluate`` on the features and class
probabilities of genlab's classifier, beside the same figures for 1,000 real images: Frechet
distance, KID, precision/recall (k = 3), density/coverage, Inception-style score, classes
hit and, for the conditional model, the fraction of samples drawn for class c that the
classifier calls c. The budget is printed in steps and in CPU minutes of the training
process (one torch thread). ``ddpm`` is left out unless asked for: its training alone takes
about 16 CPU minutes.

    python benchmarks/image_gans.py [--models dcgan cgan ddpm] [--steps N] [--seed 0]

Seen (2026-12-01, a busy 2-core machine; model / real vs real): dcgan, 7,000 steps in 13.9 CPU
minutes: FD 0.635 / 0.180, precision 0.854 / 0.907, recall 0.907 / 0.900, Inception-style
score 7.09 / 9.00, 10 classes hit. cgan, 3,000 steps in 10.4: FD 0.247, score 9.07, 98.2 %
of samples called their class. ddpm, 2,500 steps in 14.8: FD 9.16, precision 0.688, recall
0.885, score 5.34, 10 classes. Rerun of dcgan after the model protocol of ``models/base.py``
(2026-12-07): the same figures to every printed digit (7,000 steps in 12.0 CPU minutes).
"""

from __future__ import annotations

import argparse

import torch
from common import fit, print_scores

import genlab
from genlab.evaluation import evaluate
from genlab.runs import SPLIT_SEED, TEST_FRACTION

MODELS = {  # label: (model name, settings, batch, default steps)
    # batch 64 and lr 5e-4 rather than the paper's 128 and 2e-4, which reached Frechet distance
    # 1.3 and Inception-style score 6.3 in 12 CPU minutes
    "dcgan": ("dcgan", dict(width=32, latent_dim=100, lr=5e-4), 64, 7000),
    "cgan (conv, projection)": ("cgan", dict(backbone="conv", discriminator="projection", width=32,
                                             latent_dim=100), 128, 3000),
    # the diffusion family beside them (issue 7): a U-Net at half the default width, which costs
    # a quarter as much per step on a CPU; sampled by DDIM over 50 steps from its EMA weights
    "ddpm (ddim 50)": ("ddpm", dict(width=16), 64, 2500),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dcgan", "cgan"],
                        choices=[name for name, *_ in MODELS.values()], help="models to train (default dcgan cgan)")
    parser.add_argument("--steps", type=int, default=None, help="steps for every model (default: each its own)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, test = genlab.load_dataset("mnist5k").split(TEST_FRACTION, seed=SPLIT_SEED)
    for label, (name, settings, batch, steps) in MODELS.items():
        if name not in args.models:
            continue
        steps = args.steps or steps
        model, minutes = fit(name, settings, train, steps=steps, batch=batch, seed=args.seed)
        scores = evaluate(model, train, test, n=1000, metrics=["features", "classes"], seed=args.seed)["scores"]
        print_scores(f"{label} on mnist5k: {steps} steps x batch {batch}, {minutes:.1f} CPU minutes, "
                     f"seed {args.seed}", scores)


if __name__ == "__main__":
    main()
