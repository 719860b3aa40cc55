"""genlab: a laboratory for generative models on PyTorch.

    import genlab
    data = genlab.load_dataset("ring8")
    model = genlab.create("gan", data=data)
    genlab.train(model, data, steps=2000)
    x = model.sample(1000)

torch is imported on first use, so that ``genlab --help`` answers at once.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "create": "genlab.api",
    "load": "genlab.api",
    "train": "genlab.api",
    "evaluate": "genlab.evaluation",
    "load_dataset": "genlab.data",
    "Dataset": "genlab.data",
    "MODELS": "genlab.models",
    "TrainConfig": "genlab.trainer",
    "GenlabError": "genlab.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")
