"""Two-domain data: the built-in pairs, pair:A+B, splits per domain, batches of both domains."""

import pytest
import torch

import genlab
from genlab.data.domains import transform_images
from genlab.errors import ConfigError, DataError
from genlab.trainer import Trainer, TrainConfig
from conftest import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def inverted():
    return genlab.load_dataset("digits-inverted")


def test_a_transformed_pair_is_unpaired_and_deterministic(inverted):
    digits = genlab.load_dataset("digits")
    a, b = inverted.part("a"), inverted.part("b")
    assert len(a) + len(b) == len(digits) and a.shape == b.shape == (1, 8, 8)
    # every B image is the inverse of a digits image that is not in A
    originals = {tuple(x.flatten().tolist()) for x in 1 - b.x}
    in_a = {tuple(x.flatten().tolist()) for x in a.x}
    assert originals <= {tuple(x.flatten().tolist()) for x in digits.x}
    assert len(originals & in_a) < 0.02 * len(a)  # only duplicate images of digits itself can meet
    again = genlab.load_dataset("digits-inverted")
    assert torch.equal(again.x, inverted.x) and torch.equal(again.domain, inverted.domain)


def test_transforms_do_what_they_say():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 2, 5] = 1.0
    assert torch.equal(transform_images(x, "inverted"), 1 - x)
    dilated = transform_images(x, "dilated")
    assert dilated.sum() == 9 and dilated[0, 0, 1:4, 4:7].eq(1).all()
    rotated = transform_images(x, "rotated")                       # a quarter turn anticlockwise
    assert rotated[0, 0, 8 - 1 - 5, 2] == 1 and rotated.sum() == 1


def test_split_holds_out_the_same_fraction_of_each_domain():
    data = genlab.load_dataset("digits-mnist5k")
    train, test = data.split(0.2, seed=0)
    for which, n in (("a", 1797), ("b", 5000)):
        assert len(test.part(which)) == round(0.2 * n)
        assert len(train.part(which)) + len(test.part(which)) == n
    assert train.describe()["domains"] == {"a": "digits", "b": "mnist5k at 8x8", "n_a": 1438, "n_b": 4000}
    b = test.part("b")
    assert b.y is not None and b.num_classes == 10 and b.domain is None and b.shape == (1, 8, 8)
    assert 0 <= float(b.x.min()) and float(b.x.max()) <= 1


def test_rotated_moons_turn_the_second_domain_only():
    data = genlab.load_dataset("moons-rotated:90")
    a, b = data.part("a"), data.part("b")
    centre = torch.tensor([0.5, 0.25])
    # two moons span x in [-1, 2] and y in [-0.5, 1]; a quarter turn swaps the spreads
    spread_a, spread_b = (a.x - centre).std(0), (b.x - centre).std(0)
    assert spread_a[0] > spread_a[1] and spread_b[1] > spread_b[0]
    assert torch.allclose(spread_a, spread_b.flip(0), atol=0.05)


def test_pair_of_any_two_datasets_converts_when_told(tmp_path):
    pair = genlab.load_dataset("pair:digits+mnist5k,size=8")
    assert pair.shape == (1, 8, 8) and pair.domains == ("digits", "mnist5k at 8x8")
    colour = genlab.load_dataset("pair:digits+digits,channels=3")
    assert colour.shape == (3, 8, 8) and torch.equal(colour.x[:, 0], colour.x[:, 2])
    with pytest.raises(DataError, match="size=S"):
        genlab.load_dataset("pair:digits+mnist5k")
    with pytest.raises(ConfigError, match="pair:A\\+B"):
        genlab.load_dataset("pair:digits")
    with pytest.raises(DataError, match="one dataset"):
        genlab.load_dataset("pair:digits+digits-inverted")
    with pytest.raises(DataError, match="must both be images or both points"):
        genlab.load_dataset("pair:ring8+digits")


def test_domains_of_different_channel_counts_need_a_stated_conversion(tmp_path):
    import numpy as np

    rgb = np.random.default_rng(0).random((20, 3, 8, 8)).astype(np.float32)
    path = tmp_path / "rgb.npz"
    np.savez(path, x=rgb)
    with pytest.raises(DataError, match="channels=1"):
        genlab.load_dataset(f"pair:digits+{path}")
    grey = genlab.load_dataset(f"pair:digits+{path},channels=1")
    assert grey.shape == (1, 8, 8)
    result = run_cli("train", "cyclegan", "--data", f"pair:digits+{path}", "--steps", "1", cwd=tmp_path)
    assert_one_line_error(result, "channels")


def test_trainer_draws_both_domains_and_only_the_labels_of_a(inverted):
    model = genlab.create("dann", data=inverted, hidden=8, layers=1, width=4, feature_dim=4)
    (xa, xb), y = Trainer(model, inverted, TrainConfig(batch_size=16, progress=False)).batch()
    assert xa.shape == xb.shape == (16, 1, 8, 8)
    a, b = inverted.part("a"), inverted.part("b")
    rows = {tuple(x.flatten().tolist()): int(label) for x, label in zip(a.x, a.y)}
    assert [rows[tuple(x.flatten().tolist())] for x in xa] == y.tolist()  # the labels of these A images
    b_rows = {tuple(x.flatten().tolist()) for x in b.x}
    assert all(tuple(x.flatten().tolist()) in b_rows for x in xb)


@pytest.mark.parametrize("model,data,words", [
    ("dann", "digits", ("two domains", "digits")),
    ("cyclegan", "mnist5k", ("two domains", "mnist5k")),
    ("gan", "moons-rotated", ("two domains", "gan")),
    ("cyclegan", "moons-rotated", ("cyclegan", "images", "points")),
])
def test_one_clear_line_when_model_and_data_do_not_fit(tmp_path, model, data, words):
    assert_one_line_error(run_cli("train", model, "--data", data, "--steps", "1", cwd=tmp_path), *words)
