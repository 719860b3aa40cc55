"""The feature network behind genlab's image metrics: a small CNN that genlab trains itself.

Frechet distance, KID, precision/recall and density/coverage are usually computed on
Inception-v3 features (Heusel et al. 2017), which need a downloaded network trained on
ImageNet. genlab instead trains a small classifier on the dataset's own train split, with a
fixed seed, and uses its penultimate layer as features and its softmax for class
statistics (docs/EVALUATION.md, "Image metrics without downloaded networks").

A trained network is cached in ``<cache_dir>/<fingerprint[:16]>-seed<seed>/`` as
``model.safetensors`` plus ``meta.json``; the fingerprint is the SHA-256 of the train
images, labels and shape, so a different dataset never reuses another's network. The meta
records the test accuracy and the weights hash that every score is reported with.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import Dataset
from ..errors import CheckpointError, DataError
from ..io import atomic_write, read_json, sha256, write_json
from ..nn.conv import conv_block

FORMAT = "genlab-feature-net"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
META = "meta.json"


@dataclass
class FeatureNetConfig:
    """Architecture, sized from one image's shape (C, H, W) and the number of classes."""

    in_channels: int
    height: int
    width: int
    num_classes: int
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])
    feature_dim: int = 128


@dataclass
class TrainSettings:
    """Adam on cross-entropy; enough epochs for about ``min_steps`` updates."""

    batch_size: int = 64
    lr: float = 2e-3
    min_steps: int = 1000
    max_epochs: int = 20
    max_shift: int = 1            # random translation by up to this many pixels (augmentation)


def pool_plan(side: int, stages: int) -> list[bool]:
    """Which conv stages end in a 2x2 max-pool, for images whose smaller side is ``side``.

    Halve while at least 4 pixels remain, so 8x8 ends at 2x2 and 28x28 at 7x7; the last
    stage pools only if more than 8 pixels remain (large images stay cheap).
    """
    plan = []
    for i in range(stages):
        pool = side >= 4 and (i < stages - 1 or side > 8)
        plan.append(pool)
        side = side // 2 if pool else side
    return plan


