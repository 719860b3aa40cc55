"""Standard dataset formats a user may already have on disk: CIFAR binaries, Hugging Face.

- ``cifar10:DIR`` / ``cifar100:DIR``: the *binary version* of CIFAR-10 and CIFAR-100
  (Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009; the layout is
  the one described on the CIFAR page under "Binary version"). A CIFAR-10 record is 1 label
  byte then 3,072 pixel bytes: the 1,024 red values of the 32x32 image in row-major order,
  then the 1,024 green, then the 1,024 blue. A CIFAR-100 record has 2 label bytes, the coarse
  (20 superclasses) then the fine (100 classes) label; genlab uses the fine one.
- ``hf:PATH``: a dataset of the Hugging Face ``datasets`` library on disk, either a folder
  written by ``Dataset.save_to_disk`` (Arrow IPC stream files ``data-XXXXX-of-XXXXX.arrow``
  listed in ``state.json``, features in ``dataset_info.json``), a ``DatasetDict`` folder
  (``dataset_dict.json``, one sub-folder per split, of which ``train`` is read), or
  ``.parquet`` files (one file, or every ``.parquet`` file directly in a folder). An
  ``Image`` feature is stored as a struct ``{bytes: binary, path: string}``; the bytes are
  decoded with Pillow. ``datasets`` itself is not needed, only pyarrow (``genlab[hf]``).

Loading runs no code from the files: CIFAR records are read with ``numpy.frombuffer`` and
never unpickled, which is why the pickled "python version" of CIFAR is refused, and Hugging
Face files are read as Arrow/Parquet tables and JSON. Like every reader of user data, a
problem is one :class:`DataError` line naming the file.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Dataset
from .images import images_dataset
from .stores import GRAY_MODES, one_line, open_image
from .userdata import _require


def _classes(names: list[str]) -> str:
    """``"10 classes (airplane, automobile, ...)"`` for a dataset's source line."""
    return f"{len(names)} classes ({', '.join(names[:10])}{', ...' if len(names) > 10 else ''})"


# --------------------------------------------------------------------------- CIFAR binaries

CIFAR_PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class _Cifar:
    """What differs between the two CIFAR binary layouts."""

    name: str
    folder: str                     # the folder the official binary archive extracts to
    files: tuple[str, ...]          # every file, training batches first
    label_bounds: tuple[int, ...]   # one label byte each: CIFAR-100's coarse then fine
    names_file: str                 # class names, one per line, as the archive ships them
    python_folder: str              # where the pickled "python version" extracts to
    python_files: tuple[str, ...]

    @property
    def record(self) -> int:
        return len(self.label_bounds) + CIFAR_PIXELS

    @property
    def classes(self) -> int:
        return self.label_bounds[-1]


CIFAR = {
    "cifar10": _Cifar("CIFAR-10", "cifar-10-batches-bin",
                      tuple(f"data_batch_{k}.bin" for k in range(1, 6)) + ("test_batch.bin",), (10,),
                      "batches.meta.txt", "cifar-10-batches-py", ("data_batch_1", "test_batch")),
    "cifar100": _Cifar("CIFAR-100", "cifar-100-binary", ("train.bin", "test.bin"), (20, 100),
                       "fine_label_names.txt", "cifar-100-python", ("train", "test")),
}


def _binary_folder(root: Path, fmt: _Cifar) -> Path | None:
    """``root`` or its ``cifar-10-batches-bin`` (``cifar-100-binary``) sub-folder, whichever
    holds the .bin files, as the official archive extracts; None if neither."""
    for folder in (root, root / fmt.folder):
        if (folder / fmt.files[0]).is_file() or (folder / fmt.files[-1]).is_file():
            return folder
    return None


def _cifar_folder(root: Path, which: str) -> Path:
    fmt = CIFAR[which]
    folder = _binary_folder(root, fmt)
    if folder is not None:
        return folder
    for folder in (root, root / fmt.python_folder):
        if any((folder / f).is_file() for f in fmt.python_files):
            raise DataError(f"{folder} holds the python version of {fmt.name}, a pickle, which genlab never "
                            f"loads: use the binary version ({fmt.folder})")
    other = next((k for k, f in CIFAR.items() if k != which and _binary_folder(root, f)), None)
    hint = f"; it holds {CIFAR[other].name}: use {other}:{root}" if other else ""
    raise DataError(f"no {fmt.name} binary files in {root} (expected {', '.join(fmt.files)}, "
                    f"or a {fmt.folder} folder){hint}")


