"""The GAN claims of the lecture notes at their quick budget: mode collapse and the saturating
minimax loss, each table showing the direction its claim says."""

import numpy as np
import pytest
from PIL import Image

from genlab.explain import CLAIMS, run_claim
from genlab.explain.gans import CLUMP_REGIONS, collapse_runs
from conftest import claim_column as column

NAMES = ("mode-collapse", "minimax-saturation")
SIZES = {"mode-collapse": (1400, 400), "minimax-saturation": (920, 400)}

pytestmark = pytest.mark.usefixtures("one_thread_for_the_module")  # the claims train: one thread


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain-gans")
    return {name: run_claim(name, out, quick=True) for name in NAMES}


def test_the_claims_are_registered():
    for name in NAMES:
        assert name in CLAIMS and CLAIMS[name][1].startswith("gans:")


def test_the_default_gan_collapses_where_wgan_gp_and_ddpm_spread_out(claims):
    claim = claims["mode-collapse"]
    shorts = [short for short, _, _ in collapse_runs(quick=True).values()]
    for short in shorts:
        for what in ("modes", "regions"):
            values = column(claim, f"{short} {what}")
            assert len(values) >= 5 and all(0 <= v <= 8 for v in values)
    steps = column(claim, "step")
    assert steps == sorted(steps) and steps[0] > 0
    gan = column(claim, "GAN regions")                    # genlab's default gan: one clump
    assert sum(r <= CLUMP_REGIONS for r in gan) >= 0.75 * len(gan), gan
    assert max(column(claim, "GAN modes")) <= 2
    for short in ("WGAN-GP", "DDPM"):                     # spread over every mode's region
        regions = column(claim, f"{short} regions")
        assert regions[-1] == 8 and sum(r <= CLUMP_REGIONS for r in regions) <= 1, (short, regions)


def test_the_minimax_gradient_vanishes_when_d_is_confident(claims):
    rows = claims["minimax-saturation"].rows               # D steps, D(G(z)), D(x), ns, minimax, ratio
    d_fake = [r[1] for r in rows]
    assert d_fake[0] > 0.3 and min(d_fake) < 0.01         # from unsure to confident
    assert 0.5 < rows[0][5] < 1.5                          # D ~ 1/2: the two losses agree
    assert sum(r[1] < 0.1 for r in rows) >= 3
    for _, d, d_real, ns, mm, ratio in rows:
        assert ratio == pytest.approx(mm / ns)
        if d < 0.1:
            assert mm < ns / 5, (d, mm, ns)                # minimax: 1/5 of the gradient or less
            assert d_real > 0.8                            # D really is confident
        if d < 0.01:
            assert mm < ns / 20, (d, mm, ns)
    confident = [r for r in rows if r[1] < 0.1]
    assert confident[-1][4] < rows[0][4] < confident[-1][3]   # minimax fell, non-saturating grew


def test_each_claim_writes_its_png_table_and_notes(claims):
    for name, claim in claims.items():
        with Image.open(claim.plot) as img:
            assert img.format == "PNG" and img.size == SIZES[name]
            rgb = np.asarray(img.convert("RGB")).astype(int)
        assert (rgb == 255).all(axis=2).mean() > 0.5        # a white background with something drawn
        assert (rgb != 255).any(axis=2).mean() > 0.02
        assert claim.name == name and claim.plot.name == f"{name}.png"
        assert len(claim.notes) >= 3 and all(len(note) > 20 for note in claim.notes)
        table = claim.table()
        assert claim.title in table and all(c in table for c in claim.columns)
