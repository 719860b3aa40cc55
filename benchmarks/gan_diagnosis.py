"""Why dcgan's Inception-style score on mnist5k stays below the real images': a diagnosis.

Trains dcgan as ``benchmarks/image_gans.py`` does (width 32, latent 100, batch 64, lr 5e-4,
7,000 steps, seed 0), then prints, for 1,000 samples beside 1,000 real images:

- the score's two factors. With p(y|x) the genlab classifier's class probabilities and p(y)
  their mean, E KL(p(y|x) || p(y)) = H(p(y)) - E H(p(y|x)), so the score is
  exp H(p(y)) / exp E H(p(y|x)): class balance (10 at best for ten classes) over the
  classifier's doubt per image (1 at best);
- the fraction of images whose top class probability is above 0.9;
- the score of real images with Gaussian pixel noise added, for the scale of the score's
  sensitivity;
- mean D(x) on training images and on held-out real images, and mean D(G(z)), with the
  discriminator in training mode (batch statistics, as it is trained): a discriminator that
  scores training images far above held-out ones is memorising its 4,000 images
  (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data").

    python benchmarks/gan_diagnosis.py [--steps 7000] [--seed 0]

Seen (2026-12-01, 2-core machine, one torch thread, 13.6 CPU minutes of training):

    images                      score  balance  doubt  p > 0.9
    samples                     7.089    9.930  1.401    0.662
    held-out real               8.725    9.937  1.139    0.895
    training real               8.965    9.975  1.113    0.921
    training real + noise 0.02  8.811    9.963  1.131    0.908
    training real + noise 0.05  8.025    9.872  1.230    0.830
    training real + noise 0.1   4.578    7.599  1.660    0.411
    mean D(x): training images 0.824, held-out images 0.225; mean D(G(z)) 0.029

The samples are as balanced over the classes as real images; what the score misses is the
third of them that the classifier doubts: blends between two digits, which a continuous
generator of a Gaussian latent cannot avoid entirely (Tanielian et al. 2020, "Learning
disconnected manifolds: a no GAN's land"). And the discriminator has memorised its
training images, which it scores far above held-out ones.
"""

from __future__ import annotations

import argparse
import math

import torch
from common import fit

import genlab
from genlab.metrics.features import feature_network
from genlab.runs import SPLIT_SEED, TEST_FRACTION

N = 1000
SETTINGS = dict(width=32, latent_dim=100, lr=5e-4)


def score_factors(probs: torch.Tensor) -> tuple[float, float, float, float]:
    """(score, exp H(p(y)), exp E H(p(y|x)), fraction with max p(y|x) > 0.9) of (N, K) probabilities."""
    p = probs.double()
    marginal = p.mean(0)
    balance = math.exp(float(-torch.xlogy(marginal, marginal).sum()))
    doubt = math.exp(float(-torch.xlogy(p, p).sum(1).mean()))
    return balance / doubt, balance, doubt, float((p.max(1).values > 0.9).double().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=7000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, test = genlab.load_dataset("mnist5k").split(TEST_FRACTION, seed=SPLIT_SEED)
    model, minutes = fit("dcgan", SETTINGS, train, steps=args.steps, batch=64, seed=args.seed)
    net = feature_network(train, test, seed=0)
    generator = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        samples = model.sample(N, generator=generator)
    real = test.x[:N]
    print(f"\ndcgan on mnist5k: {args.steps} steps x batch 64, {minutes:.1f} CPU minutes, seed {args.seed}")
    print(f"{'images':<28} {'score':>7} {'balance':>8} {'doubt':>7} {'p > 0.9':>8}")
    training = train.x[torch.randperm(len(train.x), generator=generator)[:N]]
    rows = [("samples", samples), ("held-out real", real), ("training real", training)]
    for sigma in (0.02, 0.05, 0.1):
        noise = sigma * torch.randn(training.shape, generator=generator)
        rows.append((f"training real + noise {sigma}", (training + noise).clamp(0, 1)))
    for name, images in rows:
        score, balance, doubt, confident = score_factors(net.probs(images))
        print(f"{name:<28} {score:>7.3f} {balance:>8.3f} {doubt:>7.3f} {confident:>8.3f}", flush=True)
    model.train()  # the discriminator as it is trained: batch statistics
    with torch.no_grad():
        d_train = torch.sigmoid(model.discriminate(2 * train.x[:512] - 1)).mean()
        d_test = torch.sigmoid(model.discriminate(2 * test.x[:512] - 1)).mean()
        fake = model.generate(torch.randn(512, SETTINGS["latent_dim"], generator=generator))
        d_fake = torch.sigmoid(model.discriminate(fake)).mean()
    print(f"mean D(x): training images {d_train:.3f}, held-out images {d_test:.3f}; mean D(G(z)) {d_fake:.3f}")


if __name__ == "__main__":
    main()
