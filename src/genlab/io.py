"""Files written safely: atomic writes, JSON, SHA-256.

Every file genlab writes goes to a temporary name in the same directory and is renamed, so
a crash never leaves half a file. Saving and loading models lives in ``models/saving.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import CheckpointError


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` then rename the result onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp (and some writers) make 0600; use the usual mode
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


def load_state(model, state: dict, source: str) -> None:
    """``load_state_dict`` with one clear line for missing, extra or misshapen tensors; a
    state an older genlab wrote is first brought up to date by ``model.upgrade_state``."""
    own = model.state_dict()
    state = model.upgrade_state(dict(state))
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
