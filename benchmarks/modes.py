"""Mode collapse on ring8 and grid25: GAN (both losses), WGAN and WGAN-GP, and DDPM beside them.

Trains each model for several seeds with the same MLP backbones (hidden 128, 3 layers,
latent_dim 2, batch 256; wgan-gp hidden 256 and latent_dim 8), draws 2,500 samples
and prints modes covered, % high-quality samples (within 3 sigma of a mode) and reverse KL
over modes, mean ± standard error over seeds, beside the published rows (PacGAN, Lin et al.
2018, tables 1-2; VEEGAN, Srivastava et al. 2017, table 1), and the CPU minutes per run.
The budget is stated with the table: published figures come from far longer runs.

    python benchmarks/modes.py [--steps N] [--seeds 3] [--data ring8 grid25] [--jobs 2]
                               [--models "gan minimax" ... "ddpm (ddim 50)"]

``--jobs`` trains that many runs at once in separate processes (one torch thread each);
CPU minutes are measured inside each run, so they do not depend on it.

Seen with the default budgets and 3 seeds (2026-12-01; steps, modes, % HQ, reverse KL, CPU
min/run): ring8 gan minimax 16,000 / 8.00 / 90.0 / 0.06 / 1.8, non-saturating 16,000 / 8.00 /
94.9 / 0.14 / 1.6, wgan 16,000 / 8.00 / 43.8 / 0.21 / 4.9, wgan-gp 4,000 / 8.00 / 55.4 / 0.05
/ 4.9, ddpm 4,000 / 8.00 / 71.3 / 0.00 / 0.7; grid25 gan minimax 25.00 / 83.0 / 0.07 / 1.6,
non-saturating 21.33 / 88.5 / 0.35 / 1.7, wgan 16.00 / 2.3 / 0.75 / 4.9, wgan-gp 24.33 / 10.0
/ 0.52 / 5.2, ddpm 25.00 / 70.9 / 0.01 / 0.6. Rerun of the gan minimax and wgan-gp rows after the
model protocol of ``models/base.py`` (2026-12-07, --jobs 1): the same figures to every printed digit.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import torch

import genlab
from genlab.data import load_dataset
from genlab.metrics import mode_metrics
from genlab.trainer import Trainer, TrainConfig

BACKBONE = dict(hidden=128, layers=3, latent_dim=2)
MODELS = {  # label: (model name, settings, default steps)
    # the shared backbone is cheap (0.1 CPU minutes per 1,000 steps for a GAN): 16,000 steps,
    # with which the GAN rows settle (at 4,000 they covered 21-22 of grid25's modes)
    "gan minimax": ("gan", dict(BACKBONE, loss="minimax", lr=5e-4), 16_000),
    "gan nonsaturating": ("gan", dict(BACKBONE, loss="nonsaturating", lr=5e-4), 16_000),
    "wgan": ("wgan", dict(BACKBONE, lr=5e-5), 16_000),
    # lambda 0.1 and betas (0.5, 0.9) as in Gulrajani et al.'s code for their 2-D toys (10 is
    # for images); lr 3e-4 rather than their 1e-4 to fit a CPU budget; a wider net and an
    # 8-d latent: with the shared backbone it covered 19-22 of grid25's modes at 2,000 steps,
    # with these 23-25
    "wgan-gp": ("wgan-gp", dict(BACKBONE, lr=3e-4, beta1=0.5, beta2=0.9, gp_weight=0.1, hidden=256, latent_dim=8),
                4_000),
    # the diffusion family beside them (issue 7): a residual MLP with time embedding, T = 1000,
    # linear schedule, eps-prediction, sampled by DDIM over 50 steps from its EMA weights
    "ddpm (ddim 50)": ("ddpm", dict(hidden=256, layers=3), 4_000),
}
PUBLISHED = {  # modes, % HQ, reverse KL ("" where the paper gives none)
    "ring8": [("GAN (PacGAN)", "6.3", "98.2", "0.45"), ("PacGAN2", "7.9", "95.6", "0.07"),
              ("VEEGAN", "8", "52.9", "")],
    "grid25": [("GAN (PacGAN)", "17.3", "94.8", "0.70"), ("PacGAN4", "24.8", "93.6", "0.04"),
               ("VEEGAN", "24.6", "40", "")],
}


def run(data: str, label: str, seed: int, steps: int) -> dict:
    """Train one model on one seed; its mode metrics and the CPU minutes it took."""
    torch.set_num_threads(1)
    begin = time.process_time()
    train = load_dataset(data).split(0.2, seed=0)[0]
    name, settings, _ = MODELS[label]
    torch.manual_seed(seed)
    model = genlab.create(name, data=train, **settings)
    Trainer(model, train, TrainConfig(steps=steps, batch_size=256, seed=seed, progress=False)).run()
    model.eval()
    with torch.no_grad():
        x = model.sample(2500, generator=torch.Generator().manual_seed(seed))
    return {**mode_metrics(x, train.modes, train.sigma), "cpu_minutes": (time.process_time() - begin) / 60}


def mean_se(values: list[float]) -> str:
    se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
    return f"{statistics.mean(values):6.2f} ± {se:4.2f}"


def table(data: str, steps: int | None, seeds: int, labels: list[str], pool: ProcessPoolExecutor) -> None:
    k = len(load_dataset(data).modes)
    print(f"\n{data}: batch 256, {seeds} seeds, backbone {BACKBONE} (wgan-gp: hidden 256, "
          "latent_dim 8; ddpm: hidden 256), 2,500 samples, 3 sigma")
    print(f"{'model':<20} {'steps':>7} {f'modes (of {k})':>15} {'% HQ':>16} {'reverse KL':>14} {'CPU min/run':>12}")
    budget = {label: steps or MODELS[label][2] for label in labels}
    futures = {label: [pool.submit(run, data, label, seed, budget[label]) for seed in range(seeds)]
               for label in labels}
    for label, runs in futures.items():
        results = [f.result() for f in runs]
        minutes = statistics.mean(r["cpu_minutes"] for r in results)
        print(f"{label:<20} {budget[label]:>7} {mean_se([r['modes'] for r in results]):>15} "
              f"{mean_se([r['hq_percent'] for r in results]):>16} {mean_se([r['reverse_kl'] for r in results]):>14} "
              f"{minutes:>12.2f}", flush=True)
    for label, modes, hq, kl in PUBLISHED[data]:
        print(f"{'published ' + label:<20} {'':>7} {modes:>15} {hq:>16} {kl:>14}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None,
                        help="steps for every row (default: each row's own budget, printed in the table)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", nargs="+", default=["ring8", "grid25"], choices=["ring8", "grid25"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS), metavar="MODEL",
                        help=f"rows to train (default all: {', '.join(MODELS)})")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (default 2)")
    args = parser.parse_args()
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        for data in args.data:
            table(data, args.steps, args.seeds, args.models, pool)


if __name__ == "__main__":
    main()
