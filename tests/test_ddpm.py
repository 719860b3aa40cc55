"""Diffusion (ddpm): the forward process in closed form, the prediction types' algebra, the two
samplers (DDIM deterministic at eta = 0, equal to the ancestral sampler at eta = 1 over all
steps), classifier-free guidance's arithmetic, the U-Net at several image sizes; it learns
ring8 and its variational bound on digits beats the uniform log2(17) bits/dim; bad settings
and the CLI's sampling settings in one line."""

import math

import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.errors import ConfigError, DataError
from genlab.metrics import mode_metrics
from genlab.models.ddpm import Diffusion, ddim_sampler, ddim_timesteps, ddpm_sampler, make_betas
from genlab.nn.unet import UNet
from genlab.trainer import Trainer, TrainConfig
from conftest import assert_one_line_error, assert_succeeded, run_main, tiny_sets

pytestmark = pytest.mark.usefixtures("one_thread")


def fit(data, steps: int, batch_size: int = 128, **settings):
    torch.manual_seed(0)
    model = genlab.create("ddpm", data=data, **settings)
    Trainer(model, data, TrainConfig(steps=steps, batch_size=batch_size, progress=False, monitor=False)).run()
    return model.eval()


# --- the process ----------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_forward_process_matches_its_closed_form(schedule):
    """Acceptance 6: x_t given a fixed x_0, drawn 200,000 times, has mean sqrt(alpha_bar_t) x_0
    and variance 1 - alpha_bar_t at early, middle and late t."""
    process = Diffusion(make_betas(schedule, 1000))
    x0 = torch.tensor([-1.0, 0.3, 0.8])
    g = torch.Generator().manual_seed(0)
    for i in (0, 49, 299, 599, 999):
        ab = float(process.alpha_bar[i])
        t = torch.full((200_000,), i)
        x_t = process.q_sample(x0.expand(200_000, 3), t, torch.randn(200_000, 3, generator=g))
        # standard errors: mean sqrt((1 - ab) / N) <= 0.0023, variance about 0.3 % of it
        torch.testing.assert_close(x_t.mean(0), math.sqrt(ab) * x0, rtol=0, atol=0.01)
        torch.testing.assert_close(x_t.var(0), torch.full((3,), 1 - ab), rtol=0.02, atol=1e-4)
    assert process.alpha_bar[-1] < 1e-4  # x_T is all but pure noise


def test_schedules_are_the_papers():
    linear = make_betas("linear", 1000)
    assert linear[0].item() == pytest.approx(1e-4) and linear[-1].item() == pytest.approx(0.02)
    cosine = Diffusion(make_betas("cosine", 1000)).alpha_bar
    # Nichol & Dhariwal eq. 17: alpha_bar(T/2) = cos^2((0.5 + s) / (1 + s) pi / 2) / cos^2(s / (1 + s) pi / 2)
    s = 0.008
    expected = (math.cos((0.5 + s) / (1 + s) * math.pi / 2) / math.cos(s / (1 + s) * math.pi / 2)) ** 2
    assert cosine[499].item() == pytest.approx(expected, rel=1e-9)
    assert (cosine[1:] < cosine[:-1]).all()


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_each_prediction_target_gives_back_x0_and_the_noise(prediction):
    process = Diffusion(make_betas("cosine", 100))
    x0, noise = torch.randn(50, 4, dtype=torch.float64), torch.randn(50, 4, dtype=torch.float64)
    t = torch.randint(100, (50,))
    x_t = process.q_sample(x0, t, noise)
    got_x0, got_eps = process.split(process.target(x0, noise, t, prediction), x_t, t, prediction)
    torch.testing.assert_close(got_x0, x0)
    torch.testing.assert_close(got_eps, noise)


# --- samplers -----------------------------------------------------------------------------------------

def toy_denoiser(process):
    """A fixed smooth map standing in for a network: (x_t, t) -> (x0, eps) consistent with x_t."""
    def denoise(x_t, t):
        x0 = torch.tanh(x_t * (1 + t[:, None].double() / 10))
        return x0, process.eps_from_x0(x_t, t, x0)
    return denoise


