"""Standard formats on disk (data/formats.py): CIFAR binaries and Hugging Face Arrow/Parquet.

Every file is written here by hand, in the layout its format defines (CIFAR records as raw
bytes, Hugging Face tables with pyarrow as ``save_to_disk`` lays them out), and read back
through ``genlab.load_dataset``; each malformed file must give one DataError line naming it.
"""

import io
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

import genlab
from genlab.data import describe_datasets
from conftest import assert_one_line_error as assert_cli_error
from conftest import assert_succeeded, run_cli, run_main
from test_data import assert_one_line_error as raises_one_line    # DataError, one line, every word

CIFAR10_FILES = [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]
IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])   # datasets' Image storage


# --------------------------------------------------------------------------- CIFAR binaries

def cifar_records(labels, seed: int, label_bytes: int = 1) -> tuple[bytes, np.ndarray]:
    """Records as the binary version lays them out, and their pixels as (N, 3, 32, 32)."""
    labels = np.asarray(labels, dtype=np.uint8).reshape(len(labels), label_bytes)
    pixels = np.random.default_rng(seed).integers(0, 256, (len(labels), 3, 32, 32), dtype=np.uint8)
    return np.concatenate([labels, pixels.reshape(len(labels), -1)], axis=1).tobytes(), pixels


