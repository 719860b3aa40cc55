"""The class-conditional GAN draws the class it is asked for; labels are checked."""

from dataclasses import replace

import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.errors import ConfigError, DataError, GenlabError
from genlab.metrics.features import feature_network
from genlab.metrics.images import conditional_accuracy
from genlab.trainer import Trainer, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def split():
    return load_dataset("digits").split(0.2, seed=0)


def tiny_cgan(**settings):
    return genlab.create("cgan", data_shape=(1, 8, 8), num_classes=10, latent_dim=8, embed_dim=4,
                         hidden=16, layers=1, width=4, **settings)


def test_cgan_on_digits_draws_the_asked_class(split):
    train, test = split
    net = feature_network(train, test, seed=0)  # cached under GENLAB_CACHE for the session
    torch.manual_seed(0)
    model = genlab.create("cgan", data=train, backbone="conv", latent_dim=32, width=16)
    assert model.config.num_classes == 10
    Trainer(model, train, TrainConfig(steps=600, batch_size=64, log_every=100, progress=False)).run()
    labels = torch.arange(1000) % 10
    with torch.no_grad():
        x = model.eval().sample(1000, labels=labels, generator=torch.Generator().manual_seed(1))
    accuracy = conditional_accuracy(net.probs(x), labels)
    assert accuracy >= 0.75, accuracy  # seen: 0.84 after 600 steps (about 15 s); chance is 0.1


def test_unlabelled_samples_are_balanced_over_the_classes():
    model = tiny_cgan().eval()
    x = model.sample(20, generator=torch.Generator().manual_seed(0))
    assert x.shape == (20, 1, 8, 8)
    assert torch.equal(model.labels_for(20), torch.arange(20) % 10)
    # a single class for every sample
    assert torch.equal(model.labels_for(3, 7), torch.tensor([7, 7, 7]))


@pytest.mark.parametrize("labels, words", [
    (torch.tensor([0, 1]), "3 class indices"),
    (torch.tensor([0, 1, 10]), "0..9"),
    (torch.tensor([-1, 0, 1]), "0..9"),
    (torch.tensor([0.5, 1.0, 2.0]), "whole numbers"),
    (torch.zeros(3, 1, dtype=torch.long), "3 class indices"),
])
def test_bad_labels_are_one_line_errors(labels, words):
    with pytest.raises(ConfigError) as info:
        tiny_cgan().sample(3, labels=labels)
    assert "\n" not in str(info.value) and words in str(info.value)


def test_unlabelled_data_is_refused():
    unlabelled = replace(load_dataset("digits", n=50, seed=0), y=None, num_classes=0)
    with pytest.raises(ConfigError, match="labelled"):
        genlab.create("cgan", data=unlabelled)
    model = tiny_cgan()
    with pytest.raises(DataError, match="labels"):
        model.d_step(unlabelled.x[:4], None)


def test_conv_backbone_refuses_points():
    with pytest.raises(GenlabError) as info:
        genlab.create("cgan", data_shape=(2,), backbone="conv")
    assert "\n" not in str(info.value) and "(2,)" in str(info.value)


@pytest.mark.parametrize("backbone", ["mlp", "conv"])
def test_projection_discriminator_trains_finitely(backbone, split):
    train, _ = split
    torch.manual_seed(0)
    model = tiny_cgan(backbone=backbone, discriminator="projection")
    trainer = Trainer(model, train, TrainConfig(steps=30, batch_size=32, log_every=10, progress=False))
    trainer.run()  # the trainer raises TrainingDiverged on a non-finite loss
    log = trainer.last_log
    assert all(torch.isfinite(torch.tensor(v)) for v in log.values()), log
    with torch.no_grad():
        x = model.eval().sample(10, labels=torch.arange(10))
    assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
