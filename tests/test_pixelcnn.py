"""PixelCNN (plain and gated) and PixelRNN (Row LSTM): strictly causal at every pixel, the
gated stacks without the plain PixelCNN's blind spot; exact likelihood that beats factorised
baselines on binarised and 17-level digits; the row-wise sampler matches the whole-image
computation; conditional sampling; bad settings in one line."""

import math

import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.errors import ConfigError, DataError
from genlab.trainer import Trainer, TrainConfig
from conftest import assert_one_line_error, run_main

pytestmark = pytest.mark.usefixtures("one_thread")

VARIANTS = {"plain": ("pixelcnn", {"gated": False}), "gated": ("pixelcnn", {"gated": True}),
            "rowlstm": ("pixelrnn", {})}
SIZE = 6


def small(variant: str, **settings):
    name, extra = VARIANTS[variant]
    torch.manual_seed(0)
    values = dict(data_shape=(1, SIZE, SIZE), n_bins=17, layers=3, channels=8, kernel_size=3)
    return genlab.create(name, **{**values, **extra, **settings}).double()


def input_gradients(model, i: int, j: int) -> torch.Tensor:
    """|d logits(i, j) / d x| over the whole image (H, W), at a random input."""
    x = torch.rand(1, 1, SIZE, SIZE, dtype=torch.double, requires_grad=True)
    (grad,) = torch.autograd.grad(model.net(x)[0, :, i, j].sum(), x)
    return grad[0, 0].abs()


@pytest.mark.parametrize("variant", VARIANTS)
def test_output_at_each_pixel_depends_only_on_earlier_pixels(variant):
    """Acceptance 4: at every position, exactly zero gradient w.r.t. the pixel itself and every
    later pixel in raster order; non-zero for some earlier pixel (none exist at (0, 0))."""
    model = small(variant)
    for i in range(SIZE):
        for j in range(SIZE):
            g = input_gradients(model, i, j).flatten()
            here = i * SIZE + j
            assert (g[here:] == 0).all(), (variant, i, j, g.view(SIZE, SIZE))
            assert here == 0 or (g[:here] > 0).any(), (variant, i, j)


def test_the_gated_stacks_have_no_blind_spot():
    """Masked 3x3 convolutions never reach the pixel one row up and two columns right,
    however deep; the gated vertical stack does (van den Oord et al. 2016b, figure 1)."""
    plain, gated = small("plain", layers=5), small("gated", layers=2)
    for i in range(1, SIZE):
        for j in range(SIZE - 2):
            assert input_gradients(plain, i, j)[i - 1, j + 2] == 0, (i, j)
            assert input_gradients(gated, i, j)[i - 1, j + 2] > 0, (i, j)


def test_the_gated_receptive_field_is_every_earlier_pixel():
    """Deep enough, the gated PixelCNN's last pixel sees the whole image before it."""
    g = input_gradients(small("gated", layers=SIZE), SIZE - 1, SIZE - 1).flatten()
    assert (g[:-1] > 0).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_row_wise_logits_equal_the_whole_image(variant):
    """The sampler's speed-up (a crop of the rows a row can see; cached LSTM states) gives
    the numbers of the full forward pass at every row."""
    model = small(variant)
    x = torch.rand(3, 1, SIZE, SIZE, dtype=torch.double)
    full, cache = model.net(x), {}
    for i in range(SIZE):
        torch.testing.assert_close(model.net.row_logits(x, i, None, cache), full[:, :, i], rtol=0, atol=1e-12)


def factorised_bernoulli_nll(train, test) -> float:
    """Baseline: independent pixels with the train split's per-pixel mean, nats per image."""
    p = train.x.mean(0).clamp(1e-3, 1 - 1e-3)
    return float(-(test.x * p.log() + (1 - test.x) * (1 - p).log()).flatten(1).sum(1).mean())


def fit(name, train, steps, **settings):
    torch.manual_seed(0)
    model = genlab.create(name, data=train, layers=2, channels=16, kernel_size=5, **settings)
    Trainer(model, train, TrainConfig(steps=steps, batch_size=64, progress=False, monitor=False)).run()
    return model.eval()


@pytest.fixture(scope="module")
def binary():
    return load_dataset("digits", binarize=0.5).split(0.2, seed=0)


