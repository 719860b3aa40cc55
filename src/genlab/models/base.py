"""The protocol every genlab model follows.

A model is an ``nn.Module`` built from one typed dataclass config (``model.config``) that
holds every setting, including the shape of the data it was built for, so that
``config.json`` alone is enough to rebuild it. Models trained by SGD declare their
optimisers and a list of training phases, which the one trainer in ``genlab.trainer`` runs;
models fitted in closed form or by EM define ``fit`` instead.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ..errors import ConfigError


class Model(nn.Module):
    """Base class: stores the config; subclasses build networks and define the maths."""

    name: ClassVar[str]
    Config: ClassVar[type]
    two_domains: ClassVar[bool] = False  # trained on data of two domains (data/domains.py)

    def __init__(self, config):
        super().__init__()
        self.config = config

    # --- the verbs shared by every family -------------------------------------------------

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples in data space (points as-is, images in [0, 1])."""
        raise NotImplementedError

    def save(self, directory) -> None:
        from ..io import save_model

        save_model(self, directory)

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    # --- training: SGD models define optimizers() and phases(); EM models define fit() ----

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError(f"{self.name} is not trained by SGD")

    def phases(self) -> list:
        raise NotImplementedError(f"{self.name} is not trained by SGD")

    def evaluate(self, data) -> dict[str, float]:
        """Cheap held-out quality figures (e.g. log-likelihood); empty where none is exact."""
        return {}

    def _check_labels(self, n: int, labels: torch.Tensor | None) -> None:
        if labels is not None:
            raise ConfigError(f"{self.name} is not class-conditional; sample without labels")


def standard_normal(shape, generator: torch.Generator | None, device) -> torch.Tensor:
    """N(0, I) noise drawn from ``generator`` (or the global RNG) on ``device``."""
    if generator is not None and generator.device != torch.device(device):
        return torch.randn(shape, generator=generator).to(device)
    return torch.randn(shape, generator=generator, device=device)
