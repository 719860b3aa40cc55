"""Convolutional blocks."""

from __future__ import annotations

from torch import nn


def conv_block(in_channels: int, out_channels: int, pool: bool = False) -> nn.Sequential:
    """3x3 convolution (same padding), batch norm, ReLU, then an optional 2x2 max-pool.

    The convolution has no bias because batch norm's shift replaces it.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)
