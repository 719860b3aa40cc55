"""Defects and paper cuts a new user met, each pinned by a test that failed before its fix."""

import json
import math
import os
import stat

import pytest
import torch

import genlab
from genlab import runs
from genlab.errors import ConfigError, TrainingDiverged
from genlab.metrics.images import kid
from genlab.models.vae import VAE
from genlab.models.wgan import gradient_penalty
from genlab.trainer import Trainer, TrainConfig
from conftest import assert_one_line_error, assert_succeeded, run_cli, run_main, tiny

pytestmark = pytest.mark.usefixtures("one_thread")


def test_spectral_norm_is_refused_for_stylegan_in_one_line():
    """StyleGAN's discriminator is built of equalised-learning-rate layers, which the
    normaliser does not wrap: the setting would do nothing, so it is refused."""
    with pytest.raises(ConfigError, match="spectral_norm") as info:
        genlab.create("stylegan", spectral_norm=True)
    assert "\n" not in str(info.value)


def test_a_nan_in_a_quantity_logged_every_few_steps_names_its_step(monkeypatch, ring8):
    """stylegan logs r1 and path_length only every few steps: a NaN there is the diverged
    training error, naming the step it happened at (it was a ZeroDivisionError)."""
    original = VAE.loss

    def loss(self, x, y=None, state=None):
        out = original(self, x, y, state)
        if state.step % 4 == 3:  # logged at steps 3, 7, 11, ...; NaN from step 7
            out["sparse"] = torch.tensor(float("nan") if state.step >= 7 else 1.0)
        return out

    monkeypatch.setattr(VAE, "loss", loss)
    model = genlab.create("vae", data=ring8, **tiny("vae"))
    with pytest.raises(TrainingDiverged, match="step 7: sparse is nan"):
        Trainer(model, ring8, TrainConfig(steps=20, batch_size=16, log_every=10, progress=False)).run()


