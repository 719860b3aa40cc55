"""Building blocks shared by every family; each lives here once."""

from .conv import conv_block
from .mlp import mlp
from .unet import TimeMLP, UNet

__all__ = ["conv_block", "mlp", "TimeMLP", "UNet"]