@pytest.mark.parametrize("variant,steps", [("plain", 300), ("gated", 300), ("rowlstm", 300)])
def test_beats_the_factorised_bernoulli_baseline_on_binarised_digits(binary, variant, steps):
    train, test = binary
    name, extra = VARIANTS[variant]
    model = fit(name, train, steps, **extra)
    nll, baseline = model.evaluate(test)["nll"], factorised_bernoulli_nll(train, test)
    assert model.likelihood_unit() == "nats per image" and "bits_per_dim" not in model.evaluate(test)
    # seen: baseline 24.3; after 300 steps plain 22.3, gated 20.9, Row LSTM 20.8
    assert nll < baseline - 1.0, (nll, baseline)


@pytest.fixture(scope="module")
def multilevel():
    return load_dataset("digits").split(0.2, seed=0)


@pytest.fixture(scope="module")
def gmm_bits_per_dim(multilevel):
    """Baseline: the best full-covariance Gaussian mixture of 1, 5 or 10 components (EM)."""
    train, test = multilevel
    scores = []
    for k in (1, 5, 10):
        gmm = genlab.create("gmm", data=train, components=k, covariance="full")
        scores.append(genlab.train(gmm, train).evaluate(test)["bits_per_dim"])
    return min(scores)  # seen: 2.72 (5 components)


@pytest.mark.parametrize("name,steps", [("pixelcnn", 300), ("pixelrnn", 150)])
def test_bits_per_dim_on_17_level_digits_beat_uniform_and_the_gmm(multilevel, gmm_bits_per_dim, name, steps):
    """Acceptance 5 on digits (n_bins 17): exact bits/dim below log2 17 = 4.09 and below the
    full-covariance GMM's (whose density on dequantised data bounds its bits/dim)."""
    train, test = multilevel
    model = fit(name, train, steps)
    report = model.evaluate(test)
    assert model.likelihood_unit() == "bits/dim"
    assert report["bits_per_dim"] == pytest.approx(report["nll"] / (64 * math.log(2)))
    # seen: pixelcnn 2.15 after 300 steps, pixelrnn 2.35 after 150 (about 4 s each)
    assert report["bits_per_dim"] < math.log2(17) - 1.0, report
    assert report["bits_per_dim"] < gmm_bits_per_dim - 0.2, (report, gmm_bits_per_dim)


@pytest.mark.parametrize("variant", VARIANTS)
def test_samples_are_levels_in_the_unit_interval_and_the_cache_changes_nothing(variant):
    model = small(variant, n_bins=5).float().eval()
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    x = model.sample(10, generator=g())
    assert x.shape == (10, 1, SIZE, SIZE)
    assert torch.equal(x * 4, (x * 4).round()) and x.min() >= 0 and x.max() <= 1
    assert len(x.unique()) > 2
    assert torch.equal(x, model.sample(10, generator=g(), cached=False))
    binary = small(variant, n_bins=2).float().eval()
    assert set(binary.sample(10, generator=g()).unique().tolist()) <= {0.0, 1.0}


def test_class_conditioning_explains_the_digits_and_draws_the_asked_class(binary):
    train, test = binary
    model = fit("pixelcnn", train, 300, conditional=True)
    assert model.config.num_classes == 10
    with torch.no_grad():
        right = -model.log_prob(test.x, test.y).mean()
        wrong = -model.log_prob(test.x, (test.y + 1) % 10).mean()
    assert right < wrong - 2.0, (right, wrong)  # the true class explains the image better
    assert model.evaluate(test)["nll"] == pytest.approx(float(right), rel=1e-4)
    x = model.sample(20, labels=torch.arange(20) % 10, generator=torch.Generator().manual_seed(0))
    zeros = model.sample(20, labels=0, generator=torch.Generator().manual_seed(0))
    assert x.shape == zeros.shape == (20, 1, 8, 8) and not torch.equal(x, zeros)
    with torch.no_grad():  # the samples asked for class 0 are likelier under 0 than under 1
        assert model.log_prob(zeros, torch.zeros(20)).mean() > model.log_prob(zeros, torch.ones(20)).mean()
    with pytest.raises(ConfigError, match="labels"):
        model.sample(3, labels=torch.tensor([0, 1, 10]))
    with pytest.raises(DataError, match="labels"):
        model.loss(test.x[:4], None)


