"""Networks of the user's own: genlab's losses, phases, trainer and files around them.

The classes below stand for a researcher's modules: architectures unlike genlab's own (MLP
images for dcgan, a residual encoder for vae, a gated MLP denoiser for ddpm), each keeping
its constructor arguments as attributes of the same names, as genlab's saving expects.
"""

import json
import math

import pytest
import torch
from torch import nn

import genlab
from genlab.errors import CheckpointError, ConfigError
from genlab.trainer import Trainer, TrainConfig
from conftest import assert_one_line_error, run_cli, same_state

pytestmark = pytest.mark.usefixtures("one_thread")


class MLPImageGenerator(nn.Module):
    """z -> images in [-1, 1] through an MLP (dcgan's own generator is convolutional)."""

    def __init__(self, latent_dim: int, shape: tuple, hidden: int = 64):
        super().__init__()
        self.latent_dim, self.shape, self.hidden = latent_dim, tuple(shape), hidden
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, math.prod(shape)), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(len(z), *self.shape)


class MLPCritic(nn.Module):
    def __init__(self, shape: tuple, hidden: int = 64):
        super().__init__()
        self.shape, self.hidden = tuple(shape), hidden
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


class ResidualEncoder(nn.Module):
    """x -> (mean, log-variance) of q(z|x) through a residual MLP."""

    def __init__(self, dim: int, latent_dim: int, hidden: int = 32):
        super().__init__()
        self.dim, self.latent_dim, self.hidden = dim, latent_dim, hidden
        self.inp, self.res, self.out = nn.Linear(dim, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x):
        h = torch.tanh(self.inp(x.flatten(1)))
        return self.out(h + torch.tanh(self.res(h)))


class SmallDecoder(nn.Module):
    def __init__(self, latent_dim: int, outputs: int, hidden: int = 32):
        super().__init__()
        self.latent_dim, self.outputs, self.hidden = latent_dim, outputs, hidden
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.SiLU(), nn.Linear(hidden, outputs))

    def forward(self, z):
        return self.net(z)


class GatedDenoiser(nn.Module):
    """(x_t, t, y) -> eps for points: an MLP whose hidden units are gated by a time embedding."""

    def __init__(self, dim: int, hidden: int = 48, timesteps: int = 20, outputs: int = 0):
        super().__init__()
        self.dim, self.hidden, self.timesteps, self.outputs = dim, hidden, timesteps, outputs
        self.time = nn.Embedding(timesteps, hidden)
        self.inp, self.out = nn.Linear(dim, hidden), nn.Linear(hidden, outputs or dim)

    def forward(self, x, t, y=None):
        return self.out(torch.relu(self.inp(x)) * torch.sigmoid(self.time(t)))


class Forgetful(nn.Module):
    """Does not keep its constructor argument, so it cannot be saved."""

    def __init__(self, size: int):
        super().__init__()
        self.layer = nn.Linear(size, size)


@pytest.fixture(scope="module")
def moons():
    return genlab.load_dataset("moons", n=400, seed=0)


def networks_for(name, data):
    shape = tuple(data.shape)
    if name == "dcgan":
        return {"latent_dim": 8}, {"generator": MLPImageGenerator(8, shape), "discriminator": MLPCritic(shape)}
    if name == "vae":
        return {"latent_dim": 2}, {"encoder": ResidualEncoder(math.prod(shape), 2),
                                   "decoder": SmallDecoder(2, 2 * math.prod(shape))}
    return {"timesteps": 20, "sampling_steps": 5}, {"net": GatedDenoiser(math.prod(shape), timesteps=20)}


def data_for(name, digits, moons):
    return digits if name == "dcgan" else moons


def create(name, data, seed=0):
    torch.manual_seed(seed)  # the user's networks are initialised from the global RNG
    settings, networks = networks_for(name, data)
    return genlab.create(name, data=data, **settings, **networks)


def config(steps, **overrides):
    values = dict(steps=steps, batch_size=32, log_every=10, checkpoint_every=10, sample_every=1000, progress=False)
    return TrainConfig(**{**values, **overrides})


