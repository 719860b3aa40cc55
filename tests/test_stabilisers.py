"""The shared stabilisers: spectral norm, EMA of the generator, R1, one-sided label smoothing."""

import pytest
import torch
from torch import nn

import genlab
from genlab.errors import ConfigError
from genlab.models.adversarial import discriminator_loss
from genlab.nn import mlp
from genlab.nn.stabilisers import EMA, r1_penalty, smooth_real_targets, spectral_norm
from genlab.trainer import Trainer, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def test_ema_is_the_analytic_average():
    net = nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.fill_(0.0)
    ema = EMA(net, decay=0.5)
    assert not any(p.requires_grad for p in ema.parameters())
    for value in (4.0, 8.0):  # 0 -> 0.5*0 + 0.5*4 = 2 -> 0.5*2 + 0.5*8 = 5
        with torch.no_grad():
            net.weight.fill_(value)
        ema.update(net)
    assert torch.allclose(ema.average.weight, torch.full((1, 2), 5.0))
    assert torch.equal(ema(torch.ones(1, 2)), ema.average(torch.ones(1, 2)))


def test_gan_samples_from_its_ema_which_survives_save_and_load(ring8, tmp_path):
    torch.manual_seed(0)
    model = genlab.create("gan", data=ring8, hidden=16, layers=1, ema=0.9)
    Trainer(model, ring8, TrainConfig(steps=5, batch_size=32, progress=False)).run()
    model.eval()
    assert any(k.startswith("generator_ema.") for k in model.state_dict())
    draw = lambda m: m.sample(16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():  # the same noise through the live generator gives other points
        z = torch.randn(16, model.config.latent_dim, generator=torch.Generator().manual_seed(3))
        assert not torch.equal(draw(model), model.generate(z))
        assert torch.equal(draw(model), model.generate(z, model.generator_ema))
    model.save(tmp_path)
    loaded = genlab.load(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(draw(model), draw(loaded))


def test_ema_is_updated_after_each_generator_step(ring8):
    torch.manual_seed(0)
    model = genlab.create("gan", data=ring8, hidden=16, layers=1, ema=0.5)
    before = [p.clone() for p in model.generator.parameters()]
    Trainer(model, ring8, TrainConfig(steps=1, batch_size=32, progress=False)).run()
    for b, live, avg in zip(before, model.generator.parameters(), model.generator_ema.parameters()):
        assert torch.allclose(avg, 0.5 * b + 0.5 * live)  # one update, from the post-step weights


def test_spectral_norm_caps_the_top_singular_value():
    torch.manual_seed(0)
    net = spectral_norm(mlp(4, 1, 32, 2))
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.parametrizations.weight.original.mul_(10)
        for _ in range(30):  # power iterations run on forward in training mode
            net(torch.randn(8, 4))
    tops = [torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item()
            for layer in net if isinstance(layer, nn.Linear)]
    assert len(tops) == 3 and all(t == pytest.approx(1.0, abs=0.05) for t in tops), tops


def test_r1_is_zero_for_a_constant_critic_and_matches_a_linear_one():
    x = torch.randn(10, 3, requires_grad=True)
    constant = 0 * x.sum(1) + 2.0
    assert r1_penalty(constant, x, gamma=10.0).item() == 0.0
    a = torch.tensor([1.0, -2.0, 2.0])  # D(x) = a.x: ||grad||^2 = 9, so gamma/2 * 9
    assert r1_penalty(x @ a, x, gamma=10.0).item() == pytest.approx(45.0)


def test_one_sided_label_smoothing_lowers_only_the_real_targets():
    real, fake = torch.zeros(4), torch.zeros(4)  # D = 1/2 on both halves
    targets = smooth_real_targets(real, 0.1)
    assert torch.equal(targets, torch.full((4,), 0.9))
    # at D = 1/2 the cross-entropy is log 2 whatever the target
    assert discriminator_loss(real, fake, targets).item() == pytest.approx(2 * torch.log(torch.tensor(2.0)).item())
    # the smoothed optimum for the real half is D(x) = 0.9, not 1: at D(x) = sigmoid(3) = 0.95
    # smoothing pulls the logit down (gradient sigmoid(3) - 0.9 > 0), hard targets push it up
    logits = torch.tensor([3.0], requires_grad=True)
    discriminator_loss(logits, torch.zeros(1), smooth_real_targets(logits, 0.1)).backward()
    assert logits.grad.item() == pytest.approx(torch.sigmoid(torch.tensor(3.0)).item() - 0.9)
    logits.grad = None
    discriminator_loss(logits, torch.zeros(1)).backward()
    assert logits.grad.item() < 0


SIGMOID_FAMILY = {  # model: (data fixture, tiny settings)
    "gan": ("ring8", dict(hidden=16, layers=1)),
    "dcgan": ("digits", dict(latent_dim=8, width=4)),
    "cgan": ("digits", dict(backbone="conv", latent_dim=8, embed_dim=4, width=4)),
}
CRITICS = {"wgan": dict(hidden=16, layers=1, n_critic=2), "wgan-gp": dict(hidden=16, layers=1, n_critic=2)}


@pytest.mark.parametrize("name", sorted(SIGMOID_FAMILY))
def test_every_stabiliser_trains_on_every_sigmoid_model(name, request):
    spec, tiny = SIGMOID_FAMILY[name]
    data = request.getfixturevalue(spec)
    torch.manual_seed(0)
    ema = 0.5 if name == "gan" else 0.0  # the conv generators use batch norm: no EMA (below)
    model = genlab.create(name, data=data, **tiny, spectral_norm=True, ema=ema, r1=1.0, label_smoothing=0.1)
    before = [p.clone() for p in model.generator.parameters()]
    trainer = Trainer(model, data, TrainConfig(steps=1, batch_size=16, log_every=1, progress=False))
    trainer.run()
    assert trainer.last_log["r1"] > 0
    assert any(hasattr(m, "parametrizations") for m in model.discriminator.modules())  # spectral norm on D
    if not ema:
        return
    for b, live, avg in zip(before, model.generator.parameters(), model.generator_ema.parameters()):
        assert torch.allclose(avg, 0.5 * b + 0.5 * live)
    model.eval()
    with torch.no_grad():  # samples come from the average, not the live generator
        draw = lambda: model.sample(4, generator=torch.Generator().manual_seed(1))  # noqa: E731
        averaged = draw()
        model.generator_ema.average.load_state_dict(model.generator.state_dict())
        assert not torch.equal(averaged, draw())


def test_cgan_mlp_samples_from_its_ema(digits):
    torch.manual_seed(0)
    model = genlab.create("cgan", data=digits, latent_dim=8, embed_dim=4, hidden=16, layers=1, ema=0.9)
    Trainer(model, digits, TrainConfig(steps=2, batch_size=16, progress=False)).run()
    model.eval()
    with torch.no_grad():
        averaged = model.sample(4, labels=[0, 1, 2, 3], generator=torch.Generator().manual_seed(1))
        model.generator_ema.average.load_state_dict(model.generator.state_dict())
        assert not torch.equal(averaged, model.sample(4, labels=[0, 1, 2, 3], generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("name, settings", [("dcgan", {}), ("cgan", {"backbone": "conv"})])
def test_ema_on_a_batch_norm_generator_is_one_line(name, settings):
    with pytest.raises(ConfigError) as info:
        genlab.create(name, data_shape=(1, 8, 8), width=4, ema=0.999, **settings)
    assert "batch norm" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", sorted(CRITICS))
def test_critics_take_spectral_norm_and_ema(name, ring8):
    model = genlab.create(name, data=ring8, **CRITICS[name], spectral_norm=True, ema=0.9)
    Trainer(model, ring8, TrainConfig(steps=2, batch_size=16, progress=False)).run()
    assert any(hasattr(m, "parametrizations") for m in model.discriminator.modules())
    assert hasattr(model, "generator_ema")


@pytest.mark.parametrize("name", sorted(SIGMOID_FAMILY))
@pytest.mark.parametrize("key, value", [("ema", 1.0), ("ema", -0.1), ("r1", -1.0), ("label_smoothing", 1.0)])
def test_bad_stabiliser_settings_raise_one_line_errors(name, key, value):
    settings = {"data_shape": (1, 8, 8)} if name != "gan" else {}
    with pytest.raises(ConfigError) as info:
        genlab.create(name, **settings, **{key: value})
    assert key in str(info.value) and "\n" not in str(info.value)