def test_unconditional_models_take_no_labels(binary):
    train, _ = binary
    model = genlab.create("pixelrnn", data=train, layers=1, channels=4, kernel_size=3)
    assert model.config.num_classes == 0  # the data's 10 classes are not used
    with pytest.raises(ConfigError, match="not class-conditional"):
        model.sample(2, labels=torch.tensor([0, 1]))


@pytest.mark.parametrize("name", ["pixelcnn", "pixelrnn"])
@pytest.mark.parametrize("settings,words", [
    ({"layers": 0}, ["layers", "positive"]),
    ({"kernel_size": 4}, ["kernel_size", "odd"]),
    ({"channels": -1}, ["channels"]),
    ({"data_shape": (2,)}, ["images"]),
    ({"data_shape": (3, 8, 8)}, ["one-channel", "3"]),
    ({"n_bins": 0}, ["n_bins"]),
    ({"conditional": True, "num_classes": 0}, ["labelled"]),
])
def test_bad_settings_are_one_line_errors(name, settings, words):
    with pytest.raises(ConfigError) as info:
        genlab.create(name, **settings)
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_even_row_kernel_is_refused():
    with pytest.raises(ConfigError, match="row_kernel must be odd"):
        genlab.create("pixelrnn", row_kernel=2)


def test_cli_refuses_points_in_one_line(capsys, tmp_path):
    result = run_main(capsys, "train", "pixelcnn", "--data", "ring8", "--out", tmp_path / "run")
    assert_one_line_error(result, "pixelcnn", "images")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("n_bins,shape", [(2, (2, 3)), (3, (2, 2))])
def test_exact_likelihood_sums_to_one_and_the_sampler_draws_from_it(variant, n_bins, shape):
    """On images small enough to list every one (64 or 81), exp(log p) sums to 1, and the
    frequencies of 20,000 samples match it (the sampler and the likelihood agree)."""
    name, extra = VARIANTS[variant]
    torch.manual_seed(0)
    model = genlab.create(name, data_shape=(1, *shape), n_bins=n_bins, layers=2, channels=8, kernel_size=3, **extra)
    with torch.no_grad():
        model.net.head[-1].weight.mul_(8)  # sharper conditionals than at initialisation
    d = shape[0] * shape[1]
    codes = torch.arange(n_bins ** d)
    digits = torch.stack([codes // n_bins ** k % n_bins for k in reversed(range(d))], 1)  # (M, D) levels
    every = (digits.float() / (n_bins - 1)).view(-1, 1, *shape)
    with torch.no_grad():
        p = model.log_prob(every).double().exp()
        x = model.sample(20_000, generator=torch.Generator().manual_seed(0))
    assert p.sum().item() == pytest.approx(1.0, abs=1e-5)
    levels = (x.flatten(1) * (n_bins - 1)).round().long()                               # (N, D)
    index = (levels * n_bins ** torch.arange(d - 1, -1, -1)).sum(1)
    freq = torch.bincount(index, minlength=len(codes)).double() / len(x)
    assert p.max() > 3 * p.min()  # far from uniform
    assert 0.5 * (freq - p).abs().sum() < 0.03, 0.5 * (freq - p).abs().sum()


def test_likelihood_evaluation_states_its_unit_and_draws_no_samples(multilevel, monkeypatch):
    """`genlab eval RUN --metrics likelihood` costs one forward pass, not 1,000 samples."""
    from genlab.evaluation import evaluate

    train, test = multilevel
    model = genlab.create("pixelcnn", data=train, layers=1, channels=4, kernel_size=3).eval()
    monkeypatch.setattr(model, "sample", lambda *a, **k: pytest.fail("sampled for a likelihood"))
    result = evaluate(model, train, test, metrics=["likelihood"])
    assert result["protocol"]["likelihood"]["unit"] == "bits/dim"
    assert result["protocol"]["likelihood"]["n_bins"] == 17
    assert result["scores"]["bits_per_dim"]["model"] == pytest.approx(model.evaluate(test)["bits_per_dim"])
