"""DCGAN and conditional GAN on mnist5k: image quality after a stated CPU budget.

Trains each model on the run split of mnist5k (4,000 training images; 20 % held out, seed
0), then scores 1,000 samples with ``genlab.evaluate`` on the features and class
probabilities of genlab's classifier, beside the same figures for 1,000 real images: Frechet
distance, KID, precision/recall (k = 3), density/coverage, Inception-style score, classes
hit and, for the conditional model, the fraction of samples drawn for class c that the
classifier calls c. The budget is printed in steps and in CPU minutes of the training
process (one torch thread).

    python benchmarks/image_gans.py [--models dcgan cgan] [--steps 3000] [--seed 0]
"""

from __future__ import annotations

import argparse

import torch
from common import fit, print_scores

import genlab
from genlab.evaluation import evaluate
from genlab.runs import SPLIT_SEED, TEST_FRACTION

MODELS = {  # label: (model name, settings)
    "dcgan": ("dcgan", dict(width=32, latent_dim=100)),
    "cgan (conv, projection)": ("cgan", dict(backbone="conv", discriminator="projection", width=32,
                                             latent_dim=100)),
}


def train_and_score(label: str, steps: int, seed: int, train, test) -> tuple[dict, float]:
    name, settings = MODELS[label]
    # the training monitors (class coverage, small-N Frechet distance) stay on, as in `genlab train`
    model, minutes = fit(name, settings, train, steps=steps, batch=128, seed=seed, monitor=True)
    return evaluate(model, train, test, n=1000, metrics=["features", "classes"], seed=seed)["scores"], minutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dcgan", "cgan"], choices=["dcgan", "cgan"])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, test = genlab.load_dataset("mnist5k").split(TEST_FRACTION, seed=SPLIT_SEED)
    for label in MODELS:
        if label.split()[0] not in args.models:
            continue
        scores, minutes = train_and_score(label, args.steps, args.seed, train, test)
        print_scores(f"{label} on mnist5k: {args.steps} steps x batch 128, {minutes:.1f} CPU minutes, seed {args.seed}",
                     scores)


if __name__ == "__main__":
    main()
