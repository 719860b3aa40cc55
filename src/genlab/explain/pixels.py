"""Claims about autoregressive image models.

* pixelcnn-blind-spot: a stack of masked 3x3 convolutions (the PixelCNN of van den Oord,
  Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks") never sees a wedge of
  pixels above and to the right of the pixel it predicts, however deep; the vertical and
  horizontal stacks of the Gated PixelCNN (van den Oord et al. 2016, "Conditional Image
  Generation with PixelCNN Decoders", figure 1) see all of them, and both stay causal.

The receptive field of one output pixel is measured, not derived: the gradient of that
pixel's logits with respect to the input image is exactly zero at an input pixel the output
cannot depend on (the masks zero the weights), and non-zero at one it does. No training is
needed: the field is a property of the architecture, so untrained networks with random
weights show it (the gradients are summed over a few random inputs and initialisations, so
that a unit that happens to be inactive cannot hide a pixel).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .claim import Claim

SIDE = 17                       # images SIDE x SIDE, the target pixel at the centre
TARGET = (SIDE // 2, SIDE // 2)
DEPTHS = (3, 5, 7)              # layers of each stack; the figure shows PLOT_DEPTH
PLOT_DEPTH = 5
SHOWN_BELOW = 2                 # rows drawn below the target's (the rest are in the future too)
KERNEL = 3                      # every convolution 3x3, the first one included (the papers' figure)
CHANNELS = 16
STACKS = {"plain": False, "gated": True}   # label -> the pixelcnn ``gated`` setting


def receptive_field(gated: bool, layers: int, seeds: int = 2, inputs: int = 4) -> np.ndarray:
    """(SIDE, SIDE) booleans: the input pixels on which the logits of the TARGET pixel
    depend, for a ``pixelcnn`` with ``layers`` layers (random weights, float64)."""
    import genlab

    total = torch.zeros(SIDE, SIDE, dtype=torch.float64)
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = genlab.create("pixelcnn", data_shape=(1, SIDE, SIDE), n_bins=2, layers=layers, channels=CHANNELS,
                              kernel_size=KERNEL, gated=gated).double()
        x = (2 * torch.rand(inputs, 1, SIDE, SIDE, dtype=torch.float64) - 1).requires_grad_(True)  # in [-1, 1]
        (grad,) = torch.autograd.grad(model.net(x)[:, :, TARGET[0], TARGET[1]].sum(), x)
        total += grad.abs().sum((0, 1))
    return (total > 0).numpy()


def future(shape=(SIDE, SIDE)) -> np.ndarray:
    """The pixels at or after TARGET in raster order: those a causal model may not see."""
    order = np.arange(shape[0] * shape[1]).reshape(shape)
    return order >= TARGET[0] * shape[1] + TARGET[1]


def blind_spot(field: np.ndarray) -> np.ndarray:
    """Pixels above and to the right of TARGET, inside the box the field spans (its highest
    row and its rightmost column), that the field leaves out."""
    rows, cols = np.nonzero(field)
    grid_r, grid_c = np.indices(field.shape)
    if len(rows) == 0:
        return np.zeros_like(field)
    box = (grid_r >= rows.min()) & (grid_r < TARGET[0]) & (grid_c > TARGET[1]) & (grid_c <= cols.max())
    return box & ~field


def pixelcnn_blind_spot(out_dir: Path, quick: bool = False) -> Claim:
    """The plain PixelCNN's blind spot, and the gated stacks without it.

    Both stacks with all-3x3 kernels and 3, 5, 7 layers, on 17x17 images; the field of the
    centre pixel (8, 8). The blind spot is the part of the field's bounding box above and to
    the right of the target that the field leaves out; the gated stack at the same depth is
    checked to see every pixel of the plain stack's blind spot, and both to see no pixel at
    or after the target in raster order. ``quick`` changes nothing: no training is involved.
    """
    later = future()
    fields, rows = {}, []
    for layers in DEPTHS:
        for label, gated in STACKS.items():
            fields[label, layers] = receptive_field(gated, layers)
        for label in STACKS:
            field = fields[label, layers]
            spot = blind_spot(field)
            other = fields["gated" if label == "plain" else "plain", layers]
            rows.append([label, layers, int(field.sum()), int(field[:TARGET[0], TARGET[1] + 1:].sum()),
                         int(spot.sum()), int((blind_spot(other) & field).sum()), int((field & later).sum())])
    plain = [r for r in rows if r[0] == "plain"]
    gated = [r for r in rows if r[0] == "gated"]
    grows = all(b[4] > a[4] > 0 for a, b in zip(plain, plain[1:]))
    notes = [f"plain stack: a blind spot of {', '.join(str(r[4]) for r in plain)} pixels at "
             f"{', '.join(str(r[1]) for r in plain)} layers: "
             + ("it grows with depth, so more layers do not close it" if grows else "it does not grow with depth"),
             f"gated stacks: blind spot {', '.join(str(r[4]) for r in gated)} pixels; they see "
             f"{', '.join(str(r[5]) for r in gated)} of the plain stack's blind-spot pixels at the same depth",
             f"causality: {sum(r[6] for r in rows)} pixels at or after the target in raster order are in any "
             f"field ({len(rows)} fields checked)"]
    plot = _plot(Path(out_dir) / "pixelcnn-blind-spot.png", fields, later)
    return Claim("pixelcnn-blind-spot", "PixelCNN's masked 3x3 stack has a blind spot above-right of the "
                 "pixel it predicts; the gated vertical + horizontal stacks have none; both are causal",
                 ["stack", "layers", "field (pixels)", "above-right in field", "blind spot",
                  "sees other's blind spot", "future pixels in field"], rows, plot, notes)


# categories of the picture, in the order of the colour map
CATEGORIES = ["earlier, not seen", "at or after the target", "in the field", "blind spot", "target"]
CATEGORY_COLOURS = ["#dddddd", "#ffffff", "#1f77b4", "#ff7f0e", "#d62728"]


def _plot(path: Path, fields: dict, later: np.ndarray) -> Path:
    """The two fields at PLOT_DEPTH side by side, each pixel coloured by its category; the
    rows below the target's, all of them in the future, are cut to SHOWN_BELOW."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ..plot import figure, save_figure

    fig = figure(800, 340)
    cmap = ListedColormap(CATEGORY_COLOURS)
    for k, label in enumerate(STACKS):
        field = fields[label, PLOT_DEPTH]
        image = np.where(later, 1, 0)
        image = np.where(field, 2, image)
        image = np.where(blind_spot(field), 3, image)
        image[TARGET] = 4
        image = image[:TARGET[0] + 1 + SHOWN_BELOW]
        ax = fig.add_axes((0.03 + 0.5 * k, 0.12, 0.44, 0.72))
        ax.imshow(image, cmap=cmap, vmin=-0.5, vmax=len(CATEGORIES) - 0.5, interpolation="nearest")
        ax.set_xticks(np.arange(-0.5, SIDE, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, len(image), 1), minor=True)
        ax.grid(which="minor", color="#999999", linewidth=0.4)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        name = "PixelCNN (masked 3x3 convolutions)" if label == "plain" else "Gated PixelCNN (vertical + horizontal)"
        ax.set_title(f"{name}, {PLOT_DEPTH} layers:\n{int(field.sum())} pixels in the field, "
                     f"{int(blind_spot(field).sum())} in the blind spot", fontsize=9)
    fig.legend(handles=[Patch(facecolor=c, edgecolor="#999999", label=t) for t, c in zip(CATEGORIES, CATEGORY_COLOURS)],
               loc="lower center", ncol=len(CATEGORIES), fontsize=8, frameon=False)
    return save_figure(fig, path)