@pytest.fixture(scope="module")
def stylegan_run(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("sg") / "run"
    settings = {"latent_dim": 4, "width": 4, "mapping_layers": 1, "steps": 2, "batch_size": 4, "progress": False}
    return runs.start("stylegan", "digits", settings, out=out).run_dir


@pytest.mark.parametrize("setting, words", [("foo=1", ["foo", "truncation"]), ("truncation=abc", ["truncation", "abc"]),
                                            ("noise=loud", ["noise", "loud"])])
def test_bad_sampling_settings_are_one_line(stylegan_run, setting, words, capsys, tmp_path):
    result = run_main(capsys, "sample", stylegan_run, "--set", setting, "--out", tmp_path / "s.png")
    assert_one_line_error(result, *words)


def test_kid_standard_deviation_is_not_available_when_every_subset_is_the_whole_set():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(50, 8, generator=g), torch.randn(50, 8, generator=g) + 0.5
    mean, std = kid(a, b, subsets=10, subset_size=1000)
    assert math.isfinite(mean) and std is None
    mean, std = kid(a, b, subsets=10, subset_size=20)
    assert std is not None and std > 0


def test_the_protocol_records_the_device_the_model_samples_on(monkeypatch, ring8):
    model = genlab.create("gmm", data=ring8, components=8, restarts=1)
    genlab.train(model, ring8)
    monkeypatch.setattr(type(model), "device", property(lambda self: torch.device("cpu", 0)))
    result = genlab.evaluate(model, ring8, n=200, metrics=["wasserstein"])
    assert result["protocol"]["sampler"]["device"] == "cpu:0"


def test_the_gradient_penalty_is_taken_at_the_interpolates_over_whole_images():
    """A non-linear critic f(x) = ||x||^2 / 2 on images: grad f(x_hat) = x_hat, so the penalty
    is E (||x_hat|| - 1)^2 over each whole image. Taking the gradient at the real images, or
    the norm over the last axis only, gives other values."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(16, 1, 6, 6, generator=g), torch.rand(16, 1, 6, 6, generator=g) - 0.5
    critic = lambda x: 0.5 * x.square().flatten(1).sum(1)  # noqa: E731
    torch.manual_seed(3)
    penalty = gradient_penalty(critic, real, fake)
    torch.manual_seed(3)
    eps = torch.rand(16, 1, 1, 1)
    x_hat = eps * real + (1 - eps) * fake
    expected = (x_hat.flatten(1).norm(dim=1) - 1).square().mean()
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-6)
    at_real = (real.flatten(1).norm(dim=1) - 1).square().mean()
    last_axis = (x_hat.norm(dim=-1) - 1).square().mean()
    assert abs(expected - at_real) > 0.1 and abs(expected - last_axis) > 0.1


def test_files_are_written_with_the_mode_the_umask_gives(tmp_path, ring8):
    old = os.umask(0o022)
    try:
        model = genlab.create("gmm", data=ring8, components=2, restarts=1)
        genlab.train(model, ring8)
        model.save(tmp_path / "m")
    finally:
        os.umask(old)
    for name in ("model.safetensors", "config.json"):
        assert stat.S_IMODE(os.stat(tmp_path / "m" / name).st_mode) == 0o644, name


@pytest.mark.parametrize("args, words", [
    (["list", "vea"], ["vea", "did you mean", "vae"]),
    (["train", "dcgna", "--data", "digits"], ["dcgna", "did you mean", "dcgan"]),
    (["train", "gan", "--data", "rign8"], ["rign8", "did you mean", "ring8"]),
])
def test_close_names_are_suggested(args, words, capsys):
    assert_one_line_error(run_main(capsys, *args), *words)


def test_list_describes_a_dataset_and_version_is_printed(capsys):
    result = run_main(capsys, "list", "ring8")
    assert_succeeded(result)
    assert "ring8" in result.stdout and "unit circle" in result.stdout
    with pytest.raises(SystemExit) as info:
        run_main(capsys, "--version")
    assert info.value.code == 0
    assert genlab.__version__ in capsys.readouterr().out


def test_fid_is_accepted_for_the_frechet_distance(digits):
    train, test = digits.split(0.2, seed=0)
    result = genlab.evaluate(test.x[:60], train, test, n=60, metrics=["fid"])
    assert "frechet_distance" in result["scores"] and result["protocol"]["metrics"] == ["features"]


def test_text_samples_go_to_stdout_without_out(tmp_path, capsys):
    text = tmp_path / "tale.txt"
    text.write_text("The cat sat on the mat. The dog sat on the log.\n\nA cat and a dog met on the mat.\n" * 20)
    run = runs.start("ngram", f"text:{text}", {"order": 2, "min_count": 1}, out=tmp_path / "run").run_dir
    result = run_main(capsys, "sample", run, "-n", "3", "--seed", "1")
    assert_succeeded(result)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 3 and all(set(line.split()) <= set(text.read_text().split()) | {"<unk>"}
                                   for line in lines), lines
    result = run_main(capsys, "sample", run, "-n", "2", "--out", "-")
    assert_succeeded(result)
    assert len([line for line in result.stdout.splitlines() if line.strip()]) == 2


def test_progress_in_a_log_is_a_line_per_log_step_and_no_progress_survives_resume(tmp_path):
    """stderr captured here is not a terminal: no carriage returns, one line a log step."""
    args = ["train", "gan", "--data", "ring8", "--steps", "30", "--set", "hidden=8", "--set", "layers=1",
            "--set", "log_every=10", "--set", "batch_size=16", "--out", "run"]
    result = run_cli(*args, cwd=tmp_path)
    assert_succeeded(result)
    assert "\r" not in result.stderr, result.stderr[:300]
    lines = [line for line in result.stderr.splitlines() if line.startswith("gan step")]
    assert [line.split()[2].rstrip(",:") for line in lines] == ["10/30", "20/30", "30/30"], result.stderr
    assert "modes" in lines[-1]  # the logged figures come with the line
    resumed = run_cli("train", "--resume", "run", "--steps", "50", "--no-progress", cwd=tmp_path)
    assert_succeeded(resumed)
    assert "step" not in resumed.stderr, resumed.stderr


def test_training_the_feature_network_says_so_and_where_it_is_cached(digits, tmp_path, capsys):
    from genlab.metrics.features import TrainSettings, feature_network

    train, test = digits.split(0.2, seed=0)
    quick = TrainSettings(min_steps=20, max_epochs=1)
    feature_network(train, test, cache_dir=tmp_path, settings=quick)
    said = capsys.readouterr().err
    assert "training the feature network" in said and str(tmp_path) in said and "test accuracy" in said
    feature_network(train, test, cache_dir=tmp_path, settings=quick)  # cached: nothing to say
    assert capsys.readouterr().err == ""


def test_the_python_api_takes_tensors_arrays_and_pairs_as_scikit_learn_does():
    import numpy as np

    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = torch.randint(0, 3, (600,), generator=g)
    x = centres[y] + 0.3 * torch.randn(600, 2, generator=g)
    model = genlab.create("gmm", data=x, components=3, restarts=1)
    genlab.train(model, x.numpy())                                   # an array works as well as a tensor
    responsibilities = model.predict_proba(x)
    assert torch.allclose(responsibilities.sum(1), torch.ones(600, dtype=responsibilities.dtype))
    predicted = model.predict(x)
    assert torch.equal(predicted, responsibilities.argmax(1))
    purity = sum(int(torch.bincount(y[predicted == k], minlength=3).max()) for k in range(3)) / 600
    assert purity > 0.99, purity
    assert model.score(x) == pytest.approx(float(model.log_prob(x).mean()))
    vae = genlab.create("cvae", data=(x, y), hidden=16, layers=1)    # (x, y): labels for a conditional model
    assert vae.config.num_classes == 3
    genlab.train(vae, (x, y), steps=3, batch_size=32, progress=False)
    with pytest.raises(genlab.GenlabError, match="genlab.Dataset, a tensor or array"):
        genlab.train(vae, "ring8")
    with pytest.raises(genlab.GenlabError, match="NaN"):
        genlab.create("gan", data=np.array([[0.0, float("nan")]] * 4))


def test_an_npz_of_zeros_and_ones_is_binary(tmp_path):
    import numpy as np

    x = (np.random.default_rng(0).random((20, 8, 8)) > 0.5).astype(np.float32)
    np.savez(tmp_path / "bits.npz", x=x)
    data = genlab.load_dataset(str(tmp_path / "bits.npz"))
    assert data.kind == "image" and data.n_bins == 2


def test_list_describes_every_setting_and_each_model_in_its_own_words(capsys):
    from genlab.cli import summary
    from genlab.config import notes
    from genlab.models import MODELS
    from genlab.trainer import TrainConfig

    for name, cls in MODELS.items():
        blank = [key for key, note in notes(cls.Config).items() if not note]
        assert not blank, (name, blank)
    assert all(notes(TrainConfig).values())
    summaries = [summary(cls) for cls in MODELS.values()]
    assert len(set(summaries)) == len(summaries), summaries
    result = run_main(capsys, "list", "dcgan")
    assert_succeeded(result)
    for words in ("batch_size", "steps", "device", "seed", "learning rate", "mnist5k"):
        assert words in result.stdout, words


def test_a_config_file_sets_a_run_and_every_run_writes_one_that_repeats_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gan.yaml").write_text("model: gan\ndata: ring8\nhidden: 8\nlayers: 1\nlr: 1e-3\nsteps: 30\n"
                                       "batch_size: 16\nlog_every: 10\n")
    first = run_main(capsys, "train", "--config", "gan.yaml", "--set", "hidden=12", "--out", "a", "--no-progress")
    assert_succeeded(first)
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert record["model_config"]["hidden"] == 12 and record["model_config"]["lr"] == 1e-3  # --set over the file
    assert record["train"]["steps"] == 30
    again = run_main(capsys, "train", "--config", "a/settings.yaml", "--out", "b", "--no-progress")
    assert_succeeded(again)
    a, b = (genlab.load(tmp_path / name) for name in ("a", "b"))
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())  # the same run, bit for bit
    assert json.loads((tmp_path / "b" / "run.json").read_text())["model_config"] == record["model_config"]
    (tmp_path / "bad.yaml").write_text("model: gan\ndata: ring8\nhiden: 8\n")
    assert_one_line_error(run_main(capsys, "train", "--config", "bad.yaml"), "hiden")
    (tmp_path / "broken.yaml").write_text("model: [gan\n")
    assert_one_line_error(run_main(capsys, "train", "--config", "broken.yaml"), "broken.yaml", "yaml")
    assert_one_line_error(run_main(capsys, "train", "vae", "--config", "gan.yaml"), "vae", "gan")


@pytest.mark.parametrize("name", ["ddpm", "pixelcnn"])
def test_a_class_count_is_refused_not_dropped_by_an_unconditional_model(name, digits):
    with pytest.raises(ConfigError, match=f"num_classes=5 is for a conditional {name}"):
        genlab.create(name, num_classes=5)
    assert genlab.create(name, data=digits).config.num_classes == 0          # unconditional: no classes taken
    assert genlab.create(name, data=digits, conditional=True).config.num_classes == 10


def test_a_bernoulli_vae_is_refused_on_data_that_are_not_binary(capsys, tmp_path):
    """Binary cross-entropy with soft targets is no distribution over 17 levels: its ELBO
    would be reported in nats per image though it bounds nothing."""
    result = run_main(capsys, "train", "vae", "--data", "digits", "--set", "likelihood=bernoulli",
                      "--steps", "2", "--out", tmp_path / "r")
    assert_one_line_error(result, "bernoulli", "17 levels", "binarize")
    with pytest.raises(ConfigError, match="continuous"):
        genlab.create("vae", likelihood="bernoulli")  # points
    binary = genlab.load_dataset("digits", binarize=0.5)
    assert genlab.create("vae", data=binary, likelihood="bernoulli").config.n_bins == 2


def test_ddpm_reports_the_progress_of_its_slow_bound(ring8):
    model = genlab.create("ddpm", data=ring8, timesteps=20, sampling_steps=5, elbo_terms=0, hidden=16, layers=1)
    assert "progress" in model.evaluate_options
    ticks = []
    figures = model.evaluate(ring8, progress=lambda done, total: ticks.append((done, total)))
    assert math.isfinite(figures["negative_elbo"])
    batches = math.ceil(len(ring8) / 500)
    assert ticks == [(k, 20 * batches) for k in range(1, 20 * batches + 1)]  # L_0 and the 19 others, per batch
    assert model.evaluate(ring8)["negative_elbo"] == figures["negative_elbo"]  # the same figure without it
