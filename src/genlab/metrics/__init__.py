"""Evaluation: likelihood conventions and mode metrics for the 2-D toys."""

from .likelihood import bits_per_dim, dequantize, levels
from .modes import mode_metrics

__all__ = ["bits_per_dim", "dequantize", "levels", "mode_metrics"]
