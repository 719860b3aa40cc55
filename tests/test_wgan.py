"""WGAN and WGAN-GP: the critic estimates a Wasserstein distance that the generator lowers;
weight clipping and the gradient penalty behave as Arjovsky et al. and Gulrajani et al. say."""

import pytest
import torch

import genlab
from genlab.errors import ConfigError
from genlab.models.wgan import gradient_penalty
from genlab.trainer import Trainer, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def w_estimate(model, x, z):
    with torch.no_grad():
        return (model.discriminate(x).mean() - model.discriminate(model.generate(z)).mean()).item()


def test_critic_estimates_a_distance_that_the_generator_lowers(ring8):
    # A short budget does not reach the modes (WGAN-GP needs tens of thousands of steps on
    # ring8, see benchmarks/modes.py), so check the two halves of the game separately.
    torch.manual_seed(0)
    model = genlab.create("wgan-gp", data=ring8, hidden=64, layers=2, latent_dim=2, lr=3e-4)
    opts = model.optimizers()
    x, z = ring8.x[:512], torch.randn(512, 2)
    start = w_estimate(model, x, z)
    for _ in range(300):  # the critic alone: its estimate of W(p_data, p_g) rises
        batch = ring8.x[torch.randint(len(ring8), (128,))]
        opts["critic"].zero_grad()
        model.critic_step(batch)["loss"].backward()
        opts["critic"].step()
    trained = w_estimate(model, x, z)
    assert trained > start + 0.3, (start, trained)
    for _ in range(30):  # the generator alone, against that critic: the estimate falls
        opts["g"].zero_grad()
        model.g_step(x[:128])["loss"].backward()
        opts["g"].step()
    assert w_estimate(model, x, z) < 0.5 * trained


def test_weight_clipping_holds_after_training(ring8):
    model = genlab.create("wgan", data=ring8, hidden=16, layers=2, clip=0.02, lr=1e-2)
    trainer = Trainer(model, ring8, TrainConfig(steps=5, batch_size=32, log_every=5, progress=False))
    trainer.run()
    weights = torch.cat([p.flatten() for p in model.discriminator.parameters()])
    assert weights.abs().max() <= 0.02
    assert (weights.abs() == 0.02).any()  # lr 1e-2 pushes some weights to the bound
    assert {"critic_loss", "w_estimate", "g_loss"} <= set(trainer.last_log)


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    real, fake = torch.randn(64, 3), torch.randn(64, 3)
    a = torch.tensor([0.6, 0.0, 0.8])  # |a| = 1: f(x) = a.x is 1-Lipschitz with unit gradient
    assert gradient_penalty(lambda x: x @ a, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    # f(x) = 3 a.x: gradient norm 3 everywhere, penalty (3 - 1)^2 = 4
    assert gradient_penalty(lambda x: 3 * x @ a, real, fake).item() == pytest.approx(4.0)


def test_wgan_gp_logs_its_estimate_and_penalty(ring8):
    model = genlab.create("wgan-gp", data=ring8, hidden=16, layers=1, n_critic=2)
    trainer = Trainer(model, ring8, TrainConfig(steps=4, batch_size=32, log_every=4, progress=False))
    trainer.run()
    assert {"critic_loss", "w_estimate", "gp", "g_loss"} <= set(trainer.last_log)
    assert trainer.last_log["gp"] > 0


@pytest.mark.parametrize("name, key, value", [
    ("wgan", "n_critic", 0), ("wgan", "clip", 0), ("wgan-gp", "n_critic", 0), ("wgan-gp", "gp_weight", -1),
    ("wgan", "ema", 1.0),
])
def test_bad_configs_raise_one_line_config_errors(name, key, value):
    with pytest.raises(ConfigError) as info:
        genlab.create(name, **{key: value})
    message = str(info.value)
    assert key in message and "\n" not in message


def test_wgan_on_images_stays_in_range(digits):
    model = genlab.create("wgan-gp", data=digits, hidden=32, layers=1, n_critic=1)
    Trainer(model, digits, TrainConfig(steps=5, batch_size=32, progress=False)).run()
    x = model.sample(8)
    assert x.shape == (8, 1, 8, 8) and x.min() >= 0 and x.max() <= 1
