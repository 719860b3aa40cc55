"""GAN on ring8 with a longer budget: the full EVALUATION.md mode figures (3 sigma rule).

Trains the MLP GAN (non-saturating and minimax losses) for several seeds, draws 2,500
samples from each and prints modes covered, % high-quality samples and reverse KL over
modes (mean and standard error over seeds) beside the published GAN row (PacGAN, Lin et
al. 2018, table 1: 6.3 modes / 98.2 % HQ / reverse KL 0.45).

    python benchmarks/gan_ring8.py [--steps 6000] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import genlab
from genlab.data import load_dataset
from genlab.metrics import mode_metrics
from genlab.trainer import Trainer, TrainConfig

SETTINGS = dict(hidden=128, layers=3, latent_dim=2, lr=5e-4)


def run(loss: str, seed: int, steps: int, train) -> dict:
    torch.manual_seed(seed)
    model = genlab.create("gan", data=train, loss=loss, **SETTINGS)
    Trainer(model, train, TrainConfig(steps=steps, batch_size=256, seed=seed, progress=False)).run()
    model.eval()
    with torch.no_grad():
        x = model.sample(2500, generator=torch.Generator().manual_seed(seed))
    return mode_metrics(x, train.modes, train.sigma)


def mean_se(values: list[float]) -> str:
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return f"{statistics.mean(values):6.2f} ± {se:4.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    train = load_dataset("ring8").split(0.2, seed=0)[0]
    print(f"ring8, {args.steps} steps x batch 256, {args.seeds} seeds, settings {SETTINGS}, 2,500 samples, 3 sigma")
    print(f"{'model':<20} {'modes (of 8)':>14} {'% HQ':>16} {'reverse KL':>14} {'CPU min/run':>12}")
    for loss in ("nonsaturating", "minimax"):
        begin = time.process_time()
        results = [run(loss, seed, args.steps, train) for seed in range(args.seeds)]
        minutes = (time.process_time() - begin) / 60 / args.seeds
        print(f"{'gan ' + loss:<20} {mean_se([r['modes'] for r in results]):>14} "
              f"{mean_se([r['hq_percent'] for r in results]):>16} {mean_se([r['reverse_kl'] for r in results]):>14} "
              f"{minutes:>12.2f}")
    print(f"{'published GAN':<20} {'6.3':>14} {'98.2':>16} {'0.45':>14}")


if __name__ == "__main__":
    main()
