"""Building blocks shared by every family; each lives here once."""

from .conv import conv_block
from .mlp import mlp

__all__ = ["conv_block", "mlp"]