def write_cifar10(folder, per_file: int = 3):
    """Six files of ``per_file`` records; record k of file f has label (f + k) % 10."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels, labels = [], []
    for f, name in enumerate(CIFAR10_FILES):
        y = [(f + k) % 10 for k in range(per_file)]
        raw, x = cifar_records(y, seed=f)
        (folder / name).write_bytes(raw)
        pixels.append(x)
        labels += y
    (folder / "batches.meta.txt").write_text("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\n"
                                             "ship\ntruck\n\n")
    return np.concatenate(pixels), np.array(labels)


def test_cifar10_pixels_labels_and_channel_order(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    pixels, labels = write_cifar10(folder)
    # Record 1 of test_batch.bin: pixel (row 2, column 5) set by hand to a known R, G, B.
    raw = bytearray((folder / "test_batch.bin").read_bytes())
    record = 1 * 3073
    for channel, value in enumerate((200, 17, 99)):
        raw[record + 1 + channel * 1024 + 2 * 32 + 5] = value
    (folder / "test_batch.bin").write_bytes(bytes(raw))
    data = genlab.load_dataset(f"cifar10:{tmp_path}")          # the parent folder
    assert data.shape == (3, 32, 32) and len(data) == 18
    assert data.n_bins == 256 and data.num_classes == 10 and data.kind == "image"
    assert data.y.dtype == torch.int64 and data.y.tolist() == labels.tolist()
    assert (data.x[16, :, 2, 5] * 255).round().tolist() == [200, 17, 99]
    pixels[16, :, 2, 5] = (200, 17, 99)
    assert np.array_equal((data.x.numpy() * 255).round().astype(np.uint8), pixels)
    assert "\n" not in data.source and "airplane" in data.source and "test_batch.bin" in data.source
    same = genlab.load_dataset(f"cifar10:{folder}")            # the batches folder itself
    assert np.array_equal(same.x.numpy(), data.x.numpy())


def test_cifar100_uses_the_fine_label(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    train, x_train = cifar_records([(3, 42), (19, 99), (0, 7)], seed=1, label_bytes=2)
    test, x_test = cifar_records([(5, 55)], seed=2, label_bytes=2)
    (folder / "train.bin").write_bytes(train)
    (folder / "test.bin").write_bytes(test)
    data = genlab.load_dataset(f"cifar100:{tmp_path}", n=4)
    assert data.num_classes == 100 and data.n_bins == 256 and data.shape == (3, 32, 32)
    assert data.y.tolist() == [42, 99, 7, 55]
    assert np.array_equal((data.x.numpy() * 255).round().astype(np.uint8), np.concatenate([x_train, x_test]))


def test_cifar_errors(tmp_path):
    good = tmp_path / "good"
    write_cifar10(good)
    short = tmp_path / "short"
    write_cifar10(short)
    (short / "data_batch_3.bin").write_bytes((short / "data_batch_3.bin").read_bytes()[:-10])
    raises_one_line(lambda: genlab.load_dataset(f"cifar10:{short}"), "truncated", "data_batch_3.bin", "3073")

    label = tmp_path / "label"
    write_cifar10(label)
    raw = bytearray((label / "data_batch_2.bin").read_bytes())
    raw[2 * 3073] = 10                                          # record 2's label byte
    (label / "data_batch_2.bin").write_bytes(bytes(raw))
    raises_one_line(lambda: genlab.load_dataset(f"cifar10:{label}"), "label 10", "record 2", "data_batch_2.bin")

    missing = tmp_path / "missing"
    write_cifar10(missing)
    (missing / "data_batch_4.bin").unlink()
    raises_one_line(lambda: genlab.load_dataset(f"cifar10:{missing}"), "not found", "data_batch_4.bin")

    python = tmp_path / "cifar-10-batches-py"
    python.mkdir()
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        (python / name).write_bytes(b"\x80\x04pickled")
    message = raises_one_line(lambda: genlab.load_dataset(f"cifar10:{tmp_path / 'cifar-10-batches-py'}"),
                              "python version", "pickle", "cifar-10-batches-py")
    assert "binary" in message
    raises_one_line(lambda: genlab.load_dataset(f"cifar100:{good}"), "no CIFAR-100", "cifar10:", str(good))
    raises_one_line(lambda: genlab.load_dataset(f"cifar10:{tmp_path / 'nowhere'}"), "not found", "nowhere")

    c100 = tmp_path / "c100"
    c100.mkdir()
    raw, _ = cifar_records([(1, 2), (20, 3)], seed=0, label_bytes=2)      # coarse label 20 > 19
    (c100 / "train.bin").write_bytes(raw)
    (c100 / "test.bin").write_bytes(raw[:3074])
    raises_one_line(lambda: genlab.load_dataset(f"cifar100:{c100}"), "label 20", "0..19", "train.bin")


# --------------------------------------------------------------------------- Hugging Face

def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def image_table(images, labels=None, label_name="label", metadata=None):
    cells = pa.array([{"bytes": png(x), "path": None} for x in images], type=IMAGE)
    columns = {"id": pa.array(range(len(images))), "image": cells}
    if labels is not None:
        columns[label_name] = pa.array(labels, type=pa.int64())
    return pa.table(columns, metadata=metadata)


def write_stream(table, path):
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)


def save_to_disk(folder, tables, names=None):
    """A folder laid out as ``datasets.Dataset.save_to_disk`` writes it."""
    folder.mkdir(parents=True)
    files = [f"data-{k:05d}-of-{len(tables):05d}.arrow" for k in range(len(tables))]
    for table, name in zip(tables, files):
        write_stream(table, folder / name)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": f} for f in files],
                                                   "_fingerprint": "0", "_split": None}))
    features = {"id": {"dtype": "int64", "_type": "Value"}, "image": {"_type": "Image"}}
    if names:
        features["label"] = {"names": names, "_type": "ClassLabel"}
    (folder / "dataset_info.json").write_text(json.dumps({"features": features}))


def rgb(seed: int, n: int, size=(5, 4)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size[1], size[0], 3), dtype=np.uint8)


def test_hf_save_to_disk_shards_rgb_and_class_names(tmp_path):
    a, b = rgb(0, 3), rgb(1, 2)
    save_to_disk(tmp_path / "ds", [image_table(a, [2, 0, 1]), image_table(b, [1, 2])], ["cat", "dog", "eel"])
    data = genlab.load_dataset(f"hf:{tmp_path / 'ds'}")
    assert data.shape == (3, 4, 5) and len(data) == 5 and data.n_bins == 256
    assert data.y.tolist() == [2, 0, 1, 1, 2] and data.num_classes == 3
    expected = np.concatenate([a, b]).transpose(0, 3, 1, 2)              # R, G, B planes
    assert np.array_equal((data.x.numpy() * 255).round().astype(np.uint8), expected)
    assert data.x[3, 0, 2, 1].item() * 255 == pytest.approx(b[0, 2, 1, 0])
    assert "cat, dog, eel" in data.source and "\n" not in data.source


def test_hf_dataset_dict_reads_train_or_names_the_splits(tmp_path):
    gray = np.random.default_rng(2).integers(0, 256, (4, 6, 6), dtype=np.uint8)
    root = tmp_path / "dict"
    save_to_disk(root / "train", [image_table(gray, [0, 1, 0, 1])], ["no", "yes"])
    save_to_disk(root / "test", [image_table(gray[:1], [1])], ["no", "yes"])
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    data = genlab.load_dataset(f"hf:{root}")
    assert data.shape == (1, 6, 6) and data.num_classes == 2 and data.y.tolist() == [0, 1, 0, 1]
    assert np.array_equal((data.x[:, 0].numpy() * 255).round().astype(np.uint8), gray)

    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["validation", "test"]}))
    raises_one_line(lambda: genlab.load_dataset(f"hf:{root}"), "no 'train' split", "validation, test", str(root))


def test_hf_parquet_file_folder_and_schema_class_names(tmp_path):
    x = rgb(3, 3, size=(3, 3))
    meta = {"huggingface": json.dumps({"info": {"features": {
        "image": {"_type": "Image"}, "labels": {"names": ["a", "b", "c", "d"], "_type": "ClassLabel"}}}})}
    pq.write_table(image_table(x, [3, 1, 0], label_name="labels", metadata=meta), tmp_path / "one.parquet")
    for spec in (f"hf:{tmp_path / 'one.parquet'}", str(tmp_path / "one.parquet"), f"hf:{tmp_path}"):
        data = genlab.load_dataset(spec)
        assert data.y.tolist() == [3, 1, 0] and data.num_classes == 4, spec
        assert np.array_equal((data.x.numpy() * 255).round().astype(np.uint8), x.transpose(0, 3, 1, 2))
    pq.write_table(image_table(rgb(4, 2, size=(3, 3))), tmp_path / "unlabelled.parquet")
    only = genlab.load_dataset(f"hf:{tmp_path / 'unlabelled.parquet'}")
    assert only.y is None and only.num_classes == 0 and len(only) == 2


def test_hf_errors(tmp_path):
    pq.write_table(pa.table({"text": ["a", "b"], "label": [0, 1]}), tmp_path / "text.parquet")
    raises_one_line(lambda: genlab.load_dataset(f"hf:{tmp_path / 'text.parquet'}"),
                    "no image column", "text.parquet", "text, label")

    mixed = image_table([*rgb(5, 2, size=(4, 4)), rgb(6, 1, size=(6, 5))[0]])
    save_to_disk(tmp_path / "mixed", [mixed])
    raises_one_line(lambda: genlab.load_dataset(f"hf:{tmp_path / 'mixed'}"), "mixed sizes", "4x4", "6x5",
                    "row 2 of", "data-00000-of-00001.arrow", "resize")

    cells = pa.array([{"bytes": b"not an image at all", "path": None}], type=IMAGE)
    pq.write_table(pa.table({"image": cells}), tmp_path / "corrupt.parquet")
    raises_one_line(lambda: genlab.load_dataset(f"hf:{tmp_path / 'corrupt.parquet'}"),
                    "corrupt image", "row 0 of", "corrupt.parquet")

    (tmp_path / "broken.arrow").write_bytes(b"\x00" * 40)
    raises_one_line(lambda: genlab.load_dataset(f"hf:{tmp_path / 'broken.arrow'}"), "Arrow", "broken.arrow")

    pq.write_table(image_table(rgb(7, 2), [0, -1]), tmp_path / "unlabelled.parquet")
    raises_one_line(lambda: genlab.load_dataset(f"hf:{tmp_path / 'unlabelled.parquet'}"),
                    "label -1", "row 1", "unlabelled.parquet")

    (tmp_path / "empty").mkdir()
    raises_one_line(lambda: genlab.load_dataset(f"hf:{tmp_path / 'empty'}"), "no Hugging Face dataset", "empty")


def test_hf_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    pq.write_table(image_table(rgb(8, 1)), tmp_path / "one.parquet")
    for module in ("pyarrow", "pyarrow.ipc", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, module, None)      # makes the import fail
    raises_one_line(lambda: genlab.load_dataset(f"hf:{tmp_path / 'one.parquet'}"),
                    "pip install 'genlab[hf]'", "one.parquet")


# --------------------------------------------------------------------------- through the CLI

def test_describe_datasets_shows_the_forms():
    listing = describe_datasets()
    for form in ("cifar10:DIR", "cifar100:DIR", "hf:PATH"):
        assert form in listing


def test_cli_trains_on_cifar10(tmp_path, monkeypatch, capsys, one_thread):
    write_cifar10(tmp_path / "cifar-10-batches-bin", per_file=2)
    monkeypatch.chdir(tmp_path)
    result = run_main(capsys, "train", "dcgan", "--data", f"cifar10:{tmp_path}", "--out", "run",
                      "--steps", "2", "--no-progress", "--set", "latent_dim=8", "--set", "width=4",
                      "--set", "batch_size=4")
    assert_succeeded(result)
    data = json.loads((tmp_path / "run" / "run.json").read_text())["data"]
    assert data["spec"] == f"cifar10:{tmp_path}"
    train = data["train"]
    assert train["shape"] == [3, 32, 32] and train["n_bins"] == 256 and train["num_classes"] == 10
    assert train["n"] + data["test"]["n"] == 12 and "CIFAR-10 binary version" in train["source"]


def test_cli_python_version_is_one_line(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"\x80\x04pickled")
    result = run_cli("train", "dcgan", "--data", f"cifar10:{tmp_path}", "--out", "run", "--steps", "2",
                     cwd=tmp_path)
    assert_cli_error(result, "pickle", "cifar-10-batches-py", "binary")
    assert not (tmp_path / "run").exists()
