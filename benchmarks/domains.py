"""Between domains: CycleGAN's unpaired translation and DANN's adaptation, after a stated budget.

CycleGAN trains on a built-in pair of mnist5k halves (A) against a transform of the other
half (B), then scores 500 held-out images of each domain with ``translation_scores``: the
fraction whose digit the genlab classifier of the target domain still reads after
translation, the Frechet distance (on that classifier's features) from held-out target images
to the translated images and to the untranslated inputs, and the cycle error. DANN trains
against its source-only baseline (the same code with ``domain_weight=0``) on two moons
rotated by 30 degrees and on sklearn digits to mnist5k averaged down to 8x8, 3 seeds each,
and prints held-out source and target accuracy as mean and standard deviation. Budgets are
in steps and in CPU minutes of the training process (one torch thread).

    python benchmarks/domains.py [--tasks cyclegan moons digits] [--pair mnist5k-inverted] [--seeds 3]

Seen (2026-12-01, a 2-core machine shared with one other run). cyclegan, 1,500 steps x batch
16: mnist5k-inverted in 5.7 CPU minutes, digits kept 96.0 % A -> B and 96.2 % B -> A (the
target classifiers' own test accuracy 97.4 % and 94.4 %), Frechet distance to B 0.45 after
translation against 215.1 before (478 times lower; real vs real 0.51), cycle error 0.020;
mnist5k-dilated in 6.3 CPU minutes, 95.2 % kept, Frechet distance 0.47 against 36.8 (79 times
lower). dann, target accuracy over 3 seeds: moons-rotated 0.938 +- 0.027 against 0.819 +-
0.044 source only (0.09 CPU minutes a run); digits-mnist5k 0.396 +- 0.030 against 0.260 +-
0.032 (+13.6 points; source accuracy 0.965 and 0.968; 0.3 CPU minutes a run).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from common import fit

from genlab.metrics.domains import translation_scores
from genlab.runs import load_split

CYCLEGAN = (dict(width=16, d_width=16, res_blocks=3), 16, 1500)  # settings, batch, steps
DANN = {  # task: (pair, settings, batch, steps)
    "moons": ("moons-rotated", dict(lr=3e-3, schedule_steps=2000), 128, 2000),
    "digits": ("digits-mnist5k", dict(lr=1e-3, schedule_steps=2000), 64, 2000),
}


def translation(pair: str, seed: int) -> None:
    settings, batch, steps = CYCLEGAN
    train, test = load_split(pair)
    model, minutes = fit("cyclegan", settings, train, steps=steps, batch=batch, seed=seed)
    result = translation_scores(model, train, test, n=500, seed=seed)
    print(f"\ncyclegan on {pair}: {steps} steps x batch {batch}, {minutes:.1f} CPU minutes, seed {seed}, "
          f"{settings}")
    print(f"{'metric':<22} {'model':>10} {'real vs real':>13}")
    for key, s in result["scores"].items():
        real = "" if s["real"] is None else f"{s['real']:.4g}"
        print(f"{key:<22} {s['model']:>10.4g} {real:>13}")
    for d in ("a2b", "b2a"):
        ratio = result["scores"][f"{d}_fd_untranslated"]["model"] / result["scores"][f"{d}_fd_translated"]["model"]
        print(f"{d}: Frechet distance to the target domain {ratio:.1f} times lower after translation")


def adaptation(task: str, seeds: int) -> None:
    pair, settings, batch, steps = DANN[task]
    train, test = load_split(pair)
    print(f"\ndann on {pair}: {steps} steps x batch {batch}, {settings}, seeds 0..{seeds - 1}")
    print(f"{'model':<14} {'source acc':>18} {'target acc':>18} {'CPU min':>8}")
    means = {}
    for label, weight in (("source only", 0.0), ("dann", 1.0)):
        runs = [fit("dann", {**settings, "domain_weight": weight}, train, steps=steps, batch=batch, seed=seed)
                for seed in range(seeds)]
        acc = [model.evaluate(test) for model, _ in runs]
        src, tgt = ([a[k] for a in acc] for k in ("source_accuracy", "target_accuracy"))
        minutes = sum(m for _, m in runs) / seeds
        means[label] = statistics.mean(tgt)
        print(f"{label:<14} {statistics.mean(src):>10.4f} +- {statistics.stdev(src):.4f} "
              f"{statistics.mean(tgt):>10.4f} +- {statistics.stdev(tgt):.4f} {minutes:>8.2f}", flush=True)
    print(f"gain on the target: {100 * (means['dann'] - means['source only']):+.1f} points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["cyclegan", *DANN], choices=["cyclegan", *DANN])
    parser.add_argument("--pair", default="mnist5k-inverted", help="the cyclegan pair (default mnist5k-inverted)")
    parser.add_argument("--seeds", type=int, default=3, help="dann seeds (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="cyclegan seed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for task in args.tasks:
        if task == "cyclegan":
            translation(args.pair, args.seed)
        else:
            adaptation(task, args.seeds)


if __name__ == "__main__":
    main()
