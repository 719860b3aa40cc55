"""Five more claims of the lecture notes, each at its quick budget: the direction every claim
states is asserted on its numbers, with wide margins (n-gram over-fitting, PixelCNN's blind
spot, DDIM's speed, StyleGAN's truncation, the generative trilemma)."""

import math

import numpy as np
import pytest
from PIL import Image

from genlab.explain import CLAIMS, Claim, run_claim
from genlab.explain.pixels import TARGET, blind_spot, future
from genlab.explain.trilemma import best_axes
from conftest import claim_column as column

SIZES = {"ngram-order": (1000, 420), "pixelcnn-blind-spot": (800, 340), "ddim-steps": (1000, 400),
         "truncation": (1000, 420), "trilemma": (1000, 380)}

pytestmark = pytest.mark.usefixtures("one_thread_for_the_module")  # the claims train: one thread


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("explain-more")


def quick(name: str, out) -> Claim:
    return run_claim(name, out, quick=True)


@pytest.fixture(scope="module")
def ngram(out):
    return quick("ngram-order", out)


@pytest.fixture(scope="module")
def pixels(out):
    return quick("pixelcnn-blind-spot", out)


@pytest.fixture(scope="module")
def ddim(out):
    return quick("ddim-steps", out)


@pytest.fixture(scope="module")
def truncation(out):
    return quick("truncation", out)


@pytest.fixture(scope="module")
def trilemma(out):
    return quick("trilemma", out)


# --------------------------------------------------------------------------- ngram-order

def test_training_perplexity_falls_with_the_order_and_held_out_turns_up(ngram):
    assert column(ngram, "n") == [1, 2, 3, 4, 5, 6]
    for name in ("MLE train", "KN train"):
        train = column(ngram, name)
        assert all(b < 0.95 * a for a, b in zip(train, train[1:])), (name, train)   # falls at every order
    assert column(ngram, "MLE train")[-1] < 2.0                                     # memorised, nearly
    held = column(ngram, "add-k held-out")
    assert held[-1] > 3 * min(held) and int(np.argmin(held)) < 3, held              # turns up, by far
    for smoothing in ("KN", "add-k"):                                               # a generalisation gap
        train, held = column(ngram, f"{smoothing} train"), column(ngram, f"{smoothing} held-out")
        assert all(h > 1.5 * t for t, h in list(zip(train, held))[2:]), smoothing


def test_unsmoothed_held_out_perplexity_is_infinite_and_kneser_ney_contains_the_damage(ngram):
    unseen, mle = column(ngram, "% held-out unseen"), column(ngram, "MLE held-out")
    assert unseen[0] < 1 and all(b > a for a, b in zip(unseen, unseen[1:])) and unseen[-1] > 50
    assert math.isfinite(mle[0]) and all(math.isinf(p) for p in mle[1:])
    kn, addk = column(ngram, "KN held-out"), column(ngram, "add-k held-out")
    assert kn[-1] < 1.15 * min(kn)                        # backing off: a high order costs Kneser-Ney little
    assert min(kn) < min(addk) / 1.3 and all(k < a for k, a in list(zip(kn, addk))[1:])


# --------------------------------------------------------------------------- pixelcnn-blind-spot

def test_the_plain_stack_has_a_growing_blind_spot_that_the_gated_stacks_see(pixels):
    plain = [r for r in pixels.rows if r[0] == "plain"]
    gated = [r for r in pixels.rows if r[0] == "gated"]
    assert [r[1] for r in plain] == [r[1] for r in gated] == [3, 5, 7]
    spots = column(pixels, "blind spot")
    assert [r[4] for r in plain] == [3, 10, 21]            # a triangle of 1 + 2 + ... + (layers - 1) pixels
    assert all(r[4] == 0 for r in gated)
    for p, g in zip(plain, gated):                          # the gated field holds all of plain's blind spot
        assert g[5] == p[4] >= 3 and g[2] > p[2] and g[3] > p[3]
    assert max(spots) >= 20


def test_no_field_reaches_the_target_or_a_later_pixel(pixels):
    assert column(pixels, "future pixels in field") == [0] * 6
    later = future()
    assert later[TARGET] and not later[TARGET[0] - 1, -1] and later[TARGET[0] + 1, 0]


