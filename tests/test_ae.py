"""The autoencoder compresses but samples poorly; the denoising autoencoder removes noise;
bad settings and bad data options are one-line errors."""

import numpy as np
import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.errors import DataError, GenlabError
from genlab.metrics.features import feature_network
from genlab.metrics.images import frechet_distance
from genlab.trainer import Trainer, TrainConfig
from conftest import assert_one_line_error, run_main

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def split():
    return load_dataset("digits").split(0.2, seed=0)


def fit(model, data, steps: int, batch_size: int = 64):
    Trainer(model, data, TrainConfig(steps=steps, batch_size=batch_size, progress=False, monitor=False)).run()
    return model.eval()


def test_dae_halves_the_error_of_gaussian_noise_on_held_out_digits(split):
    """Acceptance 3 in small: noise sigma = 0.5 on held-out images; the denoised images are
    at most half as far from the clean ones (in MSE) as the noisy inputs are."""
    train, test = split
    torch.manual_seed(0)
    model = fit(genlab.create("dae", data=train, corruption="gaussian", noise=0.5, hidden=128, layers=1,
                              latent_dim=16), train, steps=600)
    noisy = test.x + 0.5 * torch.randn(test.x.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        denoised = model.denoise(noisy)
    ratio = float((denoised - test.x).pow(2).mean() / (noisy - test.x).pow(2).mean())
    assert ratio <= 0.5, ratio  # seen: 0.15 after 600 steps (about 3 s)


def test_masking_corruption_zeroes_the_asked_fraction():
    model = genlab.create("dae", data_shape=(1, 28, 28), corruption="masking", noise=0.3)
    x = torch.rand(50, 1, 28, 28) + 0.5                           # no zeros before corruption
    g = torch.Generator().manual_seed(0)
    corrupted = model.corrupt(x, g)
    zeroed = float((corrupted == 0).float().mean())
    assert abs(zeroed - 0.3) < 0.02, zeroed
    kept = corrupted != 0
    assert torch.equal(corrupted[kept], x[kept])                   # the rest untouched
    assert torch.equal(model.corrupt(x, torch.Generator().manual_seed(0)), corrupted)


def test_plain_ae_is_a_poorer_sampler_than_the_vae(split):
    """Acceptance 2 in small: at equal budget, codes from N(0, I) through the plain
    autoencoder's decoder score a much worse Frechet distance than the VAE's samples, though
    the autoencoder reconstructs better."""
    train, test = split
    net = feature_network(train, test, seed=0)
    real = net.features(torch.cat([train.x, test.x])[:500])
    scores, errors = {}, {}
    for name, extra in (("ae", {}), ("vae", {"likelihood": "discretized"})):
        torch.manual_seed(0)
        model = fit(genlab.create(name, data=train, backbone="conv", width=16, latent_dim=16, **extra), train, 600)
        with torch.no_grad():
            x = model.sample(500, generator=torch.Generator().manual_seed(1))
            errors[name] = float((model.reconstruct(test.x) - test.x).pow(2).mean())
        scores[name] = frechet_distance(real, net.features(x))
    assert scores["ae"] > 1.5 * scores["vae"], scores  # seen: 159 against 29 (seed 0), 158 against 32 (seed 1)
    assert errors["ae"] < errors["vae"], errors


def test_conv_backbone_builds_from_the_image_shape():
    for shape in ((1, 8, 8), (1, 28, 28), (3, 32, 32)):
        model = genlab.create("ae", data_shape=shape, backbone="conv", width=4, latent_dim=3).eval()
        x = torch.rand(2, *shape)
        assert model.encode(x).shape == (2, 3)
        assert model.reconstruct(x).shape == x.shape
        assert model.interpolate(x[:1], x[1:], 4).shape == (1, 4, *shape)


@pytest.mark.parametrize("name, settings, words", [
    ("ae", {"latent_dim": 0}, ["latent_dim", "positive"]),
    ("dae", {"latent_dim": -2}, ["latent_dim", "positive"]),
    ("dae", {"noise": 0.0}, ["noise", "positive"]),
    ("dae", {"corruption": "masking", "noise": 1.5}, ["noise", "(0, 1)"]),
    ("ae", {"backbone": "conv", "data_shape": (2,)}, ["ae", "conv", "(2,)"]),
])
def test_bad_settings_are_one_line_errors(name, settings, words):
    with pytest.raises(GenlabError) as info:
        genlab.create(name, **settings)
    line = str(info.value)
    assert "\n" not in line and all(w in line for w in words), line


@pytest.mark.parametrize("model, setting, words", [
    ("ae", "latent_dim=0", ["latent_dim must be positive"]),
    ("vae", "latent_dim=-1", ["latent_dim must be positive"]),
    ("cvae", "latent_dim=0", ["latent_dim must be positive"]),
    ("vaegan", "latent_dim=0", ["latent_dim must be positive"]),
    ("vae", "beta=-1", ["beta must be non-negative"]),
    ("cvae", "beta=-0.5", ["beta must be non-negative"]),
    ("vaegan", "beta=-1", ["beta must be non-negative"]),
    ("vae", "binarize=1.5", ["binarize", "between 0 and 1"]),
    ("vae", "binarize=half", ["binarize", "number"]),
])
def test_bad_input_on_the_command_line_is_one_line(capsys, tmp_path, model, setting, words):
    result = run_main(capsys, "train", model, "--data", "digits", "--steps", "2", "--set", setting,
                      "--out", tmp_path / "run", "--no-progress")
    assert_one_line_error(result, *words)
    assert not (tmp_path / "run").exists()


def test_binarize_on_binary_data_is_one_line(capsys, tmp_path):
    binary = (load_dataset("digits", n=60).x > 0.5).numpy().astype(np.uint8) * 255
    np.savez(tmp_path / "binary.npz", x=binary[:, 0])
    result = run_main(capsys, "train", "vae", "--data", tmp_path / "binary.npz", "--steps", "2",
                      "--set", "binarize=0.5", "--out", tmp_path / "run", "--no-progress")
    assert_one_line_error(result, "already binary")
    with pytest.raises(DataError, match="already binary"):
        load_dataset("digits", binarize=0.5).binarize(0.5)
    with pytest.raises(DataError, match="images"):
        load_dataset("ring8", n=10, binarize=0.5)
