"""DCGAN builds for any square image size, refuses other shapes, and learns digits."""

import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.errors import ConfigError
from genlab.metrics.features import feature_network
from genlab.metrics.images import class_coverage, frechet_distance
from genlab.nn.dcgan import image_plan
from genlab.trainer import Trainer, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 64, 64), (1, 9, 9)])
def test_builds_and_samples_images_of_the_data_shape(shape):
    model = genlab.create("dcgan", data_shape=shape, width=4, latent_dim=8).eval()
    x = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, *shape)
    assert x.min() >= 0 and x.max() <= 1
    assert model.discriminate(2 * x - 1).shape == (5,)


def test_sizes_follow_the_paper():
    # base map at least 4x4 and at least two doublings: 32 = 4 * 2^3, 28 is cropped from 32
    assert image_plan((1, 32, 32)) == (1, 32, 4, 3)
    assert image_plan((1, 28, 28)) == (1, 28, 4, 3)
    assert image_plan((1, 8, 8)) == (1, 8, 2, 2)


@pytest.mark.parametrize("shape", [(1, 8, 12), (1, 3, 3), (2,), (64,)])
def test_other_shapes_are_refused_in_one_line(shape):
    with pytest.raises(ConfigError) as info:
        genlab.create("dcgan", data_shape=shape)
    message = str(info.value)
    assert "\n" not in message and str(shape) in message


def test_labels_are_refused():
    model = genlab.create("dcgan", data_shape=(1, 8, 8), width=4)
    with pytest.raises(ConfigError):
        model.sample(3, labels=torch.zeros(3, dtype=torch.long))


def test_dcgan_learns_digits():
    torch.manual_seed(0)
    train, test = load_dataset("digits").split(0.2, seed=0)
    net = feature_network(train, test, seed=0)  # cached under GENLAB_CACHE for the session
    real = net.features(train.x[:1000])

    def score(model):
        with torch.no_grad():
            x = model.eval().sample(1000, generator=torch.Generator().manual_seed(1))
        return frechet_distance(real, net.features(x)), class_coverage(net.probs(x), 10)["classes_hit"]

    model = genlab.create("dcgan", data=train, latent_dim=32, width=16)
    untrained, _ = score(model)
    trainer = Trainer(model, train, TrainConfig(steps=600, batch_size=64, log_every=100, progress=False))
    trainer.run()
    trained, classes = score(model)
    # seen: 229 -> 20, all 10 classes (about 12 s on one thread)
    assert trained < untrained / 5, (untrained, trained)
    assert classes >= 8
    assert {"d_real", "d_fake"} <= set(trainer.last_log)