def test_ddim_at_eta_0_is_deterministic_given_the_starting_noise():
    process = Diffusion(make_betas("linear", 100))
    denoise, x_T = toy_denoiser(process), torch.randn(6, 2, dtype=torch.float64)
    run = lambda seed, eta: ddim_sampler(denoise, process, x_T, steps=10, eta=eta,  # noqa: E731
                                         generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(0, 0.0), run(1, 0.0))
    assert not torch.equal(run(0, 0.5), run(1, 0.5))
    seen = []
    ddim_sampler(denoise, process, x_T, steps=7, progress=lambda k, n: seen.append((k, n)))
    assert seen == [(k, 7) for k in range(1, 8)]


def test_ddim_at_eta_1_over_all_steps_is_the_ancestral_sampler():
    """Song et al. 2021, section 4.1: eta = 1 gives the DDPM posterior variance, so with the
    same generator the two samplers take the same steps."""
    process = Diffusion(make_betas("cosine", 50))
    denoise, x_T = toy_denoiser(process), torch.randn(6, 2, dtype=torch.float64)
    a = ddpm_sampler(denoise, process, x_T, generator=torch.Generator().manual_seed(3))
    b = ddim_sampler(denoise, process, x_T, steps=50, eta=1.0, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)


def test_ddim_steps_are_evenly_spaced_from_the_last():
    assert ddim_timesteps(1000, 50) == list(range(999, 0, -20))
    assert ddim_timesteps(10, 10) == list(range(9, -1, -1))
    assert ddim_timesteps(1000, 1) == [999]


@pytest.mark.parametrize("settings,words", [
    ({"steps": 101}, ["steps", "100"]), ({"steps": 0}, ["steps"]), ({"eta": -0.1}, ["eta"])])
def test_sampler_bad_input_is_one_line(settings, words):
    process = Diffusion(make_betas("linear", 100))
    with pytest.raises(ConfigError) as info:
        ddim_sampler(toy_denoiser(process), process, torch.zeros(2, 2, dtype=torch.float64), **settings)
    assert "\n" not in str(info.value) and all(w in str(info.value) for w in words)


# --- networks -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 9, 9)])
def test_the_unet_is_sized_from_the_image(shape):
    net = UNet(shape, width=8, levels=(1, 2, 2), num_classes=10)
    out = net(torch.randn(2, *shape), torch.tensor([0, 999]), torch.tensor([3, 10]))  # 10: the null class
    assert out.shape == (2, *shape)


def test_the_unet_refuses_images_too_small_for_its_levels():
    with pytest.raises(ConfigError, match="4 levels halve the image 3 times; a 4x4 image"):
        genlab.create("ddpm", data_shape=(1, 4, 4), levels=(1, 2, 2, 2))


# --- learning -----------------------------------------------------------------------------------------------

def test_learns_ring8():
    train, _ = load_dataset("ring8").split(0.2, seed=0)
    model = fit(train, 800, batch_size=256, timesteps=200)
    x = model.sample(2500, generator=torch.Generator().manual_seed(1))
    m = mode_metrics(x, train.modes, train.sigma)  # the 3-sigma rule of docs/EVALUATION.md
    assert m["modes"] >= 7, m  # seen: 8 modes, 4.2 % HQ, reverse KL 0.10 (about 8 s); ddpm sampler 8 modes
    ancestral = model.sample(2500, sampler="ddpm", generator=torch.Generator().manual_seed(1))
    assert mode_metrics(ancestral, train.modes, train.sigma)["modes"] >= 7


@pytest.fixture(scope="module")
def digits_split():
    train, test = load_dataset("digits").split(0.2, seed=0)
    return train, test


DIGITS = dict(width=16, levels=(1,), timesteps=100, schedule="cosine", lr=2e-3)


