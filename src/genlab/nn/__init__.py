"""Building blocks shared by every family; each lives here once."""

from .mlp import mlp

__all__ = ["mlp"]
