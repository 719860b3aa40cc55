"""Image folders larger than memory: held as uint8 (a quarter of float32) and converted per
batch to exactly the floats a float32 copy holds, or streamed from disk by DataLoader workers
in a fixed seeded order (so a resumed run reads the same batches); ``size=S`` fits images to
S x S; a corrupt image met while streaming is named in one line."""

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.data import load_dataset
from genlab.data.stores import FileStore, PixelStore
from genlab.errors import DataError
from genlab.trainer import Trainer, TrainConfig
from conftest import assert_one_line_error, run_cli, run_main, same_state, straight_and_resumed

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """60 random 20x16 RGB PNGs in two class folders."""
    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(0)
    for k in range(60):
        (root / f"class{k % 2}").mkdir(exist_ok=True)
        Image.fromarray((rng.random((16, 20, 3)) * 255).astype(np.uint8)).save(root / f"class{k % 2}" / f"{k:03d}.png")
    return root


def levels_of(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).transpose(2, 0, 1)


def test_a_folder_is_held_as_uint8_and_read_as_the_floats_of_its_levels(folder):
    data = load_dataset(f"folder:{folder}")
    assert isinstance(data.x, PixelStore) and data.x.levels.dtype == torch.uint8
    assert data.x.nbytes == 60 * 3 * 16 * 20  # a quarter of float32's 4 bytes a value
    assert data.shape == (3, 16, 20) and data.num_classes == 2 and data.y.tolist() == [0] * 30 + [1] * 30
    first = sorted((folder / "class0").iterdir())[0]
    expected = torch.from_numpy(levels_of(first).astype(np.float32) / 255)  # what a float32 copy holds
    assert torch.equal(data.x[torch.tensor([0])][0], expected)
    dense = data.dense()
    assert isinstance(dense.x, torch.Tensor) and dense.x.dtype == torch.float32 and torch.equal(dense.x[0], expected)
    train, test = data.split(0.2, seed=0)
    assert isinstance(train.x, PixelStore) and len(train) == 48 and len(test) == 12


def test_size_fits_every_image_to_a_centred_square(tmp_path):
    image = np.zeros((20, 40), np.uint8)
    image[:, 10:30] = 255  # a white band in the centre 20 columns: the centre crop keeps only it
    Image.fromarray(image).save(tmp_path / "wide.png")
    Image.fromarray(np.full((30, 30), 255, np.uint8)).save(tmp_path / "square.png")
    data = load_dataset(f"folder:{tmp_path},size=10")
    assert data.shape == (1, 10, 10)
    assert torch.equal(data.dense().x, torch.ones(2, 1, 10, 10))
    assert_one_line_error(run_cli("train", "dcgan", "--data", str(tmp_path), "--steps", 1, cwd=tmp_path),
                          "mixed sizes", "size=S")


def test_streamed_images_are_the_stored_ones(folder):
    stored, streamed = load_dataset(f"folder:{folder}"), load_dataset(f"folder:{folder}", stream=True)
    assert isinstance(streamed.x, FileStore) and streamed.x.nbytes == 0
    index = torch.tensor([5, 0, 59, 5])
    assert torch.equal(stored.x[index], streamed.x[index])
    assert torch.equal(stored.split(0.2)[1].dense().x, streamed.split(0.2)[1].dense().x)


def tiny_dcgan(data):
    torch.manual_seed(0)
    return genlab.create("dcgan", data=data, width=4, latent_dim=8)


def test_uint8_training_equals_float32_training(folder):
    """Converting each batch gives bit for bit the run a float32 copy of the folder gives."""
    stored = load_dataset(f"folder:{folder},size=16")
    config = TrainConfig(steps=8, batch_size=8, progress=False, monitor=False, device="cpu")
    a, b = tiny_dcgan(stored), tiny_dcgan(stored.dense())
    Trainer(a, stored, config).run()
    Trainer(b, stored.dense(), config).run()
    assert same_state(a, b)


def test_streaming_resumes_exactly_and_reads_the_same_batches_with_any_number_of_workers(folder, tmp_path):
    data = load_dataset(f"folder:{folder},size=16", stream=True)

    def trainer(steps, out, workers=2):
        config = TrainConfig(steps=steps, batch_size=8, checkpoint_every=5, log_every=5, progress=False,
                             monitor=False, device="cpu", workers=workers)
        return Trainer(tiny_dcgan(data), data, config, tmp_path / out)

    straight, resumed = straight_and_resumed(trainer, 10, 5)
    assert same_state(straight.model, resumed.model)
    in_process = trainer(10, "c", workers=0)
    in_process.run()
    assert same_state(straight.model, in_process.model)


def test_a_corrupt_image_met_while_streaming_is_one_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for k in range(20):
        Image.fromarray((rng.random((8, 8)) * 255).astype(np.uint8)).save(tmp_path / f"{k:02d}.png")
    bad = tmp_path / "07.png"
    bad.write_bytes(bad.read_bytes()[:70])  # its header still reads: only decoding finds the damage
    result = run_main(capsys, "train", "dcgan", "--data", f"folder:{tmp_path}", "--set", "stream=true", "--steps", 30,
                      "--set", "batch_size=16", "--set", "width=4", "--set", "latent_dim=8",
                      "--out", tmp_path / "run", "--no-progress")
    assert_one_line_error(result, "corrupt image", "07.png")
    with pytest.raises(DataError, match="07.png"):  # in memory, at load
        load_dataset(str(tmp_path))


def test_stream_is_for_image_folders(tmp_path, capsys):
    assert_one_line_error(run_main(capsys, "train", "dcgan", "--data", "mnist5k", "--set", "stream=true",
                                   "--out", tmp_path / "r"), "stream=true", "folder")
    assert not (tmp_path / "r").exists()
