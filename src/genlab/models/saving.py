"""Saving and loading models: ``model.safetensors`` + ``config.json``, never pickled code.

A saved model is a directory with two files. ``config.json`` names the model, holds its
config and a format version, and records the SHA-256 of the weights file so that a
tampered or truncated file is caught before it is used. A model built with networks of the
user's own (``genlab.create("dcgan", generator=MyGenerator(...))``) also records each one's
import path and constructor arguments (``networks.py``). Both files are written atomically
(``genlab.io``); ``models.load_model`` reads them back through :func:`read_saved`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CheckpointError
from ..io import atomic_write, read_json, sha256, write_json

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_model(model, directory: str | os.PathLike) -> Path:
    """Write ``model`` to ``directory`` as safetensors weights plus a JSON config."""
    from safetensors.torch import save_file

    from ..config import to_dict

    directory = Path(directory)
    specs = dict(model.user_networks)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(directory / WEIGHTS, lambda tmp: save_file(state, tmp, metadata={"model": model.name}))
    write_json(
        directory / CONFIG,
        {
            "format": "genlab-model",
            "format_version": FORMAT_VERSION,
            "model": model.name,
            "config": to_dict(model.config),
            **({"networks": specs} if specs else {}),
            "weights_sha256": sha256(directory / WEIGHTS),
        },
    )
    return directory


def read_saved(directory: str | os.PathLike) -> tuple[dict, dict]:
    """(the checked ``config.json``, the weights) of a saved model; no code is executed from
    the files. ``models.load_model`` rebuilds the model from them."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"not a model directory: {directory}")
    meta = read_json(directory / CONFIG, "model config")
    if meta.get("format") != "genlab-model" or "model" not in meta or "config" not in meta:
        raise CheckpointError(f"{directory / CONFIG} is not a genlab model config")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{directory / CONFIG} has format version {meta.get('format_version')}; "
            f"this genlab reads version {FORMAT_VERSION}"
        )
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"missing weights file: {weights}")
    if meta.get("weights_sha256") not in (None, sha256(weights)):
        raise CheckpointError(f"weights file {weights} does not match its config.json (tampered, truncated or replaced)")
    try:
        state = load_file(weights)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"damaged weights file {weights}: {err}") from None
    return meta, state
