"""The contract every registered model keeps (the diffusers / scikit-learn common checks).

Parametrised over ``genlab.models.MODELS``, so a newly registered model joins automatically
with its defaults (add tiny settings to ``TINY`` in conftest.py to keep it fast).
"""

import copy
import json

import pytest
import torch

import genlab
from genlab.config import from_dict, to_dict
from genlab.errors import GenlabError
from genlab.models import MODELS
from genlab.models.base import DATA_KINDS
from genlab.trainer import Trainer, TrainConfig
from conftest import fit_briefly, is_sgd, same_state, tiny

pytestmark = pytest.mark.usefixtures("one_thread")

NAMES = sorted(MODELS)
# One dataset per kind of data a model may declare (``Model.data_kinds``), and the pairs of
# domains for two-domain models: every model runs on every kind it declares, and must refuse
# the others with one clear error. A refusal of a declared kind fails the test.
ONE = {"points": "ring8", "image": "digits", "text": "kjv"}
TWO = {"points": "moons-rotated", "image": "digits-inverted"}


def specs_for(cls) -> list[str]:
    table = TWO if cls.two_domains else ONE
    return [table[kind] for kind in cls.data_kinds if kind in table]


CASES = [(name, spec) for name in NAMES for spec in specs_for(MODELS[name])]
REFUSED = [(name, spec) for name in NAMES for spec in (*ONE.values(), *TWO.values())
           if spec not in specs_for(MODELS[name])]


@pytest.fixture(scope="module")
def datasets(ring8, digits):
    return {"ring8": ring8, "digits": digits, "kjv": genlab.load_dataset("kjv", n=30, seed=0),
            "moons-rotated": genlab.load_dataset("moons-rotated", n=400, seed=0),
            "digits-inverted": genlab.load_dataset("digits-inverted", n=400, seed=0)}


def build(name, data):
    return genlab.create(name, data=data, **tiny(name))


@pytest.mark.parametrize("name,spec", REFUSED, ids=[f"{n}-{s}" for n, s in REFUSED])
def test_data_a_model_does_not_declare_is_refused_in_one_line(name, spec, datasets):
    with pytest.raises(GenlabError) as info:
        build(name, datasets[spec])
    assert name in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_declares_the_data_it_takes(name):
    cls = MODELS[name]
    assert cls.data_kinds and set(cls.data_kinds) <= set(DATA_KINDS)
    assert specs_for(cls), f"{name} declares no data the contract test can try"


@pytest.fixture(scope="module", params=CASES, ids=[f"{n}-{s}" for n, s in CASES])
def case(request, datasets):
    """(name, data, a briefly trained model)."""
    name, spec = request.param
    data = datasets[spec]
    torch.manual_seed(0)
    model = build(name, data)
    return name, data, fit_briefly(model, data, steps=3).eval()


# --- building -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_builds_from_defaults(name):
    cls = MODELS[name]
    model = genlab.create(name)
    assert isinstance(model, cls) and isinstance(model, torch.nn.Module)
    assert model.name == name and model.config == cls.Config()


@pytest.mark.parametrize("name", NAMES)
def test_unknown_setting_is_refused_with_the_valid_keys(name):
    with pytest.raises(GenlabError) as info:
        genlab.create(name, no_such_setting=1)
    assert "no_such_setting" in str(info.value) and "data_shape" in str(info.value)


def test_create_takes_the_shape_from_the_data(case):
    name, data, model = case
    assert tuple(model.config.data_shape) == data.shape
    for key, value in tiny(name).items():
        assert getattr(model.config, key) == value


# --- training --------------------------------------------------------------------------------------

def test_trains_with_finite_losses_and_gradients_or_fits(case):
    name, data, model = case
    if not is_sgd(model):  # fit models: fit ran in the fixture and moved every parameter somewhere finite
        fresh = genlab.create(name, data=data, **tiny(name))
        assert not same_state(fresh, model)
        assert all(torch.isfinite(v).all() for v in model.state_dict().values())
        return
    model.train()
    optimizers = model.optimizers()
    torch.manual_seed(1)
    x, y = Trainer(model, data, TrainConfig(batch_size=32, progress=False)).batch()
    for phase in model.phases():
        assert phase.optimizer in optimizers
        model.zero_grad(set_to_none=True)
        out = phase.loss(x, y)
        assert out["loss"].dim() == 0
        for key, value in out.items():
            assert torch.isfinite(value).all(), f"{phase.name}: {key} = {value}"
        out["loss"].backward()
        params = [p for group in optimizers[phase.optimizer].param_groups for p in group["params"]]
        grads = [p.grad for p in params if p.grad is not None]
        assert grads, f"phase {phase.name} gives no gradient to its optimizer's parameters"
        assert all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)
    model.zero_grad(set_to_none=True)
    model.eval()


