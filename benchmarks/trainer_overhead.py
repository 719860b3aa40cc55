"""Trainer overhead: genlab's trainer against a bare PyTorch loop on the same networks
(MLP GAN on ring8, VAE on digits, DCGAN on digits).

Both loops train freshly initialised copies of the same networks with the same batch size
and number of steps, in the same process, alternating so that machine noise hits both; the
best of several repeats is reported, in CPU seconds of the process. Target: genlab within 5 % of the bare loop.

    python benchmarks/trainer_overhead.py [--steps 1000] [--dcgan-steps 300] [--repeats 5] [--threads 1]

Seen with ``--repeats 7`` on an idle 2-core machine (2026-12-01): gan 0.935, vae 0.936, dcgan
0.986. In wall time on the same machine shared with other runs, dcgan gave 0.83 and 0.93 on
consecutive runs, which is why the clock is the process's.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F

import genlab
from genlab.data import load_dataset
from genlab.metrics import dequantize
from genlab.trainer import Trainer, TrainConfig


def bare_gan(model, x, steps: int, batch: int) -> None:
    """The textbook non-saturating GAN loop, written out by hand."""
    G, D = model.generator, model.discriminator
    betas = (model.config.beta1, model.config.beta2)
    opt_d = torch.optim.Adam(D.parameters(), lr=model.config.lr, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=model.config.lr, betas=betas)
    latent = model.config.latent_dim
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


def bare_vae(model, x, steps: int, batch: int) -> None:
    """The textbook VAE loop (Gaussian decoder on dequantised data), written out by hand."""
    enc, dec = model.encoder, model.decoder
    opt = torch.optim.Adam(model.parameters(), lr=model.config.lr)
    x = x.flatten(1)
    for _ in range(steps):
        xb = dequantize(x[torch.randint(len(x), (batch,))], 17)
        mu, logvar = enc(xb).chunk(2, dim=1)
        logvar = logvar.clamp(-12, 8)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        mean, out_logvar = dec(z).chunk(2, dim=1)
        out_logvar = out_logvar.clamp(-12, 8)
        nll = 0.5 * (1.8378770664093453 + out_logvar + (xb - mean).pow(2) / out_logvar.exp()).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        loss = (nll + kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def bare_dcgan(model, x, steps: int, batch: int) -> None:
    """The same loop for DCGAN, whose networks see images in [-1, 1]."""
    bare_gan(model, 2 * x - 1, steps, batch)


def timed(fn) -> float:
    """CPU seconds of this process spent in fn: other load on a shared machine does not
    count, as it does in wall time (with one thread and an idle machine the two agree)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def compare(name: str, model, data, bare, steps: int, batch: int, repeats: int) -> None:
    config = TrainConfig(steps=steps, batch_size=batch, log_every=100, progress=False)
    genlab_s, bare_s = [], []
    run_genlab = lambda: genlab_s.append(timed(lambda: Trainer(copy.deepcopy(model), data, config).run()))  # noqa: E731
    run_bare = lambda: bare_s.append(timed(lambda: bare(copy.deepcopy(model), data.x, steps, batch)))  # noqa: E731
    run_genlab()  # warm-up for both: one-off imports and allocator growth
    run_bare()
    genlab_s.clear()
    bare_s.clear()
    for i in range(repeats):  # alternate which goes first, so drifts in machine speed cancel
        for fn in ((run_genlab, run_bare) if i % 2 == 0 else (run_bare, run_genlab)):
            fn()
    g, b = steps / min(genlab_s), steps / min(bare_s)
    print(f"{name:<14} {steps:>6} {batch:>6} {g:>12.1f} {b:>12.1f} {g / b:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--dcgan-steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: these networks are too small to gain from more, "
                             "and on a shared 2-core machine extra threads only add noise)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ring8 = load_dataset("ring8").split(0.2, seed=0)[0]
    digits = load_dataset("digits").split(0.2, seed=0)[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {args.repeats}")
    print(f"{'run':<14} {'steps':>6} {'batch':>6} {'genlab st/s':>12} {'bare st/s':>12} {'ratio':>8}")
    gan = genlab.create("gan", data=ring8, hidden=128, layers=2, latent_dim=8, lr=1e-3)
    compare("gan ring8", gan, ring8, bare_gan, args.steps, 256, args.repeats)
    vae = genlab.create("vae", data=digits, hidden=256, latent_dim=8)
    compare("vae digits", vae, digits, bare_vae, args.steps, 128, args.repeats)
    dcgan = genlab.create("dcgan", data=digits, width=16)
    compare("dcgan digits", dcgan, digits, bare_dcgan, args.dcgan_steps, 64, args.repeats)
    print("ratio = genlab steps/s / bare loop steps/s (1.0 = no overhead)")


if __name__ == "__main__":
    main()
