"""The GAN learns ring8; its two generator losses behave as Goodfellow et al. describe."""

import torch

import genlab
from genlab.data import load_dataset
from genlab.metrics import mode_metrics
from genlab.models.adversarial import minimax_generator_loss, nonsaturating_generator_loss
from genlab.trainer import Trainer, TrainConfig

# Counting rule for a short budget: a sample counts for its nearest mode when it lies within
# 10 sigma (0.1) of it, well inside half the distance between neighbouring modes (0.38).
# The 3 sigma figures of docs/EVALUATION.md need a longer run: benchmarks/modes.py.
SHORT_BUDGET_RADIUS_SIGMAS = 10


def test_nonsaturating_gan_learns_ring8():
    torch.manual_seed(0)
    train, _ = load_dataset("ring8").split(0.2, seed=0)
    model = genlab.create("gan", data=train, hidden=128, layers=3, latent_dim=2, lr=5e-4)
    trainer = Trainer(model, train, TrainConfig(steps=2000, batch_size=256, log_every=500, progress=False))
    trainer.run()
    x = model.sample(2500, generator=torch.Generator().manual_seed(1))
    m = mode_metrics(x, train.modes, train.sigma, radius_sigmas=SHORT_BUDGET_RADIUS_SIGMAS)
    assert m["modes"] >= 6, m
    # the discriminator is logged and is neither winning nor losing outright
    log = trainer.last_log
    assert 0.2 < log["d_real"] < 0.9 and 0.1 < log["d_fake"] < 0.8, log


def test_minimax_loss_saturates_where_nonsaturating_does_not():
    # When D confidently rejects fakes (logit -8, D(G(z)) ~ 3e-4), the minimax generator
    # loss has almost no gradient; the non-saturating loss still pushes with slope ~ -1.
    logits = torch.full((16,), -8.0, requires_grad=True)
    (g_minimax,) = torch.autograd.grad(minimax_generator_loss(logits), logits)
    (g_nonsat,) = torch.autograd.grad(nonsaturating_generator_loss(logits), logits)
    assert g_minimax.abs().sum() < 1e-3
    assert g_nonsat.abs().sum() > 0.99
    # both move the fakes the same way (towards "real")
    assert (g_minimax < 0).all() and (g_nonsat < 0).all()


def test_gan_on_images_stays_in_range():
    train, _ = load_dataset("digits").split(0.2, seed=0)
    model = genlab.create("gan", data=train, hidden=32, layers=1)
    Trainer(model, train, TrainConfig(steps=20, batch_size=32, progress=False)).run()
    x = model.sample(8)
    assert x.shape == (8, 1, 8, 8) and x.min() >= 0 and x.max() <= 1
