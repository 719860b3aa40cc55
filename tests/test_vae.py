"""The VAE beats a uniform and a diagonal Gaussian model of digits on held-out bits/dim; its IWAE
bound is at or below its ELBO; conv, Bernoulli and discretised variants, KL warm-up, binarised
data and latent interpolation (to a grid PNG through `genlab interpolate`)."""

import json
import math

import pytest
import torch
from PIL import Image

import genlab
from genlab.data import load_dataset
from genlab.evaluation import evaluate
from genlab.metrics import bits_per_dim, dequantize
from genlab.models.vae import discretized_logistic_log_prob
from genlab.trainer import Trainer, TrainConfig, TrainState
from conftest import assert_one_line_error, assert_succeeded, run_main


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
    model = genlab.create("vae", likelihood="bernoulli", hidden=64, latent_dim=4, data_shape=(1, 8, 8), n_bins=2)
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


# --- the autoencoder family's additions: conv backbone, likelihoods, annealing, interpolation ----

@pytest.fixture(scope="module")
def binarised():
    """A small conv VAE with a Bernoulli decoder on digits binarised at 0.5."""
    train, test = load_dataset("digits", binarize=0.5).split(0.2, seed=0)
    torch.manual_seed(0)
    model = genlab.create("vae", data=train, backbone="conv", width=16, latent_dim=8, likelihood="bernoulli")
    Trainer(model, train, TrainConfig(steps=400, batch_size=64, progress=False, monitor=False)).run()
    return model.eval(), train, test


def test_conv_bernoulli_vae_iwae_is_at_or_below_the_elbo_in_nats_per_image(binarised):
    """Acceptance 1's test in small: on the same binarised images the IWAE bound (K = 100,
    chunked) is at or below the -ELBO, and both beat 64 fair coins by far."""
    model, train, test = binarised
    assert train.n_bins == 2 and train.binarized == 0.5 and "threshold 0.5" in train.source
    result = evaluate(model, train, test, metrics=["likelihood"], iwae_k=100)
    scores, protocol = result["scores"], result["protocol"]["likelihood"]
    nelbo, iwae = scores["negative_elbo"]["model"], scores["iwae_nll"]["model"]
    assert iwae <= nelbo + 1e-3 and iwae < 0.6 * 64 * math.log(2), (iwae, nelbo)
    assert protocol == {"iwae_k": 100, "n": len(test), "binarized": 0.5, "n_bins": 2, "unit": "nats per image"}
    assert "bits_per_dim" not in scores  # binarised data are scored in nats per image
    with torch.no_grad():
        chunked = model.iwae_nll(test.x[:50], k=100, chunk=7, batch=9, seed=1)
        whole = model.iwae_nll(test.x[:50], k=100, chunk=100, seed=1)
    assert abs(float(chunked.mean() - whole.mean())) < 0.5


def test_discretized_likelihood_is_a_distribution_over_the_levels():
    """The discretised logistic puts total mass 1 on the n_bins levels, whatever its mean and scale."""
    n_bins = 17
    grid = torch.arange(n_bins).float()[:, None] / (n_bins - 1)             # (levels, 1)
    mean = torch.tensor([[-0.3, 0.0, 0.41, 0.5, 1.2, 0.77]])
    log_scale = torch.tensor([[-1.0, -6.0, -3.0, 0.5, -2.0, -9.0]])
    total = discretized_logistic_log_prob(grid, mean, log_scale, n_bins).exp().sum(0)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-4), total


def test_discretized_vae_reports_exact_bits_per_dim_below_uniform():
    train, test = load_dataset("digits").split(0.2, seed=0)
    torch.manual_seed(0)
    model = genlab.create("vae", data=train, likelihood="discretized", hidden=64, latent_dim=8)
    Trainer(model, train, TrainConfig(steps=300, batch_size=64, progress=False, monitor=False)).run()
    report = model.eval().evaluate(test, iwae_k=20)
    assert report["iwae_bits_per_dim"] <= report["bits_per_dim"] + 1e-3
    assert report["bits_per_dim"] < math.log2(17), report  # uniform over the 17 levels: 4.09
    assert model.likelihood_unit() == "bits/dim"


def test_kl_warmup_raises_the_kl_weight_linearly_to_beta(digits):
    model = genlab.create("vae", data=digits, hidden=16, layers=1, beta=2.0, kl_warmup=20)
    assert model.kl_weight(TrainState(1, 10)) == 0.0
    trainer = Trainer(model, digits, TrainConfig(steps=10, batch_size=16, log_every=5, progress=False, monitor=False))
    trainer.run()
    assert model.kl_weight(TrainState(11, 20)) == pytest.approx(1.0)
    assert trainer.last_log["kl_weight"] == pytest.approx(2.0 * 7 / 20)  # steps 5..9 done before each loss
    assert model.kl_weight(TrainState(30, 30)) == 2.0  # capped at beta
    assert model.kl_weight() == 2.0  # outside training: beta itself


def test_interpolation_ends_decode_to_the_reconstructions(binarised):
    model, _, test = binarised
    x_a, x_b = test.x[:5], test.x[5:10]
    with torch.no_grad():
        path = model.interpolate(x_a, x_b, steps=7)
        rec_a, rec_b = model.reconstruct(x_a), model.reconstruct(x_b)
    assert path.shape == (5, 7, 1, 8, 8)
    assert torch.allclose(path[:, 0], rec_a, atol=1e-5) and torch.allclose(path[:, -1], rec_b, atol=1e-5)
    middle = path[:, 3]
    assert (middle - rec_a).abs().mean() > 0.02 and (middle - rec_b).abs().mean() > 0.02
    # reconstructions resemble their inputs: nearer to their own image than to the other end
    assert (rec_a - x_a).pow(2).mean() < (rec_a - x_b).pow(2).mean()


def test_interpolate_command_writes_a_grid_png(capsys, tmp_path):
    run = tmp_path / "run"
    assert_succeeded(run_main(capsys, "train", "vae", "--data", "digits", "--steps", "3", "--set", "hidden=16",
                              "--set", "binarize=0.5", "--set", "likelihood=bernoulli", "--set", "monitor=false",
                              "--out", run, "--no-progress"))
    record = json.loads((run / "run.json").read_text())
    assert record["data"]["binarize"] == 0.5 and record["data"]["train"]["binarized"] == 0.5
    out = tmp_path / "interp.png"
    assert_succeeded(run_main(capsys, "interpolate", run, "--out", out, "--pairs", "3", "--steps", "6"))
    width, height = Image.open(out).size
    tile = 8 * 4 + 1                                               # 8x8 images upscaled 4x, 1 px padding
    assert (width, height) == (8 * tile + 1, 3 * tile + 1)         # steps + both originals per row
    assert_one_line_error(run_main(capsys, "interpolate", run, "--out", tmp_path / "x.png", "--steps", "1"), "steps")

    assert_succeeded(run_main(capsys, "eval", run, "--metrics", "likelihood", "--iwae-k", "30"))
    result = json.loads((run / "eval.json").read_text())
    assert result["protocol"]["likelihood"]["iwae_k"] == 30
    assert result["protocol"]["likelihood"]["unit"] == "nats per image"
    assert result["scores"]["iwae_nll"]["model"] <= result["scores"]["negative_elbo"]["model"] + 1e-3
    assert_one_line_error(run_main(capsys, "eval", run, "--metrics", "likelihood", "--iwae-k", "0"), "iwae-k")
