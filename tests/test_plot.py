"""Pictures: grids and scatters are real PNGs of the expected size, written atomically."""

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import load_dataset
from genlab.plot import save_image_grid, save_samples, save_scatter


def test_image_grid_size_upscaling_and_clamping(tmp_path):
    x = torch.zeros(6, 1, 8, 8)
    x[0] = 2.0                                               # out of range: clamped to white
    x[1] = float("nan")
    path = save_image_grid(x, tmp_path / "grid.png", nrow=3)
    img = Image.open(path)
    # 8x8 upscaled 4x -> 32 px tiles; 3 per row, 2 rows, 1 px padding around each tile.
    assert img.size == (3 * 33 + 1, 2 * 33 + 1) and img.mode == "L"
    pixels = np.asarray(img)
    assert pixels[1:33, 1:33].min() == 255 and pixels[1:33, 34:66].max() == 0
    assert pixels[0, 0] == pixels[33, 10] == 128             # the padding
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]   # no temporary left behind


def test_image_grid_rgb_and_explicit_scale(tmp_path):
    x = torch.rand(5, 3, 10, 12)
    img = Image.open(save_image_grid(x, tmp_path / "sub" / "rgb.png", scale=1))
    assert img.mode == "RGB" and img.size == (3 * 13 + 1, 2 * 11 + 1)
    top_left = np.asarray(img)[1:11, 1:13].transpose(2, 0, 1)
    assert np.abs(top_left / 255 - x[0].numpy()).max() <= 0.5 / 255 + 1e-6


def test_image_grid_rejects_non_images(tmp_path):
    with pytest.raises(ValueError):
        save_image_grid(torch.zeros(4, 2), tmp_path / "x.png")


def test_scatter_draws_samples_over_reference(tmp_path):
    data = load_dataset("ring8", n=400)
    samples = data.x.clone()
    samples[0] = float("nan")                                # a diverged sample is skipped
    path = save_scatter(samples, tmp_path / "scatter.png", reference=data.modes, size=200)
    img = Image.open(path).convert("RGB")
    assert img.size == (200, 200)
    pixels = np.asarray(img).reshape(-1, 3)
    colours = {tuple(p) for p in pixels}
    assert (255, 255, 255) in colours and len(colours) > 2
    blue = (pixels[:, 2] > 150) & (pixels[:, 0] < 100)
    assert blue.sum() > 20


def test_scatter_keeps_aspect_ratio(tmp_path):
    # A circle must stay round: the bounding box of drawn pixels is about square.
    # One far point stretches the y range only; the window must stay square anyway.
    angle = torch.linspace(0, 6.283, 500)
    circle = torch.stack([angle.cos(), angle.sin()], 1)
    tall = torch.cat([circle, torch.tensor([[0.0, 3.0]])])
    img = np.asarray(Image.open(save_scatter(tall, tmp_path / "c.png", size=300)).convert("L"))
    rows, cols = np.nonzero(img < 200)
    width = cols.max() - cols.min()
    circle_rows = rows[rows > rows.min() + 10]
    height = circle_rows.max() - circle_rows.min()
    assert abs(width - height) <= 0.1 * width


@pytest.mark.parametrize("kind, x, size", [
    ("image", torch.rand(4, 1, 8, 8), (2 * 33 + 1, 2 * 33 + 1)),
    ("points", torch.randn(100, 2), (400, 400)),
    ("points", torch.randn(100, 5), (400, 400)),
])
def test_save_samples_dispatches_on_kind(tmp_path, kind, x, size):
    img = Image.open(save_samples(x, tmp_path / "s.png", kind))
    assert img.size == size and img.format == "PNG"


def test_save_samples_unknown_kind(tmp_path):
    with pytest.raises(ValueError):
        save_samples(torch.zeros(3, 2), tmp_path / "s.png", "audio")
