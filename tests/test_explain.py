"""The lecture notes' claims, measured: each table shows what the claim says it should."""

import math

import numpy as np
import pytest
from PIL import Image

from genlab.errors import ConfigError
from genlab.explain import CLAIMS, Claim, claim_function, run_claim
from genlab.explain.divergences import optimal_d


@pytest.fixture(scope="module")
def claims(tmp_path_factory) -> dict[str, Claim]:
    out = tmp_path_factory.mktemp("explain")
    return {name: run_claim(name, out) for name in SERIES}  # the three claims of this file; the others have their own


def test_js_saturates_while_w1_grows_linearly(claims):
    rows = claims["js-vs-wasserstein"].rows
    disjoint = [r for r in rows if r[3] == "yes"]
    assert len(disjoint) >= 10
    for d, js, w1, _ in disjoint:
        assert abs(js - math.log(2)) < 1e-6
    d, w1 = np.array([r[0] for r in rows]), np.array([r[2] for r in rows])
    slope, intercept = np.polyfit(d, w1, 1)
    assert slope == pytest.approx(1.0, abs=1e-6) and intercept == pytest.approx(0, abs=1e-6)
    assert rows[0][1] == 0.0 and 0 < rows[1][1] < math.log(2)          # overlap: below log 2


def test_forward_kl_covers_modes_reverse_kl_seeks_one(claims):
    forward, reverse = claims["kl-asymmetry"].rows
    assert forward[1] == pytest.approx(0.0) and forward[2] == pytest.approx(4.25)
    assert abs(reverse[1]) == pytest.approx(2.0, abs=0.1)               # on one mode
    assert reverse[2] == pytest.approx(0.25, abs=0.05)
    assert reverse[4] == pytest.approx(math.log(2), abs=0.01)          # half of p's mass missed
    for _, _, _, kl_pq, kl_qp in (forward, reverse):
        assert abs(kl_pq - kl_qp) > 0.5                                 # not symmetric
    assert forward[3] < reverse[3] and reverse[4] < forward[4]         # each wins its own KL


def test_learned_discriminator_is_close_to_the_optimal_one(claims):
    rows = claims["optimal-discriminator"].rows
    for x, p, q, d_star, d_learned in rows:
        assert d_star == pytest.approx(p / (p + q))
        if abs(x) <= 2:                                                 # high-density region
            assert abs(d_learned - d_star) < 0.1
    crossing = [r for r in rows if r[0] == 0.0][0]
    assert crossing[1] == crossing[2] and crossing[3] == 0.5           # p = q: exactly 1/2


def test_optimal_d_is_one_half_everywhere_when_p_equals_q():
    x = np.linspace(-5, 5, 101)
    log_p = lambda v: -0.5 * v**2 + np.sin(v)                           # noqa: E731
    assert (optimal_d(x, log_p, log_p) == 0.5).all()


SERIES_RGB = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]  # explain.COLOURS in order
SERIES = {"js-vs-wasserstein": 3, "kl-asymmetry": 3, "optimal-discriminator": 4}  # curves in each plot


def test_each_claim_writes_a_png_and_a_table(claims):
    for name, claim in claims.items():
        with Image.open(claim.plot) as img:
            assert img.format == "PNG" and img.size == (560, 400)
            rgb = np.asarray(img.convert("RGB")).astype(int)
        assert (rgb == 255).all(axis=2).mean() > 0.5                   # a white background
        for colour in SERIES_RGB[:SERIES[name]]:                         # every curve is drawn
            assert (abs(rgb - colour) < 30).all(axis=2).sum() > 100, (name, colour)  # more than its legend key
        table = claim.table()
        assert claim.title in table and all(c in table for c in claim.columns)
        assert len(table.splitlines()) >= len(claim.rows) + 3
        assert claim.name == name and claim.plot.name == f"{name}.png"


def test_unknown_claim_lists_the_valid_ones(tmp_path):
    with pytest.raises(ConfigError, match="js-vs-wasserstein"):
        run_claim("no-such-claim", tmp_path)


def test_every_registered_claim_resolves_and_is_listed(capsys):
    from genlab.cli import main

    for name in CLAIMS:
        assert callable(claim_function(name))
    assert main(["explain"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[:-1]]
    assert listed == list(CLAIMS) and len(CLAIMS) >= 12