def test_training_is_seeded(case):
    name, data, _ = case
    torch.manual_seed(0)
    start = build(name, data)
    a = fit_briefly(copy.deepcopy(start), data, steps=3, seed=7)
    torch.manual_seed(123)  # the caller's global RNG must not matter
    b = fit_briefly(copy.deepcopy(start), data, steps=3, seed=7)
    assert same_state(a, b)
    if is_sgd(start):
        c = fit_briefly(copy.deepcopy(start), data, steps=3, seed=8)
        assert not same_state(a, c)


# --- sampling --------------------------------------------------------------------------------------------

def draw(model, n=7, seed=0, data=None):
    """``n`` samples; for models of two domains, which do not sample, their output on the
    first ``n`` examples of domain A: translations (cyclegan) or class probabilities (dann)."""
    with torch.no_grad():
        if model.two_domains:
            x = data.part("a").x[:n]
            return model.translate(x) if model.translates else model.predict_proba(x)
        return model.sample(n, generator=torch.Generator().manual_seed(seed))


def same_samples(a, b) -> bool:
    """Tensors equal element for element, or (text models) equal lists of strings."""
    return a == b if isinstance(a, list) else torch.equal(a, b)


def test_sample_shape_dtype_finite(case):
    name, data, model = case
    x = draw(model, data=data)
    if model.two_domains:  # no noise to sample from: sample() says what to use instead
        with pytest.raises(GenlabError, match="translate|predict"):
            model.sample(7)
        expected = data.shape if model.translates else (model.config.num_classes,)
        assert x.shape == (7, *expected) and torch.isfinite(x).all()
        return
    if data.kind == "text":
        assert len(x) == 7 and all(isinstance(s, str) and s.strip() for s in x), x
        return
    assert x.shape == (7, *data.shape)
    assert x.dtype.is_floating_point
    assert torch.isfinite(x).all()


def test_image_samples_lie_in_the_unit_interval(case):
    name, data, model = case
    if data.kind != "image" or (model.two_domains and not model.translates):
        pytest.skip(f"{name} on {data.name} gives no images")
    x = draw(model, n=200, data=data)
    assert x.min() >= 0 and x.max() <= 1, (x.min().item(), x.max().item())


def test_sampling_is_seeded_and_leaves_the_global_rng_alone(case):
    name, data, model = case
    state = torch.get_rng_state()
    a, b, c = draw(model, seed=0, data=data), draw(model, seed=0, data=data), draw(model, seed=1, data=data)
    assert torch.equal(torch.get_rng_state(), state)
    assert same_samples(a, b)
    if model.two_domains:  # translation and prediction are deterministic functions of their input
        assert same_samples(a, c)
    else:
        assert not same_samples(a, c)


def test_a_walking_model_samples_its_noise_deterministically(case):
    """``walks``: ``from_noise(noise(n, g))`` is ``sample(n, generator=g)`` (stylegan with
    const noise, ddpm on DDIM's deterministic path; vae's points are the decoder's means), and
    the same noise gives the same samples: what a latent walk between two seeds relies on."""
    name, data, model = case
    if not model.walks:
        with pytest.raises(NotImplementedError):
            model.from_noise(torch.zeros(2, 3))
        return
    settings = {"noise": "const"} if name == "stylegan" else {}
    labels = torch.arange(5) % data.num_classes if model.conditional else None
    z = model.noise(5, torch.Generator().manual_seed(3))
    model.eval()
    with torch.no_grad():
        walked = model.from_noise(z, labels=labels, **settings)
        again = model.from_noise(z.clone(), labels=labels, **settings)
        sampled = model.sample(5, labels=labels, generator=torch.Generator().manual_seed(3), **settings)
    assert torch.equal(walked, again)
    if not (name in ("vae", "cvae") and data.kind == "points"):
        assert torch.allclose(walked, sampled, atol=1e-6), name
    assert walked.shape == (5, *data.shape)


# --- saving ------------------------------------------------------------------------------------------------

def test_save_load_round_trip(case, tmp_path):
    name, data, model = case
    model.save(tmp_path)
    loaded = genlab.load(tmp_path).eval()
    assert type(loaded) is type(model) and loaded.config == model.config
    assert same_state(model, loaded)
    assert same_samples(draw(model, data=data), draw(loaded, data=data))


def test_config_dict_round_trip(case):
    name, data, model = case
    values = json.loads(json.dumps(to_dict(model.config)))  # through JSON, as config.json stores it
    assert from_dict(type(model.config), values) == model.config
    assert to_dict(from_dict(type(model.config), values)) == values


def test_genlab_train_is_the_documented_function(ring8):
    model = genlab.create("vae", data=ring8, **tiny("vae"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    genlab.train(model, ring8, steps=2, batch_size=32, progress=False)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