def test_bits_per_dim_on_digits_beat_uniform_and_the_untrained_network(digits_split):
    """Acceptance 5 in small: the bound (all T terms) after 300 steps lies below log2(17) = 4.09
    bits/dim, well below the same network untrained."""
    train, test = digits_split
    model = fit(train, 300, batch_size=64, elbo_terms=0, **DIGITS)
    report = model.evaluate(test)
    assert model.likelihood_unit() == "bits/dim"
    assert report["bits_per_dim"] == pytest.approx(report["negative_elbo"] / (64 * math.log(2)))
    torch.manual_seed(0)
    untrained = genlab.create("ddpm", data=train, elbo_terms=0, **DIGITS).eval().evaluate(test)["bits_per_dim"]
    # seen: 3.01 after 300 steps (about 12 s); untrained 5.7; the 20-term estimate below 3.00
    assert math.isfinite(report["bits_per_dim"]) and report["bits_per_dim"] < math.log2(17) - 0.5, report
    assert untrained > report["bits_per_dim"] + 1.0, (untrained, report)
    # the stratified estimate from at most 20 of the 99 middle terms is unbiased: close to the full sum
    model.config.elbo_terms = 20
    estimate = model.evaluate(test)["bits_per_dim"]
    assert estimate == pytest.approx(report["bits_per_dim"], rel=0.1), (estimate, report)


def test_ema_samples_and_warms_up(ring8):
    model = fit(ring8, 30, ema=0.999, hidden=16, layers=1, timesteps=20, sampling_steps=5)
    live, average = model.net.state_dict(), model.net_ema.average.state_dict()
    assert int(model.net_ema.updates) == 30 and model.network is model.net_ema
    assert all(not torch.equal(live[k], average[k]) for k in live)
    # warm-up: the next decay is (1 + 30) / (10 + 30), not 0.999, so the average has moved
    assert model.net_ema.current_decay() == pytest.approx(31 / 40)
    assert not hasattr(genlab.create("ddpm", ema=0.0), "net_ema")


def test_sampling_in_chunks_keeps_labels_order_and_progress(monkeypatch, digits_split):
    """Large n is denoised SAMPLE_CHUNK images at a time: each chunk's denoiser gets its own
    slice of the labels, the progress callback counts once through every step of every chunk."""
    import genlab.models.ddpm as ddpm

    monkeypatch.setattr(ddpm, "SAMPLE_CHUNK", 4)
    model = genlab.create("ddpm", data=digits_split[0], conditional=True, timesteps=20, sampling_steps=5,
                          width=8, levels=(1,), ema=0.0).eval()
    seen, ticks = [], []
    denoiser = model.denoiser
    monkeypatch.setattr(model, "denoiser", lambda y, guidance: seen.append(y.tolist()) or denoiser(y, guidance))
    labels = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    x = model.sample(10, labels=labels, progress=lambda done, total: ticks.append((done, total)))
    assert x.shape == (10, 1, 8, 8) and seen == [[3, 1, 4, 1], [5, 9, 2, 6], [5, 3]]
    assert ticks == [(k, 15) for k in range(1, 16)]
    again = model.sample(10, labels=labels, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, model.sample(10, labels=labels, generator=torch.Generator().manual_seed(1)))


# --- classifier-free guidance ------------------------------------------------------------------------------