def test_the_blind_spot_is_the_unseen_above_right_part_of_the_fields_box():
    field = np.zeros((17, 17), dtype=bool)
    field[TARGET[0] - 2:TARGET[0], TARGET[1] - 2:TARGET[1] + 3] = True       # two full rows above
    field[TARGET[0] - 1, TARGET[1] + 2] = False                              # one hole above-right
    field[TARGET[0] - 2, TARGET[1] - 2] = False                              # a hole above-left: not counted
    spot = blind_spot(field)
    assert spot.sum() == 1 and spot[TARGET[0] - 1, TARGET[1] + 2]


# --------------------------------------------------------------------------- ddim-steps

def test_ddim_buys_the_speed_back_at_little_cost_in_quality(ddim):
    by_steps = {(r[0].split()[0], r[1]): r for r in ddim.rows}
    ancestral, ddim5, ddim10, ddim50 = (by_steps[k] for k in [("ddpm", 1000), ("ddim", 5), ("ddim", 10),
                                                              ("ddim", 50)])
    assert ddim10[2] * 10 <= ancestral[2] and ddim10[3] >= 10            # >= 10x faster
    assert all(r[2] < ancestral[2] for r in ddim.rows[1:])
    assert ddim50[4] < 1.5 * ancestral[4]                                # quality kept at some tens of steps
    assert ddim5[4] > 1.5 * ddim50[4]                                    # and lost with too few


# --------------------------------------------------------------------------- truncation

def test_truncation_trades_recall_for_precision(truncation):
    assert column(truncation, "psi") == [0.0, 0.25, 0.5, 0.75, 1.0]
    precision, recall = column(truncation, "precision"), column(truncation, "recall")
    classes = column(truncation, "classes")
    assert recall[0] <= 0.02 and recall[0] < recall[-1] - 0.05          # diversity falls with psi -> 0
    assert classes[0] <= 2 < classes[-1]
    assert max(precision[:3]) > precision[-1] + 0.05                     # quality rises


# --------------------------------------------------------------------------- trilemma

def test_diffusion_pays_in_speed_and_barely_trained_one_pass_models_in_quality(trilemma, out):
    rows = {r[0]: r for r in trilemma.rows}
    assert list(rows) == ["gmm", "gan", "vae", "ddpm"]
    hq, modes, balance, speed = (column(trilemma, title) for title in (
        "quality: % HQ", "diversity: modes", "reverse KL", "speed: samples/s"))
    gmm, gan, vae, ddpm = range(4)
    assert all(speed[ddpm] * 10 <= speed[m] for m in (gmm, gan, vae))       # diffusion pays in speed
    assert "speed" not in rows["ddpm"][-1]
    assert hq[gmm] >= 90 and modes[gmm] == 8 and balance[gmm] < 0.1          # the data's own family
    assert hq[gan] < hq[gmm] - 20 and hq[vae] < hq[gmm] - 20                 # 30 steps: far from it
    assert rows["gmm"][-1] == "(control)"
    assert any("genlab compare" in n for n in trilemma.notes)
    assert (out / "trilemma-compare-quick" / "compare.json").is_file()


def test_the_trilemma_verdict_reads_each_axis():
    """At 3,000 steps (seen): the GAN is sharpest and fast, the DDPM shares its samples most
    evenly over the modes but is slow, the VAE is only fast: none is best at all three."""
    deep = [["gan", 85.8, 8, 0.033, 491_898], ["vae", 8.7, 7, 1.05, 454_839], ["ddpm", 58.4, 8, 0.011, 1_295]]
    assert [best_axes(r, deep) for r in deep] == [["quality", "speed"], ["speed"], ["diversity"]]
    deep[0][3] = 0.005                                      # a GAN as even as the DDPM would win everything
    assert best_axes(deep[0], deep) == ["quality", "diversity", "speed"]


# --------------------------------------------------------------------------- all five

def test_each_claim_is_registered_and_writes_a_png_a_table_and_notes(ngram, pixels, ddim, truncation, trilemma):
    for claim in (ngram, pixels, ddim, truncation, trilemma):
        assert claim.name in CLAIMS
        assert claim.plot.name == f"{claim.name}.png"
        with Image.open(claim.plot) as img:
            assert img.format == "PNG" and img.size == SIZES[claim.name]
            rgb = np.asarray(img.convert("RGB")).astype(int)
        assert (rgb == 255).all(axis=2).mean() > 0.3                  # a white background,
        assert (rgb.max(axis=2) - rgb.min(axis=2) > 60).sum() > 500    # and coloured marks on it
        table = claim.table()
        assert claim.title in table and all(c in table for c in claim.columns)
        assert len(table.splitlines()) >= len(claim.rows) + 3
        assert len(claim.notes) >= 3 and all(isinstance(n, str) and n for n in claim.notes)
