"""Pictures: grids (Pillow) and scatters (matplotlib) are real PNGs of the expected size,
written atomically; the points land where they should."""

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


def blue(path) -> np.ndarray:
    """Where the samples are drawn (matplotlib's first colour, 31 119 180): a boolean mask."""
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return (abs(rgb - (31, 119, 180)) < 40).all(axis=2)


def test_scatter_draws_samples_over_reference(tmp_path):
    data = load_dataset("ring8", n=400)
    samples = data.x.clone()
    samples[0] = float("nan")                                # a diverged sample is skipped
    path = save_scatter(samples, tmp_path / "scatter.png", reference=1.3 * data.modes)
    img = Image.open(path)
    assert img.size == (400, 400) and img.format == "PNG"
    pixels = np.asarray(img.convert("RGB")).astype(int)
    assert (pixels == 255).all(axis=2).mean() > 0.5           # a white background
    assert blue(path).sum() > 50

    def grey(p):  # light-grey pixels (the reference's) away from the tick labels (left and bottom)
        rgb = np.asarray(Image.open(p).convert("RGB")).astype(int)[:300, 80:]
        neutral = (rgb.max(axis=2) - rgb.min(axis=2)) < 6
        return (neutral & (rgb[..., 0] >= 180) & (rgb[..., 0] <= 225)).sum()

    alone = save_scatter(samples, tmp_path / "alone.png")
    assert grey(path) > grey(alone) + 8 * 4                   # 8 reference points, some pixels each
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.png", "scatter.png"]  # no temporaries


def test_scatter_points_land_on_equal_scales_with_y_up(tmp_path):
    corners = torch.tensor([[-2.0, -2.0], [2.0, 2.0]])        # the reference fixes the window
    centres = {}
    for x, y in [(0, 0), (1, 0), (0, 1)]:
        mask = blue(save_scatter(torch.tensor([[float(x), float(y)]]), tmp_path / "p.png", corners, size=300))
        rows, cols = np.nonzero(mask)
        centres[x, y] = np.array([cols.mean(), rows.mean()])
    right = centres[1, 0] - centres[0, 0]
    up = centres[0, 1] - centres[0, 0]
    assert right[0] > 40 and abs(right[1]) < 1                 # +x is to the right
    assert up[1] < -40 and abs(up[0]) < 1                      # +y is up (image rows grow down)
    assert abs(right[0] + up[1]) < 1                           # one unit is as long on both axes


def test_scatter_keeps_aspect_ratio(tmp_path):
    # A circle must stay round: the bounding box of its drawn points is about square.
    # One far point stretches the y range only; the window must stay square anyway.
    angle = torch.linspace(0, 6.283, 500)
    circle = torch.stack([angle.cos(), angle.sin()], 1)
    tall = torch.cat([circle, torch.tensor([[0.0, 3.0]])])
    rows, cols = np.nonzero(blue(save_scatter(tall, tmp_path / "c.png", size=300)))
    width = cols.max() - cols.min()
    circle_rows = rows[rows > rows.min() + 10]
    height = circle_rows.max() - circle_rows.min()
    assert width > 60 and abs(width - height) <= 0.05 * width


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
