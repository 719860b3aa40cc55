"""Domain-adversarial neural network: learn features that serve two domains.

Ganin & Lempitsky 2015, "Unsupervised Domain Adaptation by Backpropagation"; Ganin et al.
2016, "Domain-Adversarial Training of Neural Networks" (JMLR). Labelled source data (domain
A) and unlabelled target data (domain B) pass through one feature extractor f. A label
classifier is trained on the source features; a domain classifier tries to tell source
features from target ones, and reaches f through a gradient-reversal layer, the identity
forward and -lambda times the gradient backward, so that f learns to make the domains
indistinguishable while staying useful for the labels. One loss, one optimiser:

    L = CE(label classifier(f(x_a)), y_a) + BCE(domain classifier(R_lambda(f(x))), domain)

lambda rises from 0 to ``domain_weight`` as 2 / (1 + exp(-gamma p)) - 1 with training
progress p in [0, 1], and the learning rate falls as lr / (1 + 10 p)^0.75: the schedules of
the JMLR paper (section 5.2.2, gamma 10). The first keeps the domain classifier's noisy early
gradients from swamping the label loss; the second lets the adversarial game settle, so that
the final weights are not one moment of an oscillation. p is the trainer's progress through
the run (``--steps``), or step / ``schedule_steps`` when that is set (capped at 1). Both
schedules are declared here and applied by the trainer, so they resume with the run.
``domain_weight = 0`` is the source-only baseline from the same code: the domain classifier
still learns (its accuracy shows how separable the domains are) but f gets nothing from it.

The feature extractor is an MLP for points and, for images, two 3x3 convolution + ReLU +
max-pool stages and a linear map: no batch norm, whose statistics would carry target data
into the source-only baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check, check_learning_rate, check_positive, check_shape
from ..errors import ConfigError, DataError
from ..nn.mlp import mlp
from .base import Model, Phase


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, coefficient):
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.coefficient * grad, None


def reverse_gradient(x: torch.Tensor, coefficient: float) -> torch.Tensor:
    """The gradient-reversal layer R: identity forward, ``-coefficient`` x gradient backward."""
    return _ReverseGradient.apply(x, coefficient)


def grl_coefficient(progress: float, gamma: float = 10.0) -> float:
    """2 / (1 + exp(-gamma p)) - 1 at training progress p in [0, 1]: from 0 to nearly 1."""
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


def annealed_lr(lr: float, progress: float) -> float:
    """lr / (1 + 10 p)^0.75 at training progress p: a tenth of lr at p = 1 would be 1/6."""
    return lr / (1.0 + 10.0 * progress) ** 0.75


@dataclass
class DANNConfig:
    data_shape: tuple[int, ...] = (2,)  # (d,) points or (C, H, W) images, from the data
    num_classes: int = 2  # classes of the labelled source domain
    hidden: int = 64  # hidden width of the classifiers (and of the points' feature extractor)
    layers: int = 2  # points: hidden layers of the feature extractor
    width: int = 32  # images: channels of the first convolution (the second has twice as many)
    feature_dim: int = 64  # size of the features both classifiers see
    domain_weight: float = 1.0  # final lambda of the reversed gradient; 0 = source-only baseline
    schedule_steps: int = 0  # 0: lambda and the lr follow the run's progress; else p = step / schedule_steps
    gamma: float = 10.0  # steepness of lambda's rise, 2 / (1 + exp(-gamma p)) - 1
    lr: float = 1e-3

    def __post_init__(self):
        check_shape(self.data_shape)
        check(len(self.data_shape) in (1, 3), f"dann takes points (d,) or images (C, H, W), got data_shape "
                                             f"{tuple(self.data_shape)}")
        check(self.num_classes >= 2, f"dann needs a labelled source domain with at least 2 classes, got "
                                     f"num_classes={self.num_classes}")
        check_positive(self, "hidden", "layers", "width", "feature_dim", "gamma")
        check(self.schedule_steps >= 0,
              f"schedule_steps must be 0 (follow the run) or positive, got {self.schedule_steps}")
        check(self.domain_weight >= 0, f"domain_weight must be 0 (source only) or positive, got {self.domain_weight}")
        check_learning_rate(self.lr)


def conv_features(shape: tuple[int, ...], width: int, out_dim: int) -> nn.Sequential:
    """Two (3x3 conv, ReLU, 2x2 max-pool) stages and a linear map to ``out_dim``."""
    channels, height, width_px = shape
    side = (height // 4) * (width_px // 4)
    check(side > 0, f"dann's convolutional features need images of at least 4x4, got {tuple(shape)}")
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2 * width * side, out_dim), nn.ReLU())


class DANN(Model):
    name = "dann"
    Config = DANNConfig
    two_domains = True
    classifies = True
    networks = ("features", "classifier", "domain_classifier")
    retired_state = ("steps_done",)  # the schedules follow the trainer's state now
    presets = {"moons-rotated": dict(lr=3e-3, batch_size=128, steps=2_000),  # benchmarks/domains.py
               "digits-mnist5k": dict(lr=1e-3, batch_size=64, steps=2_000)}

    def __init__(self, config: DANNConfig, **networks):
        super().__init__(config, **networks)
        c = config
        self.features = self.network_for("features", lambda: (
            nn.Sequential(mlp(c.data_shape[0], c.feature_dim, c.hidden, c.layers), nn.ReLU())
            if len(c.data_shape) == 1 else conv_features(tuple(c.data_shape), c.width, c.feature_dim)))
        self.classifier = self.network_for("classifier", lambda: mlp(c.feature_dim, c.num_classes, c.hidden, 1))
        self.domain_classifier = self.network_for("domain_classifier", lambda: mlp(c.feature_dim, 1, c.hidden, 1))

    def network_examples(self):
        """features: (B, *data_shape) -> (B, feature_dim); classifier: (B, feature_dim) ->
        (B, num_classes) logits; domain_classifier: (B, feature_dim) -> (B, 1) logits."""
        c = self.config
        f = torch.zeros(2, c.feature_dim)
        return {"features": ((torch.zeros(2, *c.data_shape),), (2, c.feature_dim)),
                "classifier": ((f,), (2, c.num_classes)), "domain_classifier": ((f,), (2, 1))}

    def progress(self, state) -> float:
        """p of both schedules: the run's progress, or step / ``schedule_steps``; 1 outside training."""
        if state is None:
            return 1.0
        if self.config.schedule_steps:
            return min((state.step - 1) / self.config.schedule_steps, 1.0)
        return state.progress

    def coefficient(self, state=None) -> float:
        """lambda at ``state``: 0 at the start, nearly ``domain_weight`` at the end."""
        return self.config.domain_weight * grl_coefficient(self.progress(state), self.config.gamma)

    def optimizers(self):
        return {"adam": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def learning_rates(self, state):
        return {"adam": annealed_lr(self.config.lr, self.progress(state))}

    def phases(self):
        return [Phase("train", "adam", self.loss)]

    def loss(self, x, y, state=None):
        if not isinstance(x, (tuple, list)):
            raise DataError("dann trains on two domains: pass (x_source, x_target)")
        if y is None:
            raise DataError("dann needs the labels of domain A (the source); its data has none")
        xa, xb = x
        lam = self.coefficient(state)
        f = self.features(torch.cat([xa, xb]))                     # (Na + Nb, feature_dim)
        class_loss = F.cross_entropy(self.classifier(f[:len(xa)]), y)
        domain_logits = self.domain_classifier(reverse_gradient(f, lam)).squeeze(1)
        domain = torch.cat([torch.zeros(len(xa)), torch.ones(len(xb))]).to(domain_logits)
        domain_loss = F.binary_cross_entropy_with_logits(domain_logits, domain)
        with torch.no_grad():
            domain_accuracy = ((domain_logits > 0).float() == domain).float().mean()
        return {"loss": class_loss + domain_loss, "class_loss": class_loss.detach(),
                "domain_loss": domain_loss.detach(), "domain_accuracy": domain_accuracy,
                "lambda": torch.tensor(lam)}

    def check_data(self, data) -> None:
        if data.y is None or bool((data.y[data.domain == 0] < 0).any()):
            raise DataError(f"dann needs labels for domain A (the source) of {data.name}; it has none")

    # --- use -------------------------------------------------------------------------------

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """(N, num_classes) class probabilities."""
        shape = tuple(self.config.data_shape)
        if tuple(x.shape[1:]) != shape:
            raise DataError(f"dann was trained on examples of shape {shape}, got {tuple(x.shape[1:])}")
        return self.classifier(self.features(x.to(self.device))).softmax(1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) predicted class labels."""
        return self.predict_proba(x).argmax(1)

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
        hits = sum(int((self.predict(x[i:i + batch_size]).cpu() == y[i:i + batch_size].cpu()).sum())
                   for i in range(0, len(x), batch_size))
        return hits / len(x)

    def evaluate(self, data) -> dict[str, float]:
        """Held-out accuracy on the source (A) and, where it has labels, the target (B)."""
        if data.domain is None:
            return {} if data.y is None else {"accuracy": self.accuracy(data.x, data.y)}
        out = {}
        for key, which in (("source_accuracy", "a"), ("target_accuracy", "b")):
            part = data.part(which)
            if part.y is not None:
                out[key] = self.accuracy(part.x, part.y)
        return out

    def sample(self, n, *, labels=None, generator=None, **settings):
        raise ConfigError("dann is a classifier: it predicts labels (model.predict(x)) and draws no samples")
