"""Held-out likelihood of the likelihood-based families at a stated CPU budget.

Binarised mnist5k (threshold 0.5, the run split: 4,000 training and 1,000 test images,
seed 0), test NLL in nats per image: independent pixels (each pixel a Bernoulli with its
training mean), the convolutional VAE with a Bernoulli decoder (-ELBO and the IWAE bound
with K importance samples, Burda et al. 2016), gated PixelCNN and Row-LSTM PixelRNN (exact).
Digits at 17 grey levels: bits/dim of the full-covariance Gaussian mixture (on uniformly
dequantised data, the better of 5 and 10 components), PixelCNN and PixelRNN (exact, over the
levels) and the variational bound of DDPM, beside the uniform log2(17). Each row prints its
training steps and the CPU minutes of training and of evaluation (one torch thread).

    python benchmarks/likelihood.py [--tasks binary digits] [--models vae pixelcnn pixelrnn ddpm]
        [--iwae-k 1000] [--vae-steps 8000] [--pixel-steps 1100] [--digits-steps 1500]

Seen with the defaults (2026-12-01, one thread on a 2-core machine shared with other runs):
binarised mnist5k, independent pixels 204.26 nats; vae -ELBO 113.40 and IWAE (K = 1,000)
93.14 after 8,000 steps (11.1 CPU minutes; the IWAE took 5.9); gated pixelcnn 69.95 (1,100
steps, 14.9 minutes); Row LSTM pixelrnn 71.68 (1,100 steps, 9.2 minutes). Digits: uniform
4.09 bits/dim, gmm 2.72, gated pixelcnn 1.81 and pixelrnn 1.81 (1,500 steps, 1.1 and 1.2
minutes). Rerun of the digits task after the model protocol of ``models/base.py`` (2026-12-07):
the same figures, and ddpm's bound 3.08 bits/dim (1,500 steps, 3.9 CPU minutes).
The literature's binarised MNIST (docs/EVALUATION.md) is sampled pixel by pixel from
the grey levels and trained on 60,000 images; thresholding at 0.5 gives a less noisy,
easier set, so figures here compare models on the same data, not with the papers' numbers.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from common import cpu_minutes, fit

import genlab
from genlab.runs import SPLIT_SEED, TEST_FRACTION

# budgets sized to about 15 CPU minutes (vae) and 20 (pixel models) on one core
BINARY = {  # label: (model, settings, batch)
    "vae (conv, Bernoulli)": ("vae", dict(backbone="conv", likelihood="bernoulli", latent_dim=32), 128),
    "pixelcnn (gated)": ("pixelcnn", dict(gated=True), 64),
    "pixelrnn (Row LSTM)": ("pixelrnn", dict(), 64),
}
DIGITS = {
    "pixelcnn (gated)": ("pixelcnn", dict(gated=True, layers=4, channels=32, kernel_size=5), 64),
    "pixelrnn (Row LSTM)": ("pixelrnn", dict(layers=2, channels=32, kernel_size=5), 64),
    # the variational bound of Ho et al. (their discretised decoder over the 17 levels), an
    # upper bound on bits/dim where the rows above are exact; T = 1000, 100 strata of terms
    "ddpm (bound)": ("ddpm", dict(width=32, levels=(1, 2)), 128),
}


def row(label: str, figure: float, steps: str, train_min: str, eval_min: str) -> None:
    print(f"{label:<30} {figure:>9.2f} {steps:>7} {train_min:>10} {eval_min:>9}", flush=True)


def binary_table(args) -> None:
    train, test = genlab.load_dataset("mnist5k", binarize=0.5).split(TEST_FRACTION, seed=SPLIT_SEED)
    print(f"\nbinarised mnist5k: test NLL in nats per image ({len(test)} test images)")
    print(f"{'model':<30} {'NLL':>9} {'steps':>7} {'train min':>10} {'eval min':>9}")
    p = train.x.mean(0).clamp(1e-3, 1 - 1e-3)
    independent = -(test.x * p.log() + (1 - test.x) * (1 - p).log()).flatten(1).sum(1).mean()
    row("independent pixels", float(independent), "-", "-", "-")
    for label, (name, settings, batch) in BINARY.items():
        if name not in args.models:
            continue
        steps = args.vae_steps if name == "vae" else args.pixel_steps
        model, minutes = fit(name, settings, train, steps=steps, batch=batch, seed=0)
        begin = time.process_time()
        with torch.no_grad():
            if name == "vae":
                elbo = float(model.negative_elbo(test.x).mean())
                row(f"{label} -ELBO", elbo, str(steps), f"{minutes:.1f}", f"{cpu_minutes(begin):.1f}")
                begin = time.process_time()
                iwae = float(model.iwae_nll(test.x, args.iwae_k).mean())
                row(f"{label} IWAE K={args.iwae_k}", iwae, str(steps), f"{minutes:.1f}", f"{cpu_minutes(begin):.1f}")
            else:
                row(label, model.evaluate(test)["nll"], str(steps), f"{minutes:.1f}", f"{cpu_minutes(begin):.1f}")


def digits_table(args) -> None:
    train, test = genlab.load_dataset("digits").split(TEST_FRACTION, seed=SPLIT_SEED)
    print(f"\ndigits (17 levels): test bits/dim ({len(test)} test images)")
    print(f"{'model':<30} {'bits/dim':>9} {'steps':>7} {'train min':>10} {'eval min':>9}")
    row("uniform over the levels", math.log2(17), "-", "-", "-")
    begin = time.process_time()
    gmm = min(genlab.train(genlab.create("gmm", data=train, components=k, covariance="full"), train)
              .evaluate(test)["bits_per_dim"] for k in (5, 10))
    row("gmm (full covariance)", gmm, "EM", f"{cpu_minutes(begin):.1f}", "-")
    for label, (name, settings, batch) in DIGITS.items():
        if name not in args.models:
            continue
        model, minutes = fit(name, settings, train, steps=args.digits_steps, batch=batch, seed=0)
        begin = time.process_time()
        with torch.no_grad():
            bpd = model.evaluate(test)["bits_per_dim"]
        row(label, bpd, str(args.digits_steps), f"{minutes:.1f}", f"{cpu_minutes(begin):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["binary", "digits"], choices=["binary", "digits"])
    parser.add_argument("--models", nargs="+", default=["vae", "pixelcnn", "pixelrnn", "ddpm"],
                        choices=["vae", "pixelcnn", "pixelrnn", "ddpm"])
    parser.add_argument("--iwae-k", type=int, default=1000)
    parser.add_argument("--vae-steps", type=int, default=8000)
    parser.add_argument("--pixel-steps", type=int, default=1100)
    parser.add_argument("--digits-steps", type=int, default=1500)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if "binary" in args.tasks:
        binary_table(args)
    if "digits" in args.tasks:
        digits_table(args)


if __name__ == "__main__":
    main()
