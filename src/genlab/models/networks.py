"""Networks of the user's own inside genlab's models.

A researcher can keep genlab's losses, phases, trainer, metrics and run directories and
swap in their own networks: ``genlab.create("dcgan", data=d, generator=MyGenerator(64))``.
Each model declares the networks it lets a user replace (``Model.networks``) and what each
must do, as an example input and the output shape it needs (``Model.network_examples``);
a supplied network is run once on that example when the model is built, so a wrong output
shape is one clear error that names the network and both shapes.

Saving records each supplied network by its import path and its constructor arguments, read
back from the attributes of the same names (the convention of scikit-learn's
``get_params``); loading imports that class from its installed module and calls it with
those arguments. Nothing is unpickled: the weights come from the safetensors file as for
any other model.
"""

from __future__ import annotations

import importlib
import inspect
import json

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError

JSON_TYPES = (bool, int, float, str, type(None))


def describe(module: nn.Module, role: str) -> dict:
    """``{"class": "package.module.Class", "args": {...}}`` for a network a user supplied."""
    cls = type(module)
    name = cls.__name__
    if cls.__module__ == "__main__" or "." in cls.__qualname__:
        raise ConfigError(f"{role} network {name} is defined in {cls.__module__}.{cls.__qualname__}; genlab saves a "
                          f"network by its import path, so define the class at the top level of an importable module")
    args = {}
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        missing = object()
        value = getattr(module, param.name, missing)
        if value is missing:
            raise ConfigError(f"{role} network {name} does not keep its constructor argument {param.name!r} as "
                              f"self.{param.name}; genlab saves a network's constructor arguments from the attributes "
                              f"of the same names")
        value = list(value) if isinstance(value, tuple) else value
        try:
            json.dumps(value)
        except TypeError:
            raise ConfigError(f"{role} network {name}'s constructor argument {param.name}={value!r} is not a "
                              f"number, string, boolean or list of them, so it cannot be saved in config.json") from None
        args[param.name] = value
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "args": args}


def rebuild(spec: dict, role: str) -> nn.Module:
    """Import the class a saved spec names and call it with the saved arguments."""
    path = spec.get("class", "") if isinstance(spec, dict) else ""
    module_name, _, class_name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise CheckpointError(f"cannot import the {role} network class {path!r} this model was saved with "
                              f"({type(err).__name__}: {err}); install or put on PYTHONPATH the module that defines it") from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise CheckpointError(f"the {role} network {path!r} is not a torch.nn.Module class")
    args = spec.get("args", {})
    try:
        return cls(**args)
    except Exception as err:  # the user's constructor may raise anything
        raise CheckpointError(f"the {role} network {path} cannot be rebuilt from its saved arguments {args}: "
                              f"{type(err).__name__}: {err}") from None


def rebuild_networks(cls, specs: dict | None) -> dict[str, nn.Module]:
    """The user networks recorded in a ``config.json`` (none for built-in networks)."""
    if not specs:
        return {}
    unknown = sorted(set(specs) - set(cls.networks))
    if unknown:
        raise CheckpointError(f"{cls.name} has no network {unknown[0]!r} to rebuild")
    return {role: rebuild(spec, role) for role, spec in specs.items()}


def check_networks(model) -> None:
    """Run each user-supplied network once on the model's example input and compare the
    shape of what it returns with what the model needs."""
    examples = model.network_examples()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for role in model.user_networks:
                inputs, expected = examples[role]
                network = getattr(model, role)
                shapes = ", ".join(str(tuple(t.shape)) for t in inputs if isinstance(t, torch.Tensor))
                try:
                    out = network(*inputs)
                except Exception as err:  # the user's forward may raise anything
                    raise ConfigError(f"{role} network {type(network).__name__} fails on a {model.name} input of "
                                      f"shape {shapes}: {type(err).__name__}: {err}") from None
                got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                if got != tuple(expected):
                    raise ConfigError(f"{role} network {type(network).__name__} maps {shapes} to {got}; "
                                      f"{model.name} needs {tuple(expected)}")
    finally:
        model.train(was_training)