class Interrupted(Exception):
    pass


def stop_at_second_log(model):
    stop_at_second_log.calls += 1
    if stop_at_second_log.calls == 2:
        raise Interrupted
    return {}


@pytest.mark.parametrize("name", ["dcgan", "vae", "ddpm"])
def test_user_networks_train_save_load_by_import_path_and_resume_exactly(name, digits, moons, tmp_path):
    data = data_for(name, digits, moons)
    model = create(name, data)
    roles = type(model).networks
    assert all(type(getattr(model, role)).__module__ == __name__ for role in networks_for(name, data)[1])
    straight = Trainer(model, data, config(40), tmp_path / "a").run()
    stop_at_second_log.calls = 0
    with pytest.raises(Interrupted):  # stops at step 20, after the step-10 checkpoint
        Trainer(create(name, data), data, config(40), tmp_path / "b", monitors=(stop_at_second_log,)).run()
    resumed = Trainer(create(name, data, seed=5), data, config(40), tmp_path / "b").run(resume=True)
    assert same_state(straight, resumed)

    straight.save(tmp_path / "saved")
    meta = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert set(meta["networks"]) <= set(roles) and meta["networks"]
    for spec in meta["networks"].values():
        assert spec["class"].startswith(f"{__name__}.") and spec["args"]
    loaded = genlab.load(tmp_path / "saved").eval()
    assert same_state(straight.eval(), loaded)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    with torch.no_grad():
        assert torch.equal(straight.sample(16, generator=g()), loaded.sample(16, generator=g()))


def test_a_user_vae_learns_the_data(moons):
    """Not only shapes: the user's encoder and decoder improve the held-out ELBO a lot."""
    train, test = moons.split(0.25, seed=0)
    torch.manual_seed(0)
    model = genlab.create("vae", data=train, latent_dim=2, encoder=ResidualEncoder(2, 2, 64),
                          decoder=SmallDecoder(2, 4, 64))
    before = model.evaluate(test)["negative_elbo"]
    genlab.train(model, train, steps=1500, batch_size=64, progress=False)
    after = model.evaluate(test)["negative_elbo"]
    assert after < before - 0.5, (before, after)  # seen: 2.64 -> 1.82 nats per example


@pytest.mark.parametrize("name,role,bad", [
    ("dcgan", "generator", lambda shape: MLPImageGenerator(8, (1, 4, 4))),
    ("vae", "encoder", lambda shape: ResidualEncoder(math.prod(shape), 3)),
    ("ddpm", "net", lambda shape: GatedDenoiser(2, timesteps=20, outputs=3)),
])
def test_a_network_with_the_wrong_output_shape_is_one_clear_error(name, role, bad, digits, moons):
    data = data_for(name, digits, moons)
    settings, networks = networks_for(name, data)
    networks[role] = bad(tuple(data.shape))
    with pytest.raises(ConfigError) as info:
        genlab.create(name, data=data, **settings, **networks)
    message = str(info.value)
    assert role in message and type(networks[role]).__name__ in message and "needs" in message, message
    assert "\n" not in message


def test_unknown_roles_and_unsaveable_networks_are_refused(moons):
    with pytest.raises(ConfigError, match="no network 'critic'"):
        genlab.create("vae", data=moons, critic=MLPCritic((2,)))
    with pytest.raises(ConfigError, match="size"):
        genlab.create("ddpm", data=moons, timesteps=20, sampling_steps=5, net=Forgetful(2))


def test_a_saved_model_whose_class_cannot_be_imported_is_one_line(moons, tmp_path, capsys):
    model = create("vae", moons)
    model.save(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    meta = json.loads(path.read_text())
    meta["networks"]["encoder"]["class"] = "no_such_package.Encoder"
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="no_such_package.Encoder"):
        genlab.load(tmp_path / "m")
    result = run_cli("sample", tmp_path / "m", "-n", "4", "--out", tmp_path / "s.npz", cwd=tmp_path)
    assert_one_line_error(result, "no_such_package.Encoder", "encoder")