def test_guidance_is_the_papers_combination_and_w0_is_the_conditional_prediction(digits_split):
    """Ho & Salimans 2022, eq. 6: eps = (1 + w) eps(x, c) - w eps(x, null)."""
    train, _ = digits_split
    model = fit(train, 5, batch_size=32, conditional=True, width=8, levels=(1,), timesteps=50, ema=0.0)
    assert model.config.num_classes == 10
    x_t, t, y = torch.randn(4, 1, 8, 8), torch.tensor([1, 10, 30, 49]), torch.tensor([0, 3, 9, 3])
    net, process = model.net, model.process
    eps_c, eps_u = net(x_t, t, y), net(x_t, t, torch.full_like(y, 10))
    plain = model.denoiser(y, 0.0)(x_t, t)[1]
    guided = model.denoiser(y, 2.0)(x_t, t)[1]
    unclipped = lambda eps: process.eps_from_x0(x_t, t, process.x0_from_eps(x_t, t, eps).clamp(-1, 1))  # noqa: E731
    torch.testing.assert_close(plain, unclipped(eps_c))
    torch.testing.assert_close(guided, unclipped(3 * eps_c - 2 * eps_u), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(eps_c, eps_u)  # the class matters
    a = model.sample(10, guidance=3.0, generator=torch.Generator().manual_seed(0))
    b = model.sample(10, generator=torch.Generator().manual_seed(0))
    assert a.shape == (10, 1, 8, 8) and not torch.equal(a, b)
    with pytest.raises(DataError, match="labels"):
        model.loss(train.x[:4], None)


def test_label_dropout_trains_the_null_class(digits_split):
    train, _ = digits_split
    model = genlab.create("ddpm", data=train, conditional=True, width=8, levels=(1,), timesteps=20,
                          sampling_steps=5, label_dropout=0.5, ema=0.0)
    seen = []
    model.net.embed.classes.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    torch.manual_seed(0)
    model.loss(train.x[:400], train.y[:400])
    nulls = (seen[0] == 10).float().mean()
    assert 0.4 < nulls < 0.6, nulls  # about half the labels replaced by the null class


# --- bad settings ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings,words", [
    ({"sampling_steps": 1001}, ["sampling_steps", "1001", "timesteps"]),
    ({"sampling_steps": 0}, ["sampling_steps"]),
    ({"eta": -1.0}, ["eta"]),
    ({"guidance": 1.0}, ["guidance", "conditional"]),
    ({"guidance": -1.0, "conditional": True, "num_classes": 10}, ["guidance", ">= 0"]),
    ({"timesteps": 0}, ["timesteps"]),
    ({"schedule": "quadratic"}, ["quadratic", "linear"]),
    ({"prediction": "score"}, ["score", "eps"]),
    ({"sampler": "euler"}, ["euler", "ddim"]),
    ({"conditional": True, "num_classes": 0}, ["labelled"]),
    ({"data_shape": (2, 3)}, ["points", "images"]),
    ({"ema": 1.0}, ["ema"]),
])
def test_bad_settings_are_one_line_errors(settings, words):
    with pytest.raises(ConfigError) as info:
        genlab.create("ddpm", **settings)
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_bad_sampling_settings_at_sample_time_are_one_line(ring8):
    model = genlab.create("ddpm", data=ring8, timesteps=20, sampling_steps=5, hidden=16, layers=1)
    for settings, word in (({"sampling_steps": 21}, "sampling_steps"), ({"eta": -1}, "eta"),
                           ({"guidance": 2}, "guidance"), ({"beam": 3}, "beam")):
        with pytest.raises(ConfigError, match=word):
            model.sample(3, **settings)
    with pytest.raises(ConfigError, match="not class-conditional"):
        model.sample(2, labels=torch.tensor([0, 1]))
    assert model.sample(3, sampler="ddpm", sampling_steps=500).shape == (3, 2)  # ddpm ignores the ddim steps


# --- the CLI --------------------------------------------------------------------------------------------------------

def test_cli_train_then_sample_with_sampler_settings(capsys, tmp_path):
    run = tmp_path / "run"
    assert_succeeded(run_main(capsys, "train", "ddpm", "--data", "ring8", "--steps", "20", *tiny_sets("ddpm"),
                              "--set", "batch_size=32", "--no-progress", "--out", run))
    for flags in (["--set", "sampler=ddpm"], ["--set", "sampling_steps=3", "--set", "eta=0.5"], []):
        out = tmp_path / "s.npz"
        assert_succeeded(run_main(capsys, "sample", run, "-n", "5", *flags, "--out", out))
        import numpy as np
        with np.load(out) as f:
            assert f["x"].shape == (5, 2) and np.isfinite(f["x"]).all()
    for flags, words in ((["--set", "eta=-1"], ["eta", "-1"]), (["--set", "sampling_steps=21"], ["sampling_steps"]),
                         (["--set", "sampler=euler"], ["euler"]), (["--set", "beam=3"], ["beam"]),
                         (["--prompt", "hi"], ["--prompt"])):
        assert_one_line_error(run_main(capsys, "sample", run, *flags, "--out", tmp_path / "t.npz"), *words)
    result = run_main(capsys, "eval", run, "--metrics", "likelihood")
    assert_succeeded(result)
    assert "negative_elbo" in result.stdout


def test_cli_refuses_set_on_models_without_sampling_settings(capsys, tmp_path):
    run = tmp_path / "gan"
    assert_succeeded(run_main(capsys, "train", "gan", "--data", "ring8", "--steps", "2", *tiny_sets("gan"),
                              "--no-progress", "--out", run))
    assert_one_line_error(run_main(capsys, "sample", run, "--set", "eta=0", "--out", tmp_path / "s.npz"),
                          "--set", "gan")