class FeatureNet(nn.Module):
    """Conv stages, global average pooling, a ``feature_dim`` layer, a linear classifier.

    ``features`` returns the penultimate layer (after its ReLU): what the classifier head
    sees. ``meta`` holds the training record (accuracy, weights hash, dataset) once trained.
    """

    def __init__(self, config: FeatureNetConfig):
        super().__init__()
        self.config = config
        widths = [config.in_channels, *config.channels]
        plan = pool_plan(min(config.height, config.width), len(config.channels))
        self.body = nn.Sequential(*[conv_block(a, b, pool) for a, b, pool in zip(widths[:-1], widths[1:], plan)])
        self.embed = nn.Sequential(nn.Linear(widths[-1], config.feature_dim), nn.ReLU())
        self.head = nn.Linear(config.feature_dim, config.num_classes)
        self.meta: dict = {}
        self.cached = False       # True when this network was read from the cache

    @property
    def num_features(self) -> int:
        return self.config.feature_dim

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x).mean(dim=(2, 3))                 # (N, C_last): global average pool
        return self.embed(h)                              # (N, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, K)."""
        return self.head(self.embedding(x))

    @torch.no_grad()
    def _batched(self, fn, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        try:
            out = [fn(x[i:i + batch_size].to(device, torch.float32)).cpu() for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(out) if out else torch.empty(0, self.config.feature_dim)

    def features(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Penultimate-layer features (N, feature_dim) of images ``x`` (N, C, H, W) in [0, 1]."""
        return self._batched(self.embedding, x, batch_size)

    def probs(self, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Class probabilities p(y|x) (N, K)."""
        return self._batched(lambda b: self(b).softmax(dim=1), x, batch_size)

    def accuracy(self, data: Dataset) -> float:
        """Fraction of ``data`` classified correctly."""
        pred = self.probs(data.x).argmax(dim=1)
        return float((pred == data.y.cpu()).double().mean())


# --- training -------------------------------------------------------------------------------

def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels, filling with zeros (augmentation)."""
    if max_shift < 1:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, [max_shift] * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
    out = torch.empty_like(x)
    # Loop over the few distinct offsets rather than the images.
    for oy in range(2 * max_shift + 1):
        for ox in range(2 * max_shift + 1):
            idx = ((dy == oy) & (dx == ox)).nonzero().squeeze(1)
            if len(idx):
                out[idx] = padded[idx, :, oy:oy + h, ox:ox + w]
    return out


def fit(net: FeatureNet, train: Dataset, settings: TrainSettings, seed: int) -> None:
    """Train ``net`` on ``train`` with Adam; every random draw comes from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    x, y = train.x.float().cpu(), train.y.cpu()
    steps_per_epoch = math.ceil(len(x) / settings.batch_size)
    epochs = min(settings.max_epochs, max(1, math.ceil(settings.min_steps / steps_per_epoch)))
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
    # Cosine decay to zero: the last epochs settle the weights instead of bouncing around.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, settings.lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.15)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), settings.batch_size):
            idx = perm[i:i + settings.batch_size]
            if len(idx) < 2:            # batch norm needs two examples
                continue
            loss = F.cross_entropy(net(random_shift(x[idx], settings.max_shift, g)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    net.eval()


def fingerprint(data: Dataset) -> str:
    """SHA-256 of the images, the labels and the shape: which data a network was trained on."""
    h = hashlib.sha256()
    h.update(repr(tuple(data.x.shape)).encode())
    h.update(data.x.detach().cpu().float().contiguous().numpy().tobytes())
    h.update(data.y.detach().cpu().long().contiguous().numpy().tobytes())
    return h.hexdigest()


def default_cache_dir() -> Path:
    return Path(os.environ.get("GENLAB_CACHE") or Path.home() / ".cache" / "genlab" / "features")


def _check_labelled(data: Dataset) -> None:
    if data.y is None:
        raise DataError(f"feature network needs labelled data: {data.name} has no labels")
    if data.kind != "image" and data.x.dim() != 4:
        raise DataError(f"feature network needs images (N, C, H, W): {data.name} has shape {tuple(data.x.shape)}")


def config_for(train: Dataset, test: Dataset) -> FeatureNetConfig:
    c, h, w = train.shape
    k = max(train.num_classes, int(train.y.max()) + 1, int(test.y.max()) + 1)
    return FeatureNetConfig(in_channels=c, height=h, width=w, num_classes=k)


# --- cache ----------------------------------------------------------------------------------

def _save(net: FeatureNet, directory: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    atomic_write(directory / WEIGHTS, lambda tmp: save_file(state, tmp))
    net.meta["weights_sha256"] = sha256(directory / WEIGHTS)
    write_json(directory / META, net.meta)


def _load(directory: Path, expected: dict) -> FeatureNet | None:
    """The cached network, or None when it is missing, damaged or made for other settings."""
    from safetensors.torch import load_file

    try:
        meta = read_json(directory / META, "feature network meta")
        weights = directory / WEIGHTS
        if any(meta.get(k) != v for k, v in expected.items()) or not weights.is_file():
            return None
        if meta.get("weights_sha256") != sha256(weights):
            return None         # tampered or truncated: retrain rather than trust it
        net = FeatureNet(FeatureNetConfig(**meta["architecture"]))
        net.load_state_dict(load_file(weights))
    except (CheckpointError, OSError, ValueError, RuntimeError, TypeError, KeyError):
        return None
    net.meta, net.cached = meta, True
    return net.eval()


def feature_network(train: Dataset, test: Dataset, *, seed: int = 0,
                    cache_dir: str | os.PathLike | None = None,
                    settings: TrainSettings | None = None) -> FeatureNet:
    """The feature network for ``train``: read from the cache, or trained and cached.

    Training runs inside ``torch.random.fork_rng`` so the caller's random state is the same
    afterwards whether or not the network was cached.
    """
    _check_labelled(train)
    _check_labelled(test)
    settings = settings or TrainSettings()
    config = config_for(train, test)
    fp = fingerprint(train)
    directory = Path(cache_dir or default_cache_dir()) / f"{fp[:16]}-seed{seed}"
    expected = {"format": FORMAT, "format_version": FORMAT_VERSION, "fingerprint": fp, "seed": seed,
                "architecture": asdict(config), "training": asdict(settings)}
    net = _load(directory, expected)
    if net is not None:
        return net
    print(f"genlab: training the feature network for {train.name} (once: it is cached in {directory})",
          file=sys.stderr, flush=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)          # weight initialisation
        net = FeatureNet(config)
        start = time.perf_counter()
        fit(net, train, settings, seed)
        seconds = time.perf_counter() - start
    net.meta = {**expected, "dataset": train.name, "n_train": len(train), "n_test": len(test),
                "test_accuracy": net.accuracy(test), "train_seconds": round(seconds, 2)}
    _save(net, directory)
    print(f"genlab: feature network trained in {seconds:.0f} s, test accuracy {net.meta['test_accuracy']:.4f}",
          file=sys.stderr, flush=True)
    return net
