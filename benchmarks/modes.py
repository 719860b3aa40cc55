"""Mode collapse on ring8 and grid25: GAN (both losses), WGAN and WGAN-GP.

Trains each model for several seeds with the same MLP backbones (hidden 128, 3 layers,
latent_dim 2, batch 256), draws 2,500 samples
and prints modes covered, % high-quality samples (within 3 sigma of a mode) and reverse KL
over modes, mean ± standard error over seeds, beside the published rows (PacGAN, Lin et al.
2018, tables 1-2; VEEGAN, Srivastava et al. 2017, table 1), and the CPU minutes per run.
The budget is stated with the table: published figures come from far longer runs.

    python benchmarks/modes.py [--steps 6000] [--seeds 3] [--data ring8 grid25]
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

BACKBONE = dict(hidden=128, layers=3, latent_dim=2)
MODELS = {  # label: (model name, settings beyond the backbone)
    "gan minimax": ("gan", dict(loss="minimax", lr=5e-4)),
    "gan nonsaturating": ("gan", dict(loss="nonsaturating", lr=5e-4)),
    "wgan": ("wgan", dict(lr=5e-5)),
    "wgan-gp": ("wgan-gp", dict(lr=1e-4, beta1=0.5, beta2=0.9)),
}
PUBLISHED = {  # modes, % HQ, reverse KL ("" where the paper gives none)
    "ring8": [("GAN (PacGAN)", "6.3", "98.2", "0.45"), ("PacGAN2", "7.9", "95.6", "0.07"),
              ("VEEGAN", "8", "52.9", "")],
    "grid25": [("GAN (PacGAN)", "17.3", "94.8", "0.70"), ("PacGAN4", "24.8", "93.6", "0.04"),
               ("VEEGAN", "24.6", "40", "")],
}


def run(name: str, settings: dict, seed: int, steps: int, train) -> dict:
    torch.manual_seed(seed)
    model = genlab.create(name, data=train, **BACKBONE, **settings)
    Trainer(model, train, TrainConfig(steps=steps, batch_size=256, seed=seed, progress=False)).run()
    model.eval()
    with torch.no_grad():
        x = model.sample(2500, generator=torch.Generator().manual_seed(seed))
    return mode_metrics(x, train.modes, train.sigma)


def mean_se(values: list[float]) -> str:
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return f"{statistics.mean(values):6.2f} ± {se:4.2f}"


def table(data: str, steps: int, seeds: int) -> None:
    train = load_dataset(data).split(0.2, seed=0)[0]
    k = len(train.modes)
    print(f"\n{data}: {steps} steps x batch 256, {seeds} seeds, backbone {BACKBONE}, 2,500 samples, 3 sigma")
    print(f"{'model':<20} {f'modes (of {k})':>15} {'% HQ':>16} {'reverse KL':>14} {'CPU min/run':>12}")
    for label, (name, settings) in MODELS.items():
        begin = time.process_time()
        results = [run(name, settings, seed, steps, train) for seed in range(seeds)]
        minutes = (time.process_time() - begin) / 60 / seeds
        print(f"{label:<20} {mean_se([r['modes'] for r in results]):>15} "
              f"{mean_se([r['hq_percent'] for r in results]):>16} {mean_se([r['reverse_kl'] for r in results]):>14} "
              f"{minutes:>12.2f}")
    for label, modes, hq, kl in PUBLISHED[data]:
        print(f"{'published ' + label:<20} {modes:>15} {hq:>16} {kl:>14}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", nargs="+", default=["ring8", "grid25"], choices=["ring8", "grid25"])
    args = parser.parse_args()
    for data in args.data:
        table(data, args.steps, args.seeds)


if __name__ == "__main__":
    main()
