"""The user's own data: a folder of images, an ``.npz`` archive, or MNIST IDX files.

Every problem with the files is a :class:`DataError` whose message is one line naming the
problem and the file, so that the CLI can print it instead of a traceback.
"""

from __future__ import annotations

import gzip
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .dataset import Dataset
from .images import images_dataset
from .stores import GRAY_MODES, image_file, one_line

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise DataError(f"{what} not found: {path}")


# --------------------------------------------------------------------------- image folders

def _images_in(folder: Path, recursive: bool) -> list[Path]:
    entries = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _find_images(root: Path) -> tuple[list[Path], list[int] | None, list[str]]:
    """Image files, their labels (None if unlabelled) and class names, ImageFolder-style."""
    loose = _images_in(root, recursive=False)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    per_class = {d.name: _images_in(d, recursive=True) for d in subdirs}
    per_class = {name: files for name, files in per_class.items() if files}
    if loose and per_class:
        raise DataError(f"folder mixes loose images and class sub-folders: {root} "
                        f"(e.g. {loose[0].name} and {next(iter(per_class))}/)")
    if loose:
        return loose, None, []
    if not per_class:
        raise DataError(f"no PNG/JPEG images in folder: {root}")
    names = sorted(per_class)
    files = [f for name in names for f in per_class[name]]
    labels = [k for k, name in enumerate(names) for _ in per_class[name]]
    return files, labels, names


def _header(path: Path) -> tuple[str, tuple[int, int]]:
    """An image file's mode and size, from its header alone (decoding comes later)."""
    with image_file(path) as img:
        return img.mode, img.size


def load_folder(root: str | Path, name: str | None = None, *, size: int | None = None,
                stream: bool = False) -> Dataset:
    """Images in ``root`` (unlabelled) or in its class sub-folders (labels by sorted name).

    The images are read as grayscale if every file is grayscale, otherwise as RGB (alpha
    dropped); 8-bit levels give n_bins 256. They must share one size, unless ``size`` fits
    each to S x S (shorter side resized, centre cropped). They are held in memory as uint8
    (:class:`~genlab.data.stores.PixelStore`), or with ``stream`` (or past
    ``STREAM_ABOVE`` bytes) left on disk and decoded as training reads them (``FileStore``).
    """
    from .stores import STREAM_ABOVE, FileStore, PixelStore, decode

    root = Path(root)
    _require(root, "image folder")
    if not root.is_dir():
        raise DataError(f"not a folder: {root}")
    if size is not None and size < 1:
        raise DataError(f"size= must be a positive side in pixels, got {size}")
    files, labels, classes = _find_images(root)
    headers = [_header(f) for f in files]
    if size is None:
        first = headers[0][1]
        for f, (_, wh) in zip(files, headers):
            if wh != first:
                raise DataError(f"images of mixed sizes: {files[0]} is {first[0]}x{first[1]} but {f} is "
                                f"{wh[0]}x{wh[1]}; folder:PATH,size=S fits them to one")
    mode = "L" if all(m in GRAY_MODES for m, _ in headers) else "RGB"
    w, h = (size, size) if size is not None else headers[0][1]
    shape = (1 if mode == "L" else 3, h, w)
    streamed = stream or len(files) * math.prod(shape) > STREAM_ABOVE
    if streamed:
        x = FileStore(files, shape, mode, size)
    else:
        levels = np.empty((len(files), *shape), dtype=np.uint8)
        for i, f in enumerate(files):
            levels[i] = decode(f, mode, size)
        x = PixelStore(torch.from_numpy(levels))
    what = f"{len(classes)} class folders ({', '.join(classes)})" if classes else "no labels"
    fitted = f", fitted to {size}x{size}" if size is not None else ""
    held = "streamed from disk" if streamed else "held as uint8"
    y = None if labels is None else torch.tensor(labels, dtype=torch.long)
    return Dataset(name=name or str(root), x=x, y=y, kind="image", n_bins=256,
                   num_classes=0 if y is None else int(y.max()) + 1,
                   source=f"image folder {root}: {len(files)} {mode} {w}x{h} images{fitted}, {what}, "
                          f"levels /255, {held}")


# --------------------------------------------------------------------------- npz archives

