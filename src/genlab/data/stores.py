"""Image folders too large for float32 in memory: kept as uint8, or streamed from disk.

A folder's images are held one of two ways (``Dataset.x`` is then an image store rather than
a tensor; ``Dataset.dense`` turns a part of it into a tensor where one is needed):

- :class:`PixelStore`: the 8-bit levels in memory as uint8 (N, C, H, W), a quarter of
  float32; indexing it gives float32 images ``level / 255``, the values a float32 copy would
  have held, so training reads the same numbers either way.
- :class:`FileStore`: only the file names; indexing decodes (and resizes) the files, which
  the trainer does in ``DataLoader`` worker processes (``genlab.trainer``). A folder streams
  with ``--set stream=true``, or by itself when its images would take more than
  ``STREAM_ABOVE`` bytes as uint8.

Every image file genlab reads goes through :func:`open_image`, so a corrupt one is named in
one line wherever it is met. ``folder:PATH,size=S`` resizes each image's shorter side to S (area averaging down, bicubic
up) and crops the centre S x S, as is usual for face datasets such as CelebA.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError

STREAM_ABOVE = 4 * 2 ** 30  # bytes of uint8 images above which a folder streams by itself
GRAY_MODES = {"1", "L", "LA"}
EIGHT_BIT_MODES = GRAY_MODES | {"P", "PA", "RGB", "RGBA", "CMYK", "YCbCr"}


def one_line(err: BaseException) -> str:
    """The first line of an error's message (a library's may run to several)."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


@contextlib.contextmanager
def image_file(path: Path):
    """An 8-bit image file opened (its header read); any failure reading it, then or in the
    ``with`` block, becomes a one-line DataError naming the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.mode not in EIGHT_BIT_MODES:
                raise DataError(f"unsupported image mode {img.mode} (only 8-bit images): {path}")
            yield img
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"corrupt image: {path} (cannot identify image file)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"corrupt image: {path} ({one_line(err)})") from None


def open_image(path: Path):
    """A decoded 8-bit image (a PIL image), or a one-line DataError naming the file."""
    with image_file(path) as img:
        img.load()  # decode now so that truncated files fail here
    return img


def decode(path: Path, mode: str, size: int | None) -> np.ndarray:
    """One image file as uint8 (C, H, W) in ``mode`` (``L`` or ``RGB``), fitted to ``size``
    (shorter side resized, centre cropped) when given; a corrupt file is one DataError line."""
    from PIL import Image

    image = open_image(path).convert(mode)
    if size is not None:
        w, h = image.size
        scale = size / min(w, h)
        w2, h2 = max(size, round(w * scale)), max(size, round(h * scale))
        resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
        image = image.resize((w2, h2), resample)
        left, top = (w2 - size) // 2, (h2 - size) // 2
        image = image.crop((left, top, left + size, top + size))
    levels = np.asarray(image)
    return levels[None] if levels.ndim == 2 else levels.transpose(2, 0, 1)


class PixelStore:
    """uint8 levels (N, C, H, W) of images with ``n_bins`` levels; ``store[index]`` is float32."""

    def __init__(self, levels: torch.Tensor, n_bins: int = 256):
        self.levels, self.n_bins = levels, n_bins

    @property
    def shape(self) -> torch.Size:
        return self.levels.shape

    @property
    def device(self) -> torch.device:
        return self.levels.device

    def __len__(self) -> int:
        return len(self.levels)

    def dim(self) -> int:
        return self.levels.dim()

    def __getitem__(self, index) -> torch.Tensor:
        return self.levels[index].float().div_(self.n_bins - 1)  # in place: no second float copy

    def subset(self, index: torch.Tensor) -> "PixelStore":
        return PixelStore(self.levels[index.to(self.device)], self.n_bins)

    def to(self, device) -> "PixelStore":
        return PixelStore(self.levels.to(device), self.n_bins)

    def binarize(self, threshold: float) -> "PixelStore":
        return PixelStore((self[:] > threshold).to(torch.uint8), 2)

    def is_binary(self) -> bool:
        return self.n_bins == 2 or bool(((self.levels == 0) | (self.levels == self.n_bins - 1)).all())

    @property
    def nbytes(self) -> int:
        return self.levels.numel() * self.levels.element_size()


class FileStore:
    """Image files decoded on demand: ``store[index]`` (a tensor of indices, or a slice) is
    float32 (len, C, S, S) in [0, 1]; the files' labels stay with the dataset."""

    def __init__(self, files: list[Path], shape: tuple[int, int, int], mode: str, size: int | None):
        self.files, self.mode, self.size = list(files), mode, size
        self.shape = torch.Size((len(self.files), *shape))

    device = torch.device("cpu")

    def __len__(self) -> int:
        return len(self.files)

    def dim(self) -> int:
        return 4

    def image(self, i: int) -> torch.Tensor:
        """Image ``i`` as float32 (C, S, S); one that does not have the folder's size is an error."""
        levels = decode(self.files[i], self.mode, self.size)
        if levels.shape != tuple(self.shape[1:]):
            c, h, w = self.shape[1:]
            raise DataError(f"image {self.files[i]} is {levels.shape[2]}x{levels.shape[1]}, not {w}x{h} as the "
                            f"folder's first image: give folder:PATH,size=S to fit every image to one size")
        return torch.from_numpy(np.ascontiguousarray(levels)).float().div_(255)

    def __getitem__(self, index) -> torch.Tensor:
        picks = range(len(self))[index] if isinstance(index, slice) else torch.as_tensor(index).reshape(-1).tolist()
        return torch.stack([self.image(i) for i in picks]) if len(picks) else torch.zeros(0, *self.shape[1:])

    def subset(self, index: torch.Tensor) -> "FileStore":
        return FileStore([self.files[i] for i in index.tolist()], tuple(self.shape[1:]), self.mode, self.size)

    def to(self, device) -> "FileStore":
        return self  # files stay on disk; batches go to the device as they are read

    def is_binary(self) -> bool:
        return False

    def binarize(self, threshold: float) -> "FileStore":
        raise DataError("binarize thresholds images held in memory; these are streamed from disk")

    @property
    def nbytes(self) -> int:
        return 0


class StoreImages(torch.utils.data.Dataset):
    """A store and its labels as a torch ``Dataset`` of (image, label) for a ``DataLoader``."""

    def __init__(self, store: FileStore, labels: torch.Tensor | None):
        self.store, self.labels = store, labels

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i: int):
        return self.store.image(i), (self.labels[i] if self.labels is not None else torch.zeros((), dtype=torch.long))


def is_store(x) -> bool:
    return isinstance(x, (PixelStore, FileStore))