def _cifar_records(path: Path, fmt: _Cifar) -> tuple[np.ndarray, np.ndarray]:
    """The (N, 3, 32, 32) uint8 pixels and (N,) labels of one .bin file, checked."""
    _require(path, f"{fmt.name} file")
    raw = path.read_bytes()
    if not raw or len(raw) % fmt.record:
        raise DataError(f"truncated {fmt.name} file: {path} ({len(raw)} bytes is not a whole number "
                        f"of {fmt.record}-byte records)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, fmt.record)
    # CIFAR-100's coarse label is checked too: one out of 0..19 means the file is not CIFAR-100.
    for column, bound in enumerate(fmt.label_bounds):
        bad = np.flatnonzero(records[:, column] >= bound)
        if len(bad):
            raise DataError(f"label {records[bad[0], column]} out of range 0..{bound - 1} in record "
                            f"{bad[0]} of {fmt.name} file {path}")
    labels = records[:, len(fmt.label_bounds) - 1]
    return records[:, len(fmt.label_bounds):].reshape(-1, 3, 32, 32), labels


def load_cifar(root: str | Path, which: str = "cifar10", name: str | None = None) -> Dataset:
    """Every file of the CIFAR binary version in ``root``, as (N, 3, 32, 32) RGB, n_bins 256.

    All training batches and the test batch are read, in that order (60,000 images), and
    their official train/test division is not kept: genlab holds out its own seeded test
    split, as it does for mnist5k and IDX files. Every file must be there, so that a partly
    extracted archive is not mistaken for the whole. At float32 the 60,000 images take
    about 740 MB.
    """
    fmt = CIFAR[which]
    root = Path(root)
    _require(root, f"{fmt.name} folder")
    if not root.is_dir():
        raise DataError(f"not a folder: {root} ({which}: names the folder of the {fmt.name} binary files)")
    folder = _cifar_folder(root, which)
    parts = [_cifar_records(folder / f, fmt) for f in fmt.files]
    levels = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    names_file = folder / fmt.names_file
    names = names_file.read_text(encoding="utf-8", errors="replace").split() if names_file.is_file() else []
    classes = _classes(names) if len(names) == fmt.classes else f"{fmt.classes} classes"
    source = (f"{fmt.name} binary version {folder}: {len(levels)} RGB 32x32 images from "
              f"{', '.join(fmt.files)}, {classes}, levels /255")
    data = images_dataset(name or str(root), levels, labels, 256, source)
    data.num_classes = fmt.classes          # every class, even one a small file lacks
    return data


# --------------------------------------------------------------------------- Hugging Face datasets

LABEL_COLUMNS = ("label", "labels", "fine_label")   # fine_label: the Hub's CIFAR-100


def _pyarrow(path: Path):
    try:
        import pyarrow
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        raise DataError(f"hf: data ({path}) needs the optional extra: pip install 'genlab[hf]'") from None
    return pyarrow


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"not a valid JSON file: {path} ({one_line(err)})") from None
    if not isinstance(value, dict):
        raise DataError(f"not a valid JSON file: {path} (expected an object)")
    return value


def _hf_files(path: Path) -> tuple[list[Path], dict]:
    """The table files of ``path`` in order, and the features of its dataset_info.json ({} if none)."""
    if path.is_file():
        if path.suffix.lower() not in (".parquet", ".arrow"):
            raise DataError(f"not a .parquet or .arrow file: {path}")
        return [path], {}
    if (path / "dataset_dict.json").is_file():
        splits = _read_json(path / "dataset_dict.json").get("splits")
        splits = splits if isinstance(splits, list) else []
        if "train" not in splits:
            listed = ", ".join(map(str, splits)) or "none"
            raise DataError(f"DatasetDict {path} has no 'train' split (splits: {listed}): point hf: at one "
                            f"split's folder, e.g. hf:{path / str(splits[0]) if splits else path}")
        return _hf_files(path / "train")
    if (path / "state.json").is_file():
        listed = _read_json(path / "state.json").get("_data_files")
        if not isinstance(listed, list) or not all(isinstance(f, dict) and "filename" in f for f in listed):
            raise DataError(f"state.json lists no data files: {path / 'state.json'}")
        info = path / "dataset_info.json"
        features = _read_json(info).get("features") if info.is_file() else None
        return [path / f["filename"] for f in listed], features if isinstance(features, dict) else {}
    files = sorted(path.glob("*.parquet")) or sorted(path.glob("*.arrow"))
    if not files:
        raise DataError(f"no Hugging Face dataset in {path} (expected dataset_dict.json, state.json with "
                        f"data-XXXXX-of-XXXXX.arrow files, or .parquet files)")
    return files, {}


def _read_table(path: Path, pa):
    _require(path, "data file")
    try:
        if path.suffix.lower() == ".parquet":
            return pa.parquet.read_table(path)
        with pa.OSFile(str(path)) as f, pa.ipc.open_stream(f) as reader:   # save_to_disk writes streams
            return reader.read_all()
    except (OSError, pa.ArrowException) as err:
        kind = "Parquet file" if path.suffix.lower() == ".parquet" else "Arrow IPC stream (as save_to_disk writes)"
        raise DataError(f"not a valid {kind}: {path} ({one_line(err)})") from None


