"""Trainer overhead for DCGAN: genlab's trainer against a bare PyTorch loop, same networks.

Both loops train freshly copied networks of one DCGAN (digits, 8x8) with the same batch
size and number of steps, in the same process, alternating so that machine noise hits
both; the best of several repeats is reported. Target: genlab within 5 % of the bare loop.

    python benchmarks/dcgan_overhead.py [--steps 300] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F

import genlab
from genlab.data import load_dataset
from genlab.trainer import Trainer, TrainConfig


def bare_dcgan(model, x, steps: int, batch: int) -> None:
    """The textbook non-saturating DCGAN loop, written out by hand (images in [-1, 1])."""
    G, D = model.generator, model.discriminator
    betas = (model.config.beta1, model.config.beta2)
    opt_d = torch.optim.Adam(D.parameters(), lr=model.config.lr, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=model.config.lr, betas=betas)
    latent = model.config.latent_dim
    x = 2 * x - 1
    for _ in range(steps):
        real = x[torch.randint(len(x), (batch,))]
        with torch.no_grad():
            fake = G(torch.randn(batch, latent))
        opt_d.zero_grad(set_to_none=True)
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        d_loss.backward()
        opt_d.step()
        real = x[torch.randint(len(x), (batch,))]  # the trainer draws a batch per phase too
        opt_g.zero_grad(set_to_none=True)
        g_loss = F.softplus(-D(G(torch.randn(batch, latent)))).mean()
        g_loss.backward()
        opt_g.step()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name: str, model, data, steps: int, batch: int, repeats: int) -> None:
    config = TrainConfig(steps=steps, batch_size=batch, log_every=100, progress=False)
    genlab_s, bare_s = [], []
    run_genlab = lambda: genlab_s.append(timed(lambda: Trainer(copy.deepcopy(model), data, config).run()))  # noqa: E731
    run_bare = lambda: bare_s.append(timed(lambda: bare_dcgan(copy.deepcopy(model), data.x, steps, batch)))  # noqa: E731
    run_genlab()  # warm-up for both: one-off imports and allocator growth
    run_bare()
    genlab_s.clear()
    bare_s.clear()
    for i in range(repeats):  # alternate which goes first, so drifts in machine speed cancel
        for fn in ((run_genlab, run_bare) if i % 2 == 0 else (run_bare, run_genlab)):
            fn()
    g, b = steps / min(genlab_s), steps / min(bare_s)
    print(f"{name:<16} {steps:>6} {batch:>6} {g:>12.1f} {b:>12.1f} {g / b:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a shared 2-core machine extra threads only add noise)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    digits = load_dataset("digits").split(0.2, seed=0)[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {args.repeats}")
    print(f"{'run':<16} {'steps':>6} {'batch':>6} {'genlab st/s':>12} {'bare st/s':>12} {'ratio':>8}")
    model = genlab.create("dcgan", data=digits, latent_dim=32, width=args.width)
    compare(f"dcgan digits w{args.width}", model, digits, args.steps, args.batch, args.repeats)
    print("ratio = genlab steps/s / bare loop steps/s (1.0 = no overhead)")


if __name__ == "__main__":
    main()
