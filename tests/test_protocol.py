"""The model protocol of ``genlab.models.base``: a model written against it in one file joins
genlab with one registry line; settings reach exactly one config; runs an older genlab
saved still load and resume."""

import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import genlab
from genlab import runs
from genlab.config import Settings, check, check_learning_rate
from genlab.evaluation import evaluate_run
from genlab.models import MODELS
from genlab.models.base import Model, Phase, standard_normal
from conftest import cli_env, same_state

pytestmark = pytest.mark.usefixtures("one_thread")
FIXTURES = Path(__file__).parent / "fixtures"


# --- a new model in one file ----------------------------------------------------------------------

@dataclass
class ToyConfig(Settings):
    """A diagonal Gaussian N(mu, diag sigma^2) over points, fitted by maximum likelihood."""

    data_shape: tuple[int, ...] = (2,)
    lr: float = 0.05

    def __post_init__(self):
        super().__post_init__()
        check(len(self.data_shape) == 1, f"toy models points (d,), got data of shape {tuple(self.data_shape)}")
        check_learning_rate(self.lr)


class Toy(Model):
    """One phase that minimises the negative log-likelihood; an exact held-out likelihood."""

    name = "toy"
    Config = ToyConfig
    data_kinds = ("points",)
    likelihood = True

    def __init__(self, config, **networks):
        super().__init__(config, **networks)
        d = config.data_shape[0]
        self.mean = torch.nn.Parameter(torch.zeros(d))
        self.log_std = torch.nn.Parameter(torch.zeros(d))

    def log_prob(self, x):
        z = (x - self.mean) / self.log_std.exp()
        return (-0.5 * z.square() - self.log_std - 0.5 * math.log(2 * math.pi)).sum(1)

    def optimizers(self):
        return {"adam": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def phases(self):
        return [Phase("toy", "adam", self.loss)]

    def loss(self, x, y=None, state=None):
        nll = -self.log_prob(x).mean()
        return {"loss": nll, "nll": nll.detach()}

    def sample(self, n, *, labels=None, generator=None, **settings):
        self._check_labels(n, labels)
        self.sampling(settings)
        return self.mean + self.log_std.exp() * standard_normal((n, len(self.mean)), generator, self.device)

    def evaluate(self, data, **options):
        with torch.no_grad():
            return {"log_likelihood": float(self.log_prob(data.x.to(self.device)).mean())}

    def likelihood_unit(self):
        return "nats per example"


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setitem(MODELS, "toy", Toy)  # the one registry line


def test_a_model_written_in_one_file_trains_samples_saves_loads_and_evaluates(toy_registered, tmp_path):
    result = runs.start("toy", "ring8", {"steps": 300, "batch_size": 64, "progress": False}, out=tmp_path / "run")
    model = genlab.load(result.run_dir)
    assert isinstance(model, Toy) and same_state(model, result.model)
    # it learned what it can of the distribution: the training data's mean and spread per axis
    train, _ = runs.load_split("ring8")
    mean, std = train.x.mean(0), train.x.std(0)
    assert torch.allclose(model.mean.detach(), mean, atol=0.1), (model.mean, mean)
    assert torch.allclose(model.log_std.detach().exp(), std, atol=0.1), (model.log_std.exp(), std)
    x = model.sample(4000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and torch.allclose(x.std(0), std, atol=0.1)
    scores, path = evaluate_run(result.run_dir, n=500)
    assert path.is_file()
    assert {"modes", "sliced_w1", "mmd2_rbf", "log_likelihood"} <= set(scores["scores"]), scores["scores"].keys()
    assert scores["protocol"]["likelihood"]["unit"] == "nats per example"
    assert (result.run_dir / "samples.png").is_file() and result.quality["log_likelihood"] < 0


def test_a_model_written_in_one_file_passes_the_contract_test(tmp_path):
    """The whole contract test, run on the toy registered by a one-line plugin."""
    (tmp_path / "register_toy.py").write_text(
        "from genlab.models import MODELS\nfrom test_protocol import Toy\nMODELS['toy'] = Toy\n")
    tests = Path(__file__).parent
    env = cli_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(tests), env["PYTHONPATH"]])
    result = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "register_toy", "-p", "no:cacheprovider",
                             str(tests / "test_contract.py"), "-k", "toy", "--rootdir", str(tests.parent)],
                            capture_output=True, text=True, env=env, cwd=tests.parent, timeout=300)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "failed" not in summary and "error" not in summary and int(summary.split()[0]) >= 10, summary


