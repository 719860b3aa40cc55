"""Typed dataclass configs: round trip to and from dicts and ``--set key=value`` strings.

Every model and the trainer declare their settings as a dataclass with every default
visible. This module checks names and types strictly, so that a typo or a wrong type is
reported as one clear line instead of surfacing later from deep inside torch.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from .errors import ConfigError

# A decimal number as YAML 1.2 and Python read it; PyYAML (YAML 1.1) reads 1e-3 as a string.
NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def field_types(cls) -> dict[str, Any]:
    """The resolved type of every field of a dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def to_dict(config) -> dict[str, Any]:
    """A JSON-able dict of a config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def from_dict(cls, values: dict[str, Any], *, what: str = "config"):
    """Build ``cls`` from a dict, checking every key and value type."""
    types_ = field_types(cls)
    unknown = sorted(set(values) - set(types_))
    if unknown:
        raise ConfigError(
            f"unknown {what} key {unknown[0]!r}; valid keys: {', '.join(sorted(types_))}"
        )
    return cls(**{k: coerce(v, types_[k], k) for k, v in values.items()})


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``, converting only lossless cases."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{key}={value!r} is not one of {choices}")
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        last: ConfigError | None = None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key)
            except ConfigError as err:
                last = err
        raise last or ConfigError(f"{key}={value!r} has the wrong type")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}={value!r} should be a list of values")
        inner = args[0] if args else Any
        return tuple(coerce(v, inner, key) for v in value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}={value!r} should be true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key}={value!r} should be an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}={value!r} should be a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}={value!r} should be a string")
    return value


def parse_value(text: str) -> Any:
    """Read the right-hand side of ``key=value`` as YAML (numbers, booleans, lists)."""
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and NUMBER.fullmatch(text.strip()):
        return float(text)
    return value


def parse_sets(items: list[str]) -> dict[str, Any]:
    """Turn ``["lr=1e-3", "loss=minimax"]`` into ``{"lr": 0.001, "loss": "minimax"}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        # YAML 1.1 booleans are surprising in a config; keep the text (then a bool field refuses it)
        value = text if text.strip().lower() in {"yes", "no", "on", "off"} else parse_value(text)
        out[key.strip()] = value
    return out


def read_settings_file(path) -> tuple[str | None, str | None, dict[str, Any]]:
    """(model, data, settings) from a YAML file of ``model:``, ``data:`` and ``--set`` keys,
    as every run writes them to ``settings.yaml``."""
    from pathlib import Path

    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"settings file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if values is None:
        values = {}
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ConfigError(f"{path} must hold key: value lines (model, data and settings)")
    model, data = values.pop("model", None), values.pop("data", None)
    for key, value in (("model", model), ("data", data)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{key} in {path} should be a name, got {value!r}")
    # YAML 1.1 reads 1e-3 as a string; read numbers as --set does
    settings = {k: float(v) if isinstance(v, str) and NUMBER.fullmatch(v.strip()) else v for k, v in values.items()}
    return model, data, settings


def write_settings_file(path, model: str, data: str, settings: dict[str, Any]) -> None:
    """The resolved settings of a run, in the format :func:`read_settings_file` reads."""
    from pathlib import Path

    import yaml

    from .io import atomic_write

    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    text = yaml.safe_dump({"model": model, "data": data, **plain}, sort_keys=False)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(message)


def check_positive(config, *keys: str) -> None:
    """Every named field of ``config`` must be positive (a size, a count, a step)."""
    for key in keys:
        value = getattr(config, key)
        check(value > 0, f"{key} must be positive, got {value}")


def check_shape(shape: tuple[int, ...]) -> None:
    check(len(shape) >= 1 and all(d > 0 for d in shape), f"data_shape must be positive sizes, got {shape}")


FLOAT32_MAX = 3.4028234663852886e38


def check_learning_rate(lr: float, key: str = "lr") -> None:
    """A learning rate must be positive and representable in float32 (optimiser state)."""
    check(0 < lr < FLOAT32_MAX, f"{key} must be a positive number below {FLOAT32_MAX:.3g}, got {lr}")


def check_adam(config) -> None:
    """The Adam settings ``lr``, ``beta1`` and ``beta2`` that adversarial configs share."""
    check_learning_rate(config.lr)
    check(0 <= config.beta1 < 1 and 0 <= config.beta2 < 1, "Adam betas must lie in [0, 1)")


@dataclass
class Settings:
    """The root of the config classes that share fields through inheritance: each class
    checks its own fields in ``__post_init__`` and calls ``super().__post_init__()``."""

    def __post_init__(self):
        pass


@dataclass
class AdamSettings(Settings):
    """Adam's learning rate and betas, for models trained with one rate for all networks."""

    lr: float = 2e-4
    beta1: float = 0.5  # Adam's beta1 = 0.5 as in Radford et al. 2016
    beta2: float = 0.999

    def __post_init__(self):
        super().__post_init__()
        check_adam(self)


def describe(cls) -> list[tuple[str, str, str]]:
    """(name, type, default) for every field, for ``--help`` and ``--dry-run``."""
    rows = []
    fields = {f.name: f for f in dataclasses.fields(cls)}
    order = []  # a class's own fields first, then those it inherits, base by base
    for klass in cls.__mro__:
        order += [name for name in vars(klass).get("__annotations__", {}) if name in fields and name not in order]
    for f in (fields[name] for name in order):
        tp = field_types(cls)[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        rows.append((f.name, _type_name(tp), repr(default)))
    return rows


# What the common settings mean, where a config's own comment does not say
NOTES = {
    "data_shape": "shape of one example (set from the data)",
    "n_bins": "intensity levels of the images (set from the data; 0 = continuous)",
    "num_classes": "classes of the labels (set from the data)",
    "latent_dim": "size of the latent code z",
    "hidden": "width of the MLP layers",
    "layers": "hidden layers of the MLPs",
    "width": "base channels of the convolutional networks",
    "lr": "learning rate",
    "beta1": "Adam's beta1",
    "beta2": "Adam's beta2",
    "backbone": "mlp or convolutional networks",
    "loss": "the generator's loss",
    "d_steps": "discriminator steps per generator step",
    "n_critic": "critic steps per generator step",
    "steps": "training steps (iterations of every phase)",
    "batch_size": "examples per batch (of each domain, for two-domain data); under torchrun the global batch",
    "seed": "seed of the initial weights, the batches and the training noise",
    "log_every": "steps between lines of metrics.jsonl",
    "sample_every": "steps between sample pictures in samples/",
    "checkpoint_every": "steps between checkpoints (resume points)",
    "progress": "show a progress bar (a line per log step when not in a terminal)",
}


def notes(cls) -> dict[str, str]:
    """A one-line description of every field of a config class that has one: the comment on
    the field's line in its class (or a base's), else the common meaning in ``NOTES``."""
    import inspect

    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is Settings:
            continue
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        for line in lines:
            match = re.match(r"\s+(\w+): [^=]+=.*?#\s*(.+)$", line)
            if match:
                out[match.group(1)] = match.group(2).strip()
    fields = [f.name for f in dataclasses.fields(cls)]
    return {name: out.get(name) or NOTES.get(name, "") for name in fields}


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return " | ".join(str(a) for a in get_args(tp))
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))
