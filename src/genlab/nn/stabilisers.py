"""Stabilisers shared by the adversarial family, each in one place.

- ``spectral_norm``: Miyato et al. 2018, "Spectral Normalization for Generative Adversarial
  Networks" — every weight divided by its top singular value (one power iteration per call).
- ``EMA``: an exponential moving average of a network's weights, sampled from instead of the
  raw generator (Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training";
  Karras et al. 2018 use it in progressive GANs). It is a submodule, so checkpoints carry it.
- ``r1_penalty``: Mescheder et al. 2018, "Which Training Methods for GANs do actually
  Converge?", eq. 9: gamma/2 * E ||grad D(x)||^2 on real data.
- ``smooth_real_targets``: one-sided label smoothing, Salimans et al. 2016, "Improved
  Techniques for Training GANs", section 3.4: only the real targets are lowered.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

NORMALISED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)


def spectral_norm(network: nn.Module) -> nn.Module:
    """Spectrally normalise every Linear / Conv layer of ``network`` in place; returns it."""
    for layer in list(network.modules()):
        if isinstance(layer, NORMALISED_LAYERS):
            nn.utils.parametrizations.spectral_norm(layer)
    return network


class EMA(nn.Module):
    """A frozen copy of ``network`` whose weights track theta_ema <- d theta_ema + (1 - d) theta.

    Call :meth:`update` with the live network after each of its optimiser steps, and call
    the EMA module itself to run the averaged network. Buffers (e.g. batch-norm statistics)
    are copied, not averaged. With ``warmup``, the decay after n updates is
    min(decay, (1 + n) / (10 + n)), as TensorFlow's ExponentialMovingAverage with
    ``num_updates``, so that a short run's average is not still mostly its initial weights;
    the count n is a buffer, so it resumes with the run.
    """

    def __init__(self, network: nn.Module, decay: float, warmup: bool = False):
        super().__init__()
        self.decay, self.warmup = decay, warmup
        self.average = copy.deepcopy(network).requires_grad_(False)
        if warmup:
            self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    def current_decay(self) -> float | torch.Tensor:
        """The decay of the next update: a float, or with warm-up a tensor on the count's
        device (so that a GPU is never stopped to read the count back)."""
        if not self.warmup:
            return self.decay
        n = self.updates.double()
        return torch.clamp((1 + n) / (10 + n), max=self.decay)

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        decay = self.current_decay()
        weight = 1.0 - decay if isinstance(decay, float) else (1.0 - decay).float()
        if self.warmup:
            self.updates += 1
        for ema, live in zip(self.average.parameters(), network.parameters()):
            ema.lerp_(live, weight)
        for ema, live in zip(self.average.buffers(), network.buffers()):
            ema.copy_(live)

    def forward(self, *args, **kwargs):
        return self.average(*args, **kwargs)


def r1_penalty(real_logits: torch.Tensor, real_x: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """gamma/2 * E ||grad_x D(x)||^2 over real data; ``real_x`` must require grad."""
    # a D that ignores its input has no path to real_x: its gradient is zero, not an error
    (grad,) = torch.autograd.grad(real_logits.sum(), real_x, create_graph=True, materialize_grads=True)
    return 0.5 * gamma * grad.flatten(1).square().sum(1).mean()


def smooth_real_targets(real_logits: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Targets 1 - smoothing for the real samples; the fake targets stay at 0 (one-sided)."""
    return torch.full_like(real_logits, 1.0 - smoothing)
