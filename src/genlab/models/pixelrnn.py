"""PixelRNN with Row LSTM layers.

van den Oord et al. 2016, "Pixel Recurrent Neural Networks", section 3.1 (Row LSTM) and
Table 4. This is the **Row LSTM**, not the Diagonal BiLSTM. A mask-A k x k convolution
starts the network; then each residual layer is an LSTM that runs down the image one row
at a time, computing a whole row at once:

    [o, f, i, g]_i = K_ss (*) h_{i-1} + K_is (*) x_i        (eq. 3; a 1-D convolution each)
    c_i = sigmoid(f) . c_{i-1} + sigmoid(i) . tanh(g),   h_i = sigmoid(o) . tanh(c_i)

K_is is a 1 x k convolution along the row with mask B (columns j-r..j of the layer's input),
K_ss a 1-D convolution of width k over the previous row's state (columns j-r..j+r). So
h at (i, j) depends on row i left of j (through the mask-A input) and on rows above. The
recurrence makes the receptive field a triangle that widens by r columns per row upward:
pixels of an earlier row further than that to the side (on top of what the first layer's
k x k kernel reaches) are not seen. This is inherent in the Row LSTM (the Diagonal BiLSTM
removes it); the model stays strictly causal and its likelihood exact.

Heads, exact likelihood and sampling are the family's (``autoregressive.py``).
Sampling keeps each layer's (h, c) of the finished row, so a pixel costs one row of
computation instead of a whole image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import check, check_positive
from ..nn.masked import MaskedConv2d, output_head
from .autoregressive import Autoregressive, PixelConfig


@dataclass
class PixelRNNConfig(PixelConfig):
    layers: int = 2        # Row LSTM layers (each residual)
    row_kernel: int = 3    # width k of the input-to-state and state-to-state convolutions

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "row_kernel")
        check(self.row_kernel % 2 == 1, f"row_kernel must be odd (a centred causal mask), got {self.row_kernel}")


class RowLSTM(nn.Module):
    """One residual Row LSTM layer on (B, C, H, W) features."""

    def __init__(self, channels: int, k: int, num_classes: int = 0):
        super().__init__()
        self.input_to_state = MaskedConv2d(channels, 4 * channels, (1, k), "B")    # along row i
        self.state_to_state = nn.Conv1d(channels, 4 * channels, k, padding=k // 2)  # over row i-1
        self.out = nn.Conv2d(channels, channels, 1)
        self.embed = nn.Embedding(num_classes, 4 * channels) if num_classes else None

    def row(self, x_i: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None, y=None
            ) -> tuple[torch.Tensor, torch.Tensor]:
        """(h_i, c_i), each (B, C, W), from input row x_i (B, C, 1, W) and the state of row i-1."""
        gates = self.input_to_state(x_i)[:, :, 0]                     # (B, 4C, W)
        if self.embed is not None:
            gates = gates + self.embed(y)[:, :, None]
        if state is None:                                             # row 0: zero state above
            c = torch.zeros_like(x_i[:, :, 0])
        else:
            h, c = state
            gates = gates + self.state_to_state(h)
        o, f, i, g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def residual(self, x_i: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return x_i + self.out(h[:, :, None])                          # (B, C, 1, W)

    def forward(self, x: torch.Tensor, y=None) -> torch.Tensor:
        rows, state = [], None
        for i in range(x.shape[2]):
            state = self.row(x[:, :, i:i + 1], state, y)
            rows.append(self.residual(x[:, :, i:i + 1], state[0]))
        return torch.cat(rows, 2)                                     # (B, C, H, W)


class RowLSTMNet(nn.Module):
    def __init__(self, c: PixelRNNConfig, n_out: int):
        super().__init__()
        self.first = MaskedConv2d(1, c.channels, c.kernel_size, "A")
        self.lstms = nn.ModuleList(RowLSTM(c.channels, c.row_kernel, c.num_classes) for _ in range(c.layers))
        self.head = output_head(c.channels, n_out)
        self.r = c.kernel_size // 2

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.first(x)                                             # (B, C, H, W)
        for lstm in self.lstms:
            h = lstm(h, y)
        return self.head(h)                                           # (B, n_out, H, W)

    def row_logits(self, x: torch.Tensor, i: int, y, cache: dict) -> torch.Tensor:
        """Logits of row i (B, n_out, W) from the input's rows i-r..i and every layer's
        (h, c) of row i-1, kept in ``cache``. Within a row, every call recomputes row i's
        states; the last call (pixel W-1, which no state of row i reads) leaves the final
        ones for row i+1."""
        states = cache.get(i - 1, [None] * len(self.lstms))
        h = self.first(x[:, :, max(0, i - self.r):i + 1])[:, :, -1:]  # (B, C, 1, W)
        new = []
        for lstm, state in zip(self.lstms, states):
            new.append(lstm.row(h, state, y))
            h = lstm.residual(h, new[-1][0])
        cache[i] = new
        cache.pop(i - 2, None)
        return self.head(h)[:, :, 0]


class PixelRNN(Autoregressive):
    name = "pixelrnn"
    Config = PixelRNNConfig
    presets = {"digits": dict(layers=2, channels=32, kernel_size=5, batch_size=64, steps=1_500),
               "mnist5k": dict(binarize=0.5, batch_size=64, steps=1_100)}  # benchmarks/likelihood.py

    def __init__(self, config: PixelRNNConfig, **networks):
        super().__init__(config, **networks)
        self.net = self.network_for("net", lambda: RowLSTMNet(config, self.n_out))
