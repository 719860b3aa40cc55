"""Saving and loading models: ``model.safetensors`` + ``config.json``, never pickled code.

A saved model is a directory with two files. ``config.json`` names the model, holds its
config and a format version, and records the SHA-256 of the weights file so that a
tampered or truncated file is caught before it is used. Every file is written to a
temporary name in the same directory and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import CheckpointError, ConfigError

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then rename the result onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")

    atomic_write(path, write)


def read_json(path: str | os.PathLike, what: str = "file") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"missing {what}: {path}")
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"damaged {what} {path}: {err}") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"damaged {what} {path}: not a JSON object")
    return obj


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(model, directory: str | os.PathLike) -> Path:
    """Write ``model`` to ``directory`` as safetensors weights plus a JSON config."""
    from safetensors.torch import save_file

    from .config import to_dict

    directory = Path(directory)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    atomic_write(directory / WEIGHTS, lambda tmp: save_file(state, tmp, metadata={"model": model.name}))
    write_json(
        directory / CONFIG,
        {
            "format": "genlab-model",
            "format_version": FORMAT_VERSION,
            "model": model.name,
            "config": to_dict(model.config),
            "weights_sha256": sha256(directory / WEIGHTS),
        },
    )
    return directory


def load_model(directory: str | os.PathLike, device: str | None = None):
    """Rebuild a model saved by :func:`save_model`; no code is executed from the files."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .models import build

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
    try:
        model = build(meta["model"], meta["config"])
    except ConfigError as err:
        raise CheckpointError(f"{directory / CONFIG}: {err}") from None
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"missing weights file: {weights}")
    if meta.get("weights_sha256") not in (None, sha256(weights)):
        raise CheckpointError(f"weights file {weights} does not match its config.json (tampered, truncated or replaced)")
    try:
        state = load_file(weights)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"damaged weights file {weights}: {err}") from None
    load_state(model, state, str(weights))
    return model.to(device) if device else model


def load_state(model, state: dict, source: str) -> None:
    """``load_state_dict`` with one clear line for missing, extra or misshapen tensors."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        name = (missing or extra)[0]
        raise CheckpointError(f"{source} does not fit model {model.name!r}: {'missing' if missing else 'unexpected'} tensor {name!r}")
    for key, value in state.items():
        if tuple(own[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{source} does not fit model {model.name!r}: tensor {key!r} has shape "
                f"{tuple(value.shape)}, the config needs {tuple(own[key].shape)}"
            )
    model.load_state_dict(state)
