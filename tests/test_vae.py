"""The VAE beats a uniform and a diagonal Gaussian model of digits on held-out bits/dim."""

import math

import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.metrics import bits_per_dim, dequantize
from genlab.trainer import Trainer, TrainConfig


def diagonal_gaussian_bits_per_dim(train, test) -> float:
    """Baseline: one Gaussian with diagonal covariance fitted to the dequantised train split."""
    g = torch.Generator().manual_seed(0)
    xt, xe = dequantize(train.x.flatten(1), 17, g), dequantize(test.x.flatten(1), 17, g)
    log_p = torch.distributions.Normal(xt.mean(0), xt.std(0)).log_prob(xe).sum(1)
    return float(bits_per_dim(log_p, xe.shape[1], 17).mean())


@pytest.fixture(scope="module")
def trained():
    """A small VAE trained on the digits train split (shared by the tests below)."""
    train, test = load_dataset("digits").split(0.2, seed=0)
    torch.manual_seed(0)
    model = genlab.create("vae", data=train, hidden=128, latent_dim=8)
    trainer = Trainer(model, train, TrainConfig(steps=1200, batch_size=128, log_every=200, progress=False))
    trainer.run()
    model.eval()
    return model, trainer, train, test


def test_vae_digits_bits_per_dim(trained):
    model, trainer, train, test = trained
    assert model.config.n_bins == 17
    bpd = model.evaluate(test)["bits_per_dim"]
    uniform = math.log2(17)  # 4.087
    baseline = diagonal_gaussian_bits_per_dim(train, test)
    assert bpd < uniform and bpd < baseline, (bpd, baseline, uniform)
    assert {"recon", "kl", "vae_loss"} <= set(trainer.last_log)


def test_encode_decode_reconstruct(trained):
    model, _, train, test = trained
    with torch.no_grad():
        z = model.encode(test.x)
        recon = model.reconstruct(test.x)
    assert z.shape == (len(test), 8)
    assert recon.shape == test.x.shape and recon.min() >= 0 and recon.max() <= 1
    # reconstructions carry information about their input: closer than the mean image is
    mean_image_error = (test.x - train.x.mean(0)).pow(2).mean()
    assert (recon - test.x).pow(2).mean() < 0.7 * mean_image_error


def test_bernoulli_vae_trains_on_binarised_digits():
    data = load_dataset("digits")
    data.x = (data.x > 0.5).float()
    train, test = data.split(0.2, seed=0)
    model = genlab.create("vae", likelihood="bernoulli", hidden=64, latent_dim=4, data_shape=(1, 8, 8))
    before = float(model.negative_elbo(test.x).mean())
    Trainer(model, train, TrainConfig(steps=300, batch_size=64, progress=False)).run()
    model.eval()
    after = float(model.negative_elbo(test.x).mean())
    # 64 fair coins cost 64 ln 2 = 44.4 nats; a trained model must do much better
    assert after < before and after < 0.7 * 64 * math.log(2), (before, after)


def test_iwae_bound_is_at_or_below_the_elbo(trained):
    """IWAE with K samples is a tighter bound: its NLL is at or below the -ELBO (Burda et al.
    2016, theorem 1), chunking does not change it, and K = 1 is the ELBO's own estimate."""
    model, _, _, test = trained
    x = test.x[:100]
    with torch.no_grad():
        nelbo = model.negative_elbo(x, seed=3).mean()
        iwae = model.iwae_nll(x, k=200, chunk=64, seed=3)
        iwae_one_chunk = model.iwae_nll(x, k=200, chunk=200, seed=3)
        k1 = model.iwae_nll(x, k=1, seed=3)
    assert iwae.mean() <= nelbo + 1e-3
    assert iwae.mean() < k1.mean()
    assert torch.allclose(iwae.mean(), iwae_one_chunk.mean(), atol=0.5)
    assert abs(float(k1.mean()) - float(nelbo)) < 0.05 * abs(float(nelbo)) + 1.0
    report = model.evaluate(test, iwae_k=50)
    assert report["iwae_bits_per_dim"] <= report["bits_per_dim"] + 1e-3
