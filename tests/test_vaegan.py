"""VAE-GAN (Larsen et al. 2016): three networks, three phases, each on its own error signal;
the losses weighted as in the paper; training on digits stays finite."""

import math

import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.errors import GenlabError
from genlab.trainer import Trainer, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", n=400, seed=0)


def tiny(data, **settings):
    return genlab.create("vaegan", data=data, **{"hidden": 32, "layers": 1, "latent_dim": 4, **settings})


def test_phases_and_optimizers_follow_algorithm_1(data):
    model = tiny(data)
    optimizers = model.optimizers()
    assert [(p.name, p.optimizer) for p in model.phases()] == [
        ("encoder", "enc"), ("decoder", "dec"), ("discriminator", "dis")]
    for key, net in (("enc", model.encoder), ("dec", model.decoder), ("dis", model.discriminator)):
        held = {id(p) for g in optimizers[key].param_groups for p in g["params"]}
        assert held == {id(p) for p in net.parameters()}, key


def grads_after(model, step, x):
    model.zero_grad(set_to_none=True)
    step(x)["loss"].backward()
    return {name: any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
            for name, net in (("enc", model.encoder), ("dec", model.decoder), ("dis", model.discriminator))}


def test_each_network_gets_only_its_error_signal(data):
    """The GAN loss never reaches the encoder (section 2.2); the discriminator's loss moves
    only the discriminator; the decoder's loss reaches the decoder."""
    model, x = tiny(data), data.x[:16]
    torch.manual_seed(0)
    assert grads_after(model, model.decoder_step, x) == {"enc": False, "dec": True, "dis": True}
    assert grads_after(model, model.discriminator_step, x) == {"enc": False, "dec": False, "dis": True}
    assert grads_after(model, model.encoder_step, x)["enc"]


def test_losses_are_weighted_as_in_the_paper(data):
    """Encoder: beta * L_prior + L_llike; decoder: gamma * L_llike + the GAN term; the
    discriminator's loss at a coin-flip discriminator is 3 log 2 (three log-loss terms)."""
    model, x = tiny(data), data.x[:32]
    out = {}
    for beta, gamma in ((1.0, 0.0), (3.0, 2.0)):
        model.config.beta, model.config.gamma = beta, gamma
        torch.manual_seed(5)
        enc = model.encoder_step(x)
        torch.manual_seed(5)
        out[beta] = (enc, model.decoder_step(x))
    (enc1, dec1), (enc3, dec3) = out[1.0], out[3.0]
    assert torch.allclose(enc1["loss"], enc1["kl"] + enc1["feature_llike"])
    assert torch.allclose(enc3["loss"], 3.0 * enc3["kl"] + enc3["feature_llike"])
    assert torch.allclose(dec1["loss"], dec1["dec_gan"])                 # gamma = 0: the GAN term alone
    assert torch.allclose(dec3["loss"] - dec3["dec_gan"], 2.0 * enc3["feature_llike"], rtol=1e-4)
    torch.nn.init.zeros_(model.discriminator.head.weight)
    torch.nn.init.zeros_(model.discriminator.head.bias)
    assert float(model.discriminator_step(x)["loss"].detach()) == pytest.approx(3 * math.log(2), rel=1e-5)


def test_vaegan_trains_finitely_on_digits(data):
    torch.manual_seed(0)
    model = genlab.create("vaegan", data=data, backbone="conv", width=8, latent_dim=8)
    trainer = Trainer(model, data, TrainConfig(steps=150, batch_size=32, log_every=50, progress=False, monitor=False))
    trainer.run()
    log = trainer.last_log
    for key in ("encoder_loss", "decoder_loss", "discriminator_loss", "kl", "feature_llike", "dec_gan"):
        assert math.isfinite(log[key]), (key, log)
    assert 0 < log["d_real"] < 1 and 0 < log["d_fake"] < 1
    assert log["d_real"] > log["d_fake"]                              # the discriminator tells them apart
    with torch.no_grad():
        x = model.eval().sample(64, generator=torch.Generator().manual_seed(0))
        path = model.interpolate(data.x[:2], data.x[2:4], 5)
    assert x.shape == (64, 1, 8, 8) and 0 <= x.min() and x.max() <= 1
    assert path.shape == (2, 5, 1, 8, 8) and torch.isfinite(path).all()


@pytest.mark.parametrize("settings, words", [
    ({"gamma": -1.0}, "gamma"), ({"latent_dim": 0}, "latent_dim"), ({"beta": -0.1}, "beta"),
    ({"backbone": "conv", "data_shape": (2,)}, "vaegan"),
])
def test_bad_settings_are_one_line(settings, words):
    with pytest.raises(GenlabError) as info:
        genlab.create("vaegan", **settings)
    assert "\n" not in str(info.value) and words in str(info.value)
