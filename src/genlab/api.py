"""The Python entry points: ``create``, ``load``, ``train``."""

from __future__ import annotations

import dataclasses

from .config import from_dict
from .models import Model, get


def data_config(cls: type[Model], data, settings: dict | None = None) -> dict:
    """Config values a model takes from its data: shape, intensity levels, classes (for a
    model that is conditional by a setting, only when ``settings`` switch it on)."""
    check_domains(cls, data)
    check_kind(cls, data)
    fields = {f.name: f for f in dataclasses.fields(cls.Config)}
    values = {"data_shape": tuple(data.shape), "n_bins": data.n_bins or 0, "num_classes": data.num_classes}
    if "conditional" in fields and not (settings or {}).get("conditional", fields["conditional"].default):
        del values["num_classes"]
    return {k: v for k, v in values.items() if k in fields}


def check_domains(cls: type[Model], data) -> None:
    """Two-domain models need two-domain data, and the other models one dataset."""
    from .errors import DataError

    paired = data.domain is not None
    if cls.two_domains and not paired:
        raise DataError(f"{cls.name} needs two domains (A and B), and {data.name} is one dataset: use a pair "
                        f"such as mnist5k-inverted, digits-mnist5k, moons-rotated or pair:A+B")
    if paired and not cls.two_domains:
        raise DataError(f"{data.name} holds two domains, for cyclegan and dann; {cls.name} trains on one dataset")


KIND_WORDS = {"points": "points", "image": "images", "text": "text"}


def check_kind(cls: type[Model], data) -> None:
    """A model takes only the kinds of data it declares (``Model.data_kinds``)."""
    from .errors import DataError

    if data.kind not in cls.data_kinds:
        takes = " or ".join(KIND_WORDS[k] for k in cls.data_kinds)
        raise DataError(f"{cls.name} models {takes}; {data.name} holds {KIND_WORDS[data.kind]}")


def as_dataset(data):
    """A ``genlab.Dataset`` as it is; a tensor or array of examples, or ``(x, y)`` with class
    labels, as scikit-learn takes them (points (N, d); images (N, H, W) or (N, C, H, W) in
    [0, 1] or 0..255), checked as an ``.npz`` file's arrays are."""
    import numpy as np
    import torch

    from .data import Dataset
    from .data.userdata import from_arrays
    from .errors import DataError

    if isinstance(data, Dataset):
        return data
    x, y = data if isinstance(data, tuple) and len(data) == 2 else (data, None)

    def array(a, what: str):
        if isinstance(a, torch.Tensor):
            return a.detach().cpu().numpy()
        if isinstance(a, (np.ndarray, list)):
            return np.asarray(a)
        raise DataError(f"genlab takes a genlab.Dataset, a tensor or array of examples, or (x, y); "
                        f"got {what} of type {type(a).__name__}")

    return from_arrays(array(x, "x"), None if y is None else array(y, "y"), "array", "the array given")


def create(name: str, data=None, **settings) -> Model:
    """Build a registered model from keyword settings; ``data`` fills in its shape. Settings
    that are ``nn.Module`` s replace the model's own networks (``Model.networks`` names them;
    each is checked on an example batch here).

    >>> model = genlab.create("gan", data=genlab.load_dataset("ring8"), loss="minimax")
    >>> model = genlab.create("dcgan", data=mnist, generator=MyGenerator(64))
    """
    from torch import nn

    from .models.networks import check_networks

    cls = get(name)
    data = None if data is None else as_dataset(data)
    networks = {k: v for k, v in settings.items() if isinstance(v, nn.Module)}
    config = {k: v for k, v in settings.items() if k not in networks}
    values = {**(data_config(cls, data, config) if data is not None else {}), **config}
    model = cls(from_dict(cls.Config, values, what=f"{name} config"), **networks)
    check_networks(model)
    return model


def load(directory, device: str = "auto") -> Model:
    """Load a model saved with ``model.save(directory)`` (or a finished run directory) on
    ``device``: auto (a CUDA GPU when there is one, else the CPU), cpu, cuda, cuda:N or mps."""
    from .models import load_model

    return load_model(directory, device)


def fit(model: Model, data, seed: int = 0) -> Model:
    """Closed-form or EM fit: text models count their texts, the others take the tensor."""
    if data.kind == "text":
        return model.fit(data.texts)
    return model.fit(data.dense().x, n_bins=data.n_bins, seed=seed)


def train(model: Model, data, **settings) -> Model:
    """Fit ``model`` to ``data`` in memory: EM/closed form through ``model.fit``, SGD
    through the trainer with ``settings`` from ``TrainConfig`` (steps, batch_size, seed,
    device...)."""
    from .trainer import TrainConfig, Trainer

    data = as_dataset(data)
    config = from_dict(TrainConfig, settings, what="training")
    if model.fitted:
        return fit(model, data, config.seed)
    return Trainer(model, data, config).run()
