"""Datasets by name: built-in toys and images, or the user's own files.

>>> data = load_dataset("ring8", n=2500, seed=0)
>>> train, test = load_dataset("digits").split(0.2, seed=0)
>>> binary = load_dataset("mnist5k", binarize=0.5)      # x > 0.5 -> 1, recorded in source

A spec is a built-in name (see :data:`DATASETS`), an existing path (a folder of images, an
``.npz`` file, an IDX file, a ``.txt``, ``.parquet`` or ``.arrow`` file), or a path with an
explicit prefix: ``folder:PATH``, ``npz:PATH``, ``idx:IMAGES[,LABELS]``, ``text:PATH``
(plain text for ``ngram``), ``cifar10:DIR`` and ``cifar100:DIR`` (the CIFAR binary version),
``hf:PATH`` (a Hugging Face dataset saved to disk, or Parquet files; see ``data/formats.py``).
Two datasets as domains A and B (for ``cyclegan`` and ``dann``) are a built-in pair such as
``mnist5k-inverted`` or ``pair:A+B`` (see ``data/domains.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import ConfigError, DataError, did_you_mean
from . import toys
from .dataset import Dataset, mixture_log_prob
from .domains import PAIR_FORM, PAIRS, is_pair, load_pair
from .formats import load_cifar, load_hf
from .images import IMAGES, load_digits, load_mnist5k
from .text import TEXTS, load_kjv, load_text
from .userdata import load_folder, load_idx, load_npz

__all__ = ["Dataset", "DATASETS", "USER_DATA", "load_dataset", "describe_datasets",
           "mixture_log_prob", "toys"]

DATASETS: dict[str, str] = {**toys.TOYS, **IMAGES, **TEXTS, **PAIRS}

USER_DATA = {
    "folder:PATH[,size=S]": "PNG/JPEG images, optionally one sub-folder per class (a plain folder path works "
                            "too); size=S fits each to SxS (shorter side, centre crop); held as uint8, or "
                            "streamed from disk with --set stream=true",
    "npz:PATH": "an .npz with x (N,H,W), (N,C,H,W) or points (N,d), optional labels y",
    "idx:IMAGES[,LABELS]": "MNIST IDX files, optionally gzip'd",
    "text:PATH": "a plain UTF-8 text file for ngram (a .txt path works too); one example per paragraph",
    "cifar10:DIR": "the CIFAR-10 binary version (data_batch_*.bin, test_batch.bin), all 60,000 read; "
                   "3x32x32, 10 classes",
    "cifar100:DIR": "the CIFAR-100 binary version (train.bin, test.bin), all 60,000 read; 3x32x32, "
                    "100 fine classes",
    "hf:PATH": "a Hugging Face dataset from save_to_disk, or .parquet files: its image column and label "
               "(extra: genlab[hf])",
    **PAIR_FORM,
}

USER_PREFIXES = ("folder", "npz", "idx", "text", "cifar10", "cifar100", "hf")

DEFAULT_TOY_SIZE = 10_000


def describe_datasets() -> str:
    """The built-in names and the user-data forms, one per line (for ``genlab list``)."""
    width = max(map(len, [*DATASETS, *USER_DATA]))
    lines = [f"{name:<{width}}  {text}" for name, text in DATASETS.items()]
    lines += [f"{form:<{width}}  {text}" for form, text in USER_DATA.items()]
    return "\n".join(lines)


def _toy(name: str, n: int | None, seed: int) -> Dataset:
    n = DEFAULT_TOY_SIZE if n is None else n
    x, y = toys.draw(name, n, torch.Generator().manual_seed(seed))
    centres = toys.modes(name)
    num_classes = 0 if y is None else (len(centres) if centres is not None else 2)
    return Dataset(name=name, x=x, y=y, kind="points", num_classes=num_classes, modes=centres,
                   sigma=toys.sigma(name), source=f"{name}: {DATASETS[name]}; n={n}, seed={seed}")


def _subsample(data: Dataset, n: int | None, seed: int) -> Dataset:
    """At most ``n`` examples, a seeded random subset (mnist5k is sorted by class)."""
    if n is None or n >= len(data):
        return data
    keep = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    small = data._subset(keep.sort().values, {})
    small.source += f"; random subset of {n} (seed {seed})"
    return small


def _user_data(spec: str) -> Dataset:
    kind, sep, rest = spec.partition(":")
    if sep and kind in USER_PREFIXES:
        if kind == "text":
            return load_text(rest, name=spec)
        if kind in ("cifar10", "cifar100"):
            return load_cifar(rest, kind, name=spec)
        if kind == "hf":
            return load_hf(rest, name=spec)
        if kind == "idx":
            images, _, labels = rest.partition(",")
            return load_idx(images, labels or None, name=spec)
        return (load_folder if kind == "folder" else load_npz)(rest, name=spec)
    path = Path(spec)
    if path.is_dir():
        return load_folder(path, name=spec)
    if path.suffix.lower() == ".npz":
        return load_npz(path, name=spec)
    if path.suffix.lower() == ".txt":
        return load_text(path, name=spec)
    if path.suffix.lower() in (".parquet", ".arrow"):
        return load_hf(path, name=spec)
    if "idx" in path.name.lower() or "ubyte" in path.name.lower():
        return load_idx(path, name=spec)
    raise DataError(f"cannot tell the format of {spec}: use folder:PATH, npz:PATH, idx:PATH, text:PATH, "
                    f"cifar10:DIR, cifar100:DIR or hf:PATH")


def load_dataset(spec: str, *, n: int | None = None, seed: int = 0, binarize: float | None = None,
                 stream: bool = False) -> Dataset:
    """Load a dataset by built-in name or user path spec.

    For toys ``n`` is the number of points drawn (default 10,000) from a generator seeded by
    ``seed``; for every other dataset it keeps a seeded random subset of at most ``n``.
    ``binarize`` thresholds images at that fixed value (see :meth:`Dataset.binarize`).
    ``stream`` leaves an image folder's files on disk, decoded as training reads them.
    """
    if stream and not _is_folder(spec):
        raise DataError(f"stream=true reads an image folder (folder:PATH) from disk as it trains; {spec} is not one")
    data = _load(spec, n, seed, stream)
    return data if binarize is None else data.binarize(binarize)


FOLDER_OPTION = re.compile(r",size=(\w+)$")


def _is_folder(spec: str) -> bool:
    kind, sep, rest = spec.partition(":")
    return (sep and kind == "folder") or (not is_pair(spec) and Path(spec).is_dir())


def _folder(spec: str, stream: bool) -> Dataset:
    """``folder:PATH[,size=S]`` or a folder's path."""
    path = spec.partition(":")[2] if spec.startswith("folder:") else spec
    size = None
    match = FOLDER_OPTION.search(path) if spec.startswith("folder:") else None
    if match is not None:
        try:
            size = int(match.group(1))
        except ValueError:
            raise ConfigError(f"size= needs a side in pixels, got {match.group(1)!r}") from None
        path = path[:match.start()]
    return load_folder(path, name=spec, size=size, stream=stream)


def _load(spec: str, n: int | None, seed: int, stream: bool = False) -> Dataset:
    if n is not None and n < 1:
        raise ConfigError(f"n must be a positive number of examples, got {n}")
    if spec in toys.TOYS:
        return _toy(spec, n, seed)
    if is_pair(spec):  # two domains are combined and transformed in memory, as float tensors
        return _subsample(load_pair(spec, lambda one: _load(one, None, seed).dense(), seed), n, seed)
    if _is_folder(spec):
        return _subsample(_folder(spec, stream), n, seed)
    if spec == "digits":
        return _subsample(load_digits(), n, seed)
    if spec == "mnist5k":
        return _subsample(load_mnist5k(), n, seed)
    if spec == "kjv":
        return _subsample(load_kjv(), n, seed)
    if spec.partition(":")[0] in USER_PREFIXES or Path(spec).exists():
        return _subsample(_user_data(spec), n, seed)
    raise DataError(f"unknown dataset '{spec}'{did_you_mean(spec, DATASETS)}: built-in names are {', '.join(DATASETS)}; "
                    f"user data is a folder or file path, or {', '.join(USER_DATA)}")
