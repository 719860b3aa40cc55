"""Multi-layer perceptrons."""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh, "silu": nn.SiLU}


def mlp(in_dim: int, out_dim: int, hidden: int, layers: int, activation: str = "relu") -> nn.Sequential:
    """``layers`` hidden layers of width ``hidden``, then a linear output layer."""
    widths = [in_dim] + [hidden] * layers
    blocks: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        blocks += [nn.Linear(a, b), ACTIVATIONS[activation]()]
    blocks.append(nn.Linear(widths[-1], out_dim))
    return nn.Sequential(*blocks)