def _npz_arrays(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"not a valid npz file: {path} ({one_line(err)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"not a valid npz file: {path} (a single .npy array; save with np.savez(x=...))")
    with archive:
        if "x" not in archive.files:
            keys = ", ".join(archive.files) or "none"
            raise DataError(f"npz file has no 'x' array: {path} (keys found: {keys})")
        try:
            x = archive["x"]
            y = archive["y"] if "y" in archive.files else None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise DataError(f"not a valid npz file: {path} ({one_line(err)})") from None
    return x, y


def _npz_images(x: np.ndarray, path: Path) -> tuple[np.ndarray, int | None, str]:
    """Images as floats in [0, 1] (N, C, H, W), their n_bins, and how they were scaled."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.shape[1] not in (1, 3, 4) and x.shape[-1] in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)      # channels-last (N, H, W, C) as most image code saves it
    if x.dtype == np.bool_:
        return x.astype(np.float32), 2, "binary images"
    if np.issubdtype(x.dtype, np.integer):
        if x.min() < 0 or x.max() > 255:
            raise DataError(f"integer images must be in 0..255, found {x.min()}..{x.max()}: {path}")
        return x.astype(np.float32) / 255, 256, "8-bit levels /255"
    if x.min() < 0 or x.max() > 1:
        raise DataError(f"float images must be in [0, 1], found {x.min():.4g}..{x.max():.4g}: {path}")
    if np.all((x == 0) | (x == 1)):
        return x.astype(np.float32), 2, "binary images (every value 0 or 1)"
    # Floats that are exactly level/255 keep their likelihood meaning (n_bins 256).
    on_grid = np.allclose(x * 255, np.rint(x * 255), rtol=0, atol=1e-4)
    return x.astype(np.float32), (256 if on_grid else None), "float images in [0, 1]"


def _npz_labels(y: np.ndarray, n: int, path: Path) -> tuple[np.ndarray, str]:
    """Labels as 0..K-1; anything else (negative, text) is mapped through its sorted values."""
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"y has shape {y.shape} but x has {n} examples: {path}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.array_equal(y, np.rint(y)):
            raise DataError(f"y must hold integer class labels: {path}")
        y = y.astype(np.int64)
    if y.dtype.kind in "iub" and y.min() >= 0:
        return y.astype(np.int64), ""
    values, codes = np.unique(y, return_inverse=True)
    return codes.astype(np.int64), f", labels {values[:5].tolist()}... mapped to 0..{len(values) - 1}"


def load_npz(path: str | Path, name: str | None = None) -> Dataset:
    """``x`` as images ((N, H, W) or (N, C, H, W)) or points (N, d), with optional labels ``y``."""
    path = Path(path)
    _require(path, "npz file")
    x, y = _npz_arrays(path)
    return from_arrays(x, y, name or str(path), f"npz {path}")


def from_arrays(x: np.ndarray, y: np.ndarray | None, name: str, path) -> Dataset:
    """A dataset from arrays, checked as an ``.npz`` file's are; ``path`` names their source
    in messages (a file, or the arrays given to the Python API)."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"x must be numeric, got dtype {x.dtype}: {path}")
    if x.size == 0:
        raise DataError(f"x is empty (shape {x.shape}): {path}")
    if x.ndim not in (2, 3, 4):
        raise DataError(f"x must be (N, d), (N, H, W) or (N, C, H, W), got shape {x.shape}: {path}")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise DataError(f"x contains NaN or inf: {path}")
    labels, label_note = _npz_labels(y, len(x), path) if y is not None else (None, "")
    if x.ndim == 2:
        data = Dataset(name=name, x=torch.from_numpy(x.astype(np.float32)),
                       kind="points", source=f"{path}: {x.shape[0]} points in {x.shape[1]}-D{label_note}")
    else:
        images, n_bins, note = _npz_images(x, path)
        data = Dataset(name=name, x=torch.from_numpy(images), kind="image",
                       n_bins=n_bins, source=f"{path}: {len(images)} images "
                                             f"{'x'.join(map(str, images.shape[1:]))}, {note}{label_note}")
    if labels is not None:
        data.y = torch.from_numpy(labels)
        data.num_classes = int(labels.max()) + 1
    return data


# --------------------------------------------------------------------------- MNIST IDX files

IDX_IMAGES = 0x00000803       # unsigned bytes, 3 dimensions (N, rows, cols)
IDX_LABELS = 0x00000801       # unsigned bytes, 1 dimension (N,)


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """Read an IDX file (gzip'd or not) whose big-endian header must start with ``magic``.

    Format (LeCun et al., the MNIST page): 4-byte magic whose last byte is the number of
    dimensions, one big-endian uint32 per dimension, then the unsigned bytes in C order.
    """
    path = Path(path)
    _require(path, "IDX file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":                          # the gzip magic, whatever the suffix
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"corrupt gzip'd IDX file: {path} ({one_line(err)})") from None
    if len(raw) < 4:
        raise DataError(f"truncated IDX file: {path} (no header)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"bad IDX magic number 0x{found:08X} in {path} (expected 0x{magic:08X})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"truncated IDX file: {path} (header cut short)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        word = "truncated" if len(raw) - header < expected else "oversized"
        raise DataError(f"{word} IDX file: {path} (shape {dims} needs {expected} bytes of data, "
                        f"found {len(raw) - header})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_idx(images: str | Path, labels: str | Path | None = None, name: str | None = None
             ) -> Dataset:
    """MNIST-format IDX images (and labels) as (N, 1, H, W) in [0, 1], n_bins 256."""
    levels = read_idx(images, IDX_IMAGES)
    if len(levels) == 0:
        raise DataError(f"IDX file holds no images: {images}")
    y = None
    if labels is not None:
        y = read_idx(labels, IDX_LABELS)
        if len(y) != len(levels):
            raise DataError(f"{len(y)} labels in {labels} but {len(levels)} images in {images}")
    source = f"IDX {images}" + (f" + {labels}" if labels else "") + \
        f": {len(levels)} {levels.shape[1]}x{levels.shape[2]} images, levels /255"
    return images_dataset(name or str(images), levels[:, None], y, 256, source)