# --- settings reach exactly one config -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(MODELS))
def test_no_setting_is_claimed_by_two_configs(name):
    owners = runs.setting_owners(MODELS[name])
    model, training, data = owners["model"], owners["training"], owners["data"]
    assert not model & training and not (model | training) & data, (model & training, (model | training) & data)


def test_seed_goes_to_the_trainer_only_and_still_seeds_em():
    model, config, train, _ = runs.prepare("gmm", "ring8", {"seed": 3, "components": 8, "restarts": 1})
    assert config.seed == 3 and not hasattr(model.config, "seed")
    a = genlab.train(model, train, seed=3)
    b = genlab.train(runs.prepare("gmm", "ring8", {"seed": 3, "components": 8, "restarts": 1})[0], train, seed=3)
    c = genlab.train(runs.prepare("gmm", "ring8", {"seed": 4, "components": 8, "restarts": 1})[0], train, seed=4)
    assert same_state(a, b) and not same_state(a, c)


def test_a_key_two_configs_claim_is_an_error_in_the_code(monkeypatch):
    @dataclass
    class Clashing(ToyConfig):
        batch_size: int = 3  # also a training setting

    class ClashingToy(Toy):
        Config = Clashing

    with pytest.raises(TypeError, match="batch_size"):
        runs.split_settings(ClashingToy, {"lr": 0.1})


# --- runs saved by an older genlab ----------------------------------------------------------------------

OLD_RUNS = json.loads((FIXTURES / "old_runs" / "expected.json").read_text())


def live_sum(model) -> float:
    """The parameters being trained (the EMA copies' warm-up changed; the live weights did not)."""
    return sum(float(p.detach().double().sum()) for name, p in model.named_parameters() if "_ema" not in name)


@pytest.mark.parametrize("name", sorted(OLD_RUNS))
def test_runs_saved_by_the_previous_version_load_and_resume(name, tmp_path):
    """Fixtures written by genlab before the protocol change (step counters in the models,
    gmm's seed in its config); the expected figures are what that version computed."""
    expected = OLD_RUNS[name]
    run = tmp_path / name
    shutil.copytree(FIXTURES / "old_runs" / name, run)
    model = genlab.load(run)
    assert live_sum(model) == pytest.approx(expected["loaded_live"], rel=1e-7, abs=1e-7)  # the stored weights
    if not model.two_domains:
        with torch.no_grad():
            x = model.sample(4, generator=torch.Generator().manual_seed(1))
        assert float(x.double().sum()) == pytest.approx(expected["loaded_samples"], rel=1e-4, abs=1e-4)
    if "resumed_live" in expected:
        # another CPU may round differently, and Adam turns a flipped near-zero gradient into a
        # step of lr; a resume that lost the optimiser or the schedule moves the sums far more
        result = runs.resume(run, steps=8)
        assert result.steps == 8
        assert live_sum(result.model) == pytest.approx(expected["resumed_live"], rel=1e-4, abs=1e-4)


# --- presets: what a model's benchmark trained with, per built-in dataset ----------------------------------

PRESETS = [(name, data) for name in sorted(MODELS) for data in MODELS[name].presets]


@pytest.mark.parametrize("name,data", PRESETS, ids=[f"{n}-{d}" for n, d in PRESETS])
def test_every_preset_resolves_to_valid_settings(name, data):
    record = runs.start(name, data, {}, dry_run=True)
    preset = MODELS[name].presets[data]
    assert record["preset"] == {"data": data, "settings": preset}
    for key, value in preset.items():
        where = record["train"] if key in record["train"] else record["data"] if key == "binarize" \
            else record["model_config"]
        assert where[key] == (list(value) if isinstance(value, tuple) else value), (key, where[key], value)


def test_the_dcgan_benchmark_settings_are_what_a_user_gets_and_the_user_still_overrides(capsys):
    record = runs.start("dcgan", "mnist5k", {}, dry_run=True)
    assert record["model_config"]["lr"] == 5e-4 and record["train"]["batch_size"] == 64
    assert record["train"]["steps"] == 7000
    record = runs.start("dcgan", "mnist5k", {"lr": 1e-4, "steps": 10}, dry_run=True)
    assert record["model_config"]["lr"] == 1e-4 and record["train"]["steps"] == 10
    assert record["train"]["batch_size"] == 64
    record = runs.start("dcgan", "digits", {}, dry_run=True)  # no preset: the paper's settings
    assert record["preset"] is None and record["model_config"]["lr"] == 2e-4 and record["train"]["batch_size"] == 128
