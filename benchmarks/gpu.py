"""On a GPU: steps per second and peak memory of dcgan, ddpm and vae on mnist5k at fp32,
bf16, fp16 and fp32 with torch.compile, each with a short check that the model still learns
(the Frechet distance on genlab's features falls); then dcgan trained for a budget of GPU
minutes, scored as the adversarial family's issue asks (Inception-style score, recall).

    python benchmarks/gpu.py [--steps 300] [--minutes 10] [--device cuda]
    python benchmarks/gpu.py --device cpu --steps 5 --minutes 0 --modes fp32 bf16   # a smoke test

Each configuration trains a fresh model (seed 0) with the dataset's preset settings; the
first ``--warmup`` steps (compilation, cuDNN's autotuning) are not timed.
"""

from __future__ import annotations

import argparse
import time

import torch

import genlab
from genlab.evaluation import evaluate
from genlab.models import get
from genlab.runs import SPLIT_SEED, TEST_FRACTION
from genlab.trainer import Trainer, TrainConfig

MODELS = ("dcgan", "ddpm", "vae")
MODES = {"fp32": dict(precision="fp32"), "bf16": dict(precision="bf16"), "fp16": dict(precision="fp16"),
         "fp32+compile": dict(precision="fp32", compile=True)}


def frechet(model, train, test) -> float:
    scores = evaluate(model.eval(), train, test, n=1000, metrics=["features"], seed=0)["scores"]
    model.train()
    return scores["frechet_distance"]["model"]


def trainer_for(name: str, train, device: str, steps: int, **settings) -> Trainer:
    cls = get(name)
    preset = dict(cls.presets.get("mnist5k", {}))
    batch = preset.pop("batch_size", 64)
    preset.pop("steps", None)
    torch.manual_seed(0)
    model = genlab.create(name, data=train, **preset)
    config = TrainConfig(steps=steps, batch_size=batch, device=device, progress=False, monitor=False, **settings)
    return Trainer(model, train, config)


def timed(trainer: Trainer, steps: int, first: int) -> float:
    """Seconds for ``steps`` training steps after step ``first``, the device's queue drained."""
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    trainer.model.train()
    sync()
    begin = time.perf_counter()
    for trainer.step in range(first + 1, first + steps + 1):
        trainer.train_step()
    sync()
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--minutes", type=float, default=10.0, help="dcgan's quality budget (0: skip)")
    args = parser.parse_args()
    train, test = genlab.load_dataset("mnist5k").split(TEST_FRACTION, seed=SPLIT_SEED)
    cuda = args.device.startswith("cuda")
    print(f"{'model':<6} {'mode':<13} {'steps/s':>8} {'peak MiB':>9} {'FD before':>10} {'FD after':>9}")
    for name in args.models:
        for mode in args.modes:
            trainer = trainer_for(name, train, args.device, 10 ** 9, **MODES[mode])
            before = frechet(trainer.model, train, test)
            torch.manual_seed(1)
            timed(trainer, args.warmup, 0)
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            seconds = timed(trainer, args.steps, args.warmup)
            peak = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else float("nan")
            after = frechet(trainer.model, train, test)
            print(f"{name:<6} {mode:<13} {args.steps / seconds:>8.1f} {peak:>9.0f} {before:>10.2f} {after:>9.2f}",
                  flush=True)
    if args.minutes > 0:
        trainer = trainer_for("dcgan", train, args.device, 10 ** 9)
        torch.manual_seed(1)
        step, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < 60 * args.minutes:
            timed(trainer, 100, step)
            step += 100
        scores = evaluate(trainer.model.eval(), train, test, n=1000, metrics=["features", "classes"], seed=0)["scores"]
        print(f"\ndcgan, {step} steps in {args.minutes:g} minutes on {args.device}: inception score "
              f"{scores['inception_score']['model']:.2f} (real {scores['inception_score']['real']:.2f}), recall "
              f"{scores['recall']['model']:.3f}, FD {scores['frechet_distance']['model']:.2f}")


if __name__ == "__main__":
    main()
