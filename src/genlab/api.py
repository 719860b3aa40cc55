"""The Python entry points: ``create``, ``load``, ``train``."""

from __future__ import annotations

import dataclasses

from .config import from_dict
from .models import Model, get


def data_config(cls: type[Model], data) -> dict:
    """Config values a model takes from its data: shape, intensity levels, classes."""
    check_domains(cls, data)
    names = {f.name for f in dataclasses.fields(cls.Config)}
    values = {"data_shape": tuple(data.shape), "n_bins": data.n_bins or 0, "num_classes": data.num_classes}
    return {k: v for k, v in values.items() if k in names}


def check_domains(cls: type[Model], data) -> None:
    """Two-domain models need two-domain data, and the other models one dataset."""
    from .errors import DataError

    paired = getattr(data, "domain", None) is not None
    if cls.two_domains and not paired:
        raise DataError(f"{cls.name} needs two domains (A and B), and {data.name} is one dataset: use a pair "
                        f"such as mnist5k-inverted, digits-mnist5k, moons-rotated or pair:A+B")
    if paired and not cls.two_domains:
        raise DataError(f"{data.name} holds two domains, for cyclegan and dann; {cls.name} trains on one dataset")


def create(name: str, data=None, **config) -> Model:
    """Build a registered model from keyword settings; ``data`` fills in its shape.

    >>> model = genlab.create("gan", data=genlab.load_dataset("ring8"), loss="minimax")
    """
    cls = get(name)
    values = {**(data_config(cls, data) if data is not None else {}), **config}
    return cls(from_dict(cls.Config, values, what=f"{name} config"))


def load(directory, device: str | None = None) -> Model:
    """Load a model saved with ``model.save(directory)`` (or a finished run directory)."""
    from .io import load_model

    return load_model(directory, device)


def fit(model: Model, data) -> Model:
    """Closed-form or EM fit: text models count their texts, the others take the tensor."""
    if data.kind == "text":
        return model.fit(data.texts)
    return model.fit(data.x, n_bins=data.n_bins)


def train(model: Model, data, **settings) -> Model:
    """Fit ``model`` to ``data`` in memory: EM/closed form through ``model.fit``, SGD
    through the trainer with ``settings`` from ``TrainConfig`` (steps, batch_size, seed...)."""
    from .trainer import TrainConfig, Trainer

    if hasattr(model, "fit"):
        return fit(model, data)
    config = from_dict(TrainConfig, settings, what="training")
    return Trainer(model, data, config).run()
