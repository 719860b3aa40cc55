"""What the training benchmarks share: a timed training run and the image-score table.

The scripts run as ``python benchmarks/NAME.py``, so this module imports as ``common``.
"""

from __future__ import annotations

import time

import torch

import genlab
from genlab.trainer import Trainer, TrainConfig

# genlab.evaluate's image scores in the order the tables print them
IMAGE_SCORES = ("frechet_distance", "kid", "precision", "recall", "density", "coverage", "inception_score",
                "classes_hit", "conditional_accuracy")


def cpu_minutes(begin: float) -> float:
    """CPU minutes of this process since ``begin`` (a ``time.process_time()`` reading)."""
    return (time.process_time() - begin) / 60


def fit(name: str, settings: dict, data, *, steps: int, batch: int, seed: int):
    """A fresh ``name`` (seeded) trained on ``data``: (the model in eval mode, CPU minutes of
    training, without the monitors that ``genlab train`` logs)."""
    torch.manual_seed(seed)
    model = genlab.create(name, data=data, **settings)
    begin = time.process_time()
    Trainer(model, data, TrainConfig(steps=steps, batch_size=batch, seed=seed, progress=False)).run()
    return model.eval(), cpu_minutes(begin)


def print_scores(title: str, scores: dict, keys: tuple[str, ...] = IMAGE_SCORES) -> None:
    """``title``, then each of ``keys`` that ``scores`` holds: the model's value beside real-vs-real."""
    print(f"\n{title}")
    print(f"{'metric':<22} {'model':>10} {'real vs real':>13}")
    for key in keys:
        if key in scores:
            model, real = scores[key]["model"], scores[key]["real"]
            print(f"{key:<22} {model:>10.4g} {real:>13.4g}", flush=True)
