"""The :class:`Dataset` every genlab model trains on, and the mixture density of the toys.

A dataset is a tensor of examples plus what a model or a metric needs to know about it:
labels, whether it is images or points, how many intensity levels the images have (for
bits/dim, see docs/EVALUATION.md), and for the 2-D mixtures their mode centres and true density.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from ..errors import ConfigError, DataError
from .stores import is_store


def mixture_log_prob(x: torch.Tensor, modes: torch.Tensor, sigma: float) -> torch.Tensor:
    """Log density (nats) of an equal-weight mixture of isotropic Gaussians N(mode, sigma^2 I).

    log p(x) = logsumexp_k(-|x - mu_k|^2 / (2 sigma^2)) - log K - (d/2) log(2 pi sigma^2).
    Returns one value per row of ``x`` (N, d).
    """
    modes = modes.to(device=x.device, dtype=x.dtype)
    k, d = modes.shape
    sq_dist = torch.cdist(x, modes).pow(2)                        # (N, K)
    log_norm = math.log(k) + 0.5 * d * math.log(2 * math.pi * sigma**2)
    return torch.logsumexp(-sq_dist / (2 * sigma**2), dim=1) - log_norm


@dataclass(eq=False)          # tensors have no single truth value, so compare by identity
class Dataset:
    """Examples ``x`` (N, *shape) with optional labels and what is known about their law.

    Images are (N, C, H, W) floats ``level / (n_bins - 1)`` in [0, 1]; points are (N, d)
    raw coordinates; text (see ``data/text.py``) is ``texts`` with ``x`` (N,) the position of
    each example in its source. An image folder holds ``x`` as an image store (uint8 in
    memory, or files streamed from disk: ``data/stores.py``), whose ``store[index]`` gives
    float32 images; :meth:`dense` gives a dataset with a float tensor where one is needed. ``split_info`` is filled by :meth:`split` and ``source`` says in one
    line where the data came from, so that both can be stored with a run.
    """

    name: str
    x: torch.Tensor
    y: torch.Tensor | None = None
    kind: str = "points"
    n_bins: int | None = None
    num_classes: int = 0
    modes: torch.Tensor | None = None
    sigma: float | None = None
    split_info: dict = field(default_factory=dict)
    source: str = ""
    binarized: float | None = None  # the threshold, for images binarised by :meth:`binarize`
    texts: tuple[str, ...] | None = None  # kind "text": the text of each example (x: its position)
    domain: torch.Tensor | None = None  # two-domain data (see data/domains.py): 0 for A, 1 for B
    domains: tuple[str, str] | None = None  # the names of A and B

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (1, 8, 8) or (2,)."""
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return self.x.shape[0]

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple["Dataset", "Dataset"]:
        """Fixed, seeded (train, test) split: the same seed always gives the same halves."""
        if not 0.0 < test_fraction < 1.0:
            raise ConfigError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        n = len(self)
        n_test = int(round(n * test_fraction))
        if n_test < 1 or n_test >= n:
            raise DataError(f"dataset {self.name} with {n} examples is too small to split "
                            f"with test_fraction={test_fraction}")
        # A CPU generator so that the permutation does not depend on the device of x.
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        if self.domain is None:
            test_idx, train_idx = perm[:n_test], perm[n_test:]
        else:  # the same fraction of each domain held out
            parts = [perm[self.domain.cpu()[perm] == k] for k in (0, 1)]
            cut = [int(round(len(p) * test_fraction)) for p in parts]
            if min(min(c, len(p) - c) for c, p in zip(cut, parts)) < 1:
                raise DataError(f"a domain of {self.name} is too small to split with test_fraction={test_fraction}")
            test_idx = torch.cat([p[:c] for p, c in zip(parts, cut)])
            train_idx = torch.cat([p[c:] for p, c in zip(parts, cut)])
            n_test = len(test_idx)
        info = {"seed": seed, "test_fraction": test_fraction, "n_train": n - n_test, "n_test": n_test}
        return self._subset(train_idx, info), self._subset(test_idx, info)

    def part(self, which: str) -> "Dataset":
        """Domain ``"a"`` or ``"b"`` of two-domain data, as a plain dataset (labels of -1 dropped)."""
        if self.domain is None:
            raise DataError(f"{self.name} is one dataset, not two domains")
        k = {"a": 0, "b": 1}[which]
        one = self._subset((self.domain == k).nonzero().squeeze(1), self.split_info)
        y = one.y if one.y is not None and bool((one.y >= 0).all()) else None
        return replace(one, name=self.domains[k], y=y, num_classes=self.num_classes if y is not None else 0,
                       domain=None, domains=None)

    def _subset(self, idx: torch.Tensor, split_info: dict) -> "Dataset":
        idx = idx.to(self.x.device)
        y = None if self.y is None else self.y[idx.to(self.y.device)]
        texts = None if self.texts is None else tuple(self.texts[i] for i in idx.tolist())
        domain = None if self.domain is None else self.domain[idx.to(self.domain.device)]
        x = self.x.subset(idx) if self.stored else self.x[idx]
        return replace(self, x=x, y=y, texts=texts, domain=domain, split_info=dict(split_info))

    @property
    def stored(self) -> bool:
        """``x`` is an image store (uint8 or streamed), not a float tensor."""
        return is_store(self.x)

    def dense(self, limit: int | None = None) -> "Dataset":
        """This dataset with ``x`` a float tensor, for the code that needs the whole tensor
        (metrics, closed-form fits); with ``limit``, its first ``limit`` examples at most
        (a split's order is already a seeded shuffle). Itself when nothing changes."""
        data = self if limit is None or limit >= len(self) else self._subset(torch.arange(limit), self.split_info)
        return replace(data, x=data.x[:]) if data.stored else data

    def binarize(self, threshold: float) -> "Dataset":
        """Images thresholded once at a fixed ``threshold``: x > threshold -> 1, else 0.

        The fixed threshold (not a fresh Bernoulli draw per epoch) keeps the data, and so a
        test NLL in nats per image, the same on every load; it is recorded in ``source``.
        """
        if not 0 < threshold < 1:
            raise ConfigError(f"binarize must be a threshold between 0 and 1, got {threshold}")
        if self.kind != "image":
            raise DataError(f"binarize is for images; {self.name} holds points")
        if self.n_bins == 2 or (self.x.is_binary() if self.stored else bool(((self.x == 0) | (self.x == 1)).all())):
            raise DataError(f"{self.name} is already binary; train on it without binarize")
        x = self.x.binarize(threshold) if self.stored else (self.x > threshold).to(self.x.dtype)
        return replace(self, x=x, n_bins=2, binarized=threshold,
                       source=f"{self.source}; binarised at threshold {threshold}")

    def to(self, device) -> "Dataset":
        """A copy with every tensor on ``device``."""
        def move(t):
            return None if t is None else t.to(device)
        return replace(self, x=move(self.x), y=move(self.y), modes=move(self.modes), domain=move(self.domain))

    def describe(self) -> dict:
        """JSON-able summary, stored with every run next to its config."""
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "n": len(self),
            "n_bins": self.n_bins,
            "num_classes": self.num_classes,
            "source": self.source,
            "binarized": self.binarized,
            "split_info": dict(self.split_info),
            **({} if self.domain is None else {"domains": {"a": self.domains[0], "b": self.domains[1],
                                                           "n_a": int((self.domain == 0).sum()),
                                                           "n_b": int((self.domain == 1).sum())}}),
        }

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """True log density (nats) of ``x`` (N, d); only the Gaussian-mixture toys have one."""
        if self.modes is None or self.sigma is None:
            raise DataError(f"dataset {self.name} has no known density")
        return mixture_log_prob(x, self.modes, self.sigma)