def _features(table, features: dict) -> dict:
    """The features of dataset_info.json, or else those the datasets library writes into every
    file's schema metadata (under b"huggingface"), where a Parquet file keeps its ClassLabel names."""
    if features:
        return features
    meta = (table.schema.metadata or {}).get(b"huggingface")
    try:
        found = json.loads(meta)["info"]["features"] if meta else {}
    except (ValueError, KeyError, TypeError):
        return {}
    return found if isinstance(found, dict) else {}


def _image_column(table, path: Path, pa) -> str:
    for field in table.schema:
        t = field.type
        if pa.types.is_struct(t) and t.get_field_index("bytes") >= 0 and \
                (pa.types.is_binary(t.field("bytes").type) or pa.types.is_large_binary(t.field("bytes").type)):
            return field.name
    columns = ", ".join(table.column_names) or "none"
    raise DataError(f"no image column in {path} (an Image feature is a struct of bytes and path; "
                    f"columns: {columns})")


class _Cell(io.BytesIO):
    """An image's bytes from one row of a table, named in messages by file and row."""

    def __init__(self, data: bytes, where: str):
        super().__init__(data)
        self.where = where

    def __str__(self) -> str:
        return self.where


def _decode(table, column: str, path: Path) -> list:
    cells = table.column(column).to_pylist()
    images = []
    for row, cell in enumerate(cells):
        data = None if cell is None else cell.get("bytes")
        if data is None:
            hint = f" (only the path {cell.get('path')})" if cell and cell.get("path") else ""
            raise DataError(f"row {row} of {path} has no image bytes{hint}")
        images.append(open_image(_Cell(data, f"row {row} of {path}")))
    return images


def _labels(table, path: Path, pa) -> tuple[str | None, np.ndarray | None]:
    """The label column's name and values, or (None, None)."""
    column = next((c for c in LABEL_COLUMNS if c in table.column_names), None)
    if column is None:
        return None, None
    values = table.column(column)
    if not pa.types.is_integer(values.type):
        raise DataError(f"label column '{column}' must hold integers, found {values.type}: {path}")
    if values.null_count:
        raise DataError(f"label column '{column}' has {values.null_count} missing labels: {path}")
    y = values.to_numpy().astype(np.int64)
    if len(y) and y.min() < 0:
        # The datasets library writes -1 for "no label", as in unlabelled test splits.
        raise DataError(f"label {y.min()} in row {int(np.argmin(y))} of {path} (-1 means unlabelled; "
                        f"read a labelled split)")
    return column, y


def _class_names(features: dict, column: str) -> list[str]:
    feature = features.get(column)
    names = feature.get("names") if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" else None
    return [str(n) for n in names] if isinstance(names, list) else []


def load_hf(path: str | Path, name: str | None = None) -> Dataset:
    """The first image column of a Hugging Face dataset on disk, with its labels if any.

    Labels come from a column ``label``, ``labels`` or ``fine_label``, class names from its
    ClassLabel feature (dataset_info.json, or the schema metadata the library writes into
    each file). Images are read at their stored size, grayscale if all are, else RGB, and all
    must share one size: genlab does not resize.
    """
    path = Path(path)
    _require(path, "Hugging Face dataset")
    pa = _pyarrow(path)
    files, info_features = _hf_files(path)
    images, labels, label_columns, names, first = [], [], set(), [], ""
    for file in files:
        table = _read_table(file, pa)
        decoded = _decode(table, _image_column(table, file, pa), file)
        for row, img in enumerate(decoded):
            first = first or f"row {row} of {file}"
            if images and img.size != images[0].size:
                w, h = images[0].size
                raise DataError(f"images of mixed sizes: {first} is {w}x{h} but row {row} of {file} is "
                                f"{img.size[0]}x{img.size[1]} (genlab does not resize; hf: has no size option)")
            images.append(img)
        column, y = _labels(table, file, pa)
        label_columns.add(column)
        if column is not None:
            labels.append(y)
            names = names or _class_names(_features(table, info_features), column)
    if not images:
        raise DataError(f"Hugging Face dataset holds no images: {path}")
    if len(label_columns) > 1:
        raise DataError(f"some files of {path} have labels and some do not: {', '.join(map(str, files))}")
    y = np.concatenate(labels) if labels else None
    if y is not None and names and y.max() >= len(names):
        raise DataError(f"label {y.max()} but the ClassLabel feature names {len(names)} classes: {path}")
    mode = "L" if all(img.mode in GRAY_MODES for img in images) else "RGB"
    levels = np.stack([np.asarray(img.convert(mode)) for img in images])
    levels = levels[:, None] if mode == "L" else levels.transpose(0, 3, 1, 2)   # (N, C, H, W)
    w, h = images[0].size
    what = _classes(names) if names else f"labels '{column}'" if y is not None else "no labels"
    source = (f"Hugging Face dataset {path}: {len(images)} {mode} {w}x{h} images from {len(files)} "
              f"file(s), {what}, levels /255")
    data = images_dataset(name or str(path), levels, y, 256, source)
    if names:
        data.num_classes = len(names)       # every class, even one no row has
    return data
