"""The autoencoder claims of the lecture notes at their quick budget: prior samples of an
autoencoder and a VAE against a GAN's, and the IWAE bound against the ELBO."""

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.explain import CLAIMS, run_claim
from genlab.explain.autoencoders import sharpness

NAMES = ("autoencoder-vs-vae", "elbo-vs-iwae")
SIZES = {"autoencoder-vs-vae": (1200, 440), "elbo-vs-iwae": (560, 400)}

pytestmark = pytest.mark.usefixtures("one_thread_for_the_module")  # the claims train: one thread


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain-autoencoders")
    return {name: run_claim(name, out, quick=True) for name in NAMES}


def test_the_claims_are_registered():
    for name in NAMES:
        assert name in CLAIMS and CLAIMS[name][1].startswith("autoencoders:")


def test_sharpness_is_high_for_edges_and_zero_for_flat_images():
    flat = np.full((2, 1, 8, 8), 0.5, dtype=np.float32)
    edges = np.zeros((2, 1, 8, 8), dtype=np.float32)
    edges[..., ::2] = 1.0
    assert sharpness(torch.from_numpy(flat)).abs().max() == 0
    assert (sharpness(torch.from_numpy(edges)) > 1).all()


def test_ae_prior_samples_are_poor_and_vae_samples_blurrier_than_a_gan(claims):
    rows = {row[0]: dict(zip(claims["autoencoder-vs-vae"].columns[1:], row[1:]))
            for row in claims["autoencoder-vs-vae"].rows}
    real, ae, vae, gan = (rows[k] for k in ("real (train images)", "AE (prior samples)", "VAE", "DCGAN"))
    assert "VAE-GAN" in rows
    assert ae["Frechet dist."] > 1.4 * vae["Frechet dist."]          # the autoencoder samples poorly
    assert real["Frechet dist."] < 0.5 * vae["Frechet dist."]        # real images: the floor
    assert vae["sharpness"] < 0.85 * gan["sharpness"]                # the VAE's means are blurred
    assert vae["sharpness"] < 0.85 * real["sharpness"]
    assert vae["classes hit"] == 10


def test_the_iwae_bound_rises_with_k_above_the_elbo(claims):
    rows = claims["elbo-vs-iwae"].rows                     # K, bound, bits/dim, above ELBO, its std. error
    elbo, by_k = rows[0], rows[1:]
    assert elbo[0] == "ELBO" and [r[0] for r in by_k] == sorted(r[0] for r in by_k) and by_k[0][0] == 1
    assert all(r[1] < 0 for r in rows)                     # log-probabilities of discrete levels
    k1, kmax = by_k[0], by_k[-1]
    assert abs(k1[3]) < 4 * k1[4] + 0.05                   # K = 1 is the ELBO in expectation
    assert kmax[3] > 0.5 and kmax[3] > 3 * kmax[4]         # the IWAE bound at the largest K is above it
    for a, b in zip(by_k, by_k[1:]):
        assert b[1] > a[1] - 0.1, (a, b)                   # non-decreasing in K, up to noise
    for r in rows:
        assert r[2] == pytest.approx(-r[1] / (64 * np.log(2)))


def test_each_claim_writes_its_png_table_and_notes(claims):
    for name, claim in claims.items():
        with Image.open(claim.plot) as img:
            assert img.format == "PNG" and img.size == SIZES[name]
            rgb = np.asarray(img.convert("RGB")).astype(int)
        assert (rgb == 255).all(axis=2).mean() > 0.4
        assert (rgb != 255).any(axis=2).mean() > 0.02
        assert claim.name == name and claim.plot.name == f"{name}.png"
        assert len(claim.notes) >= 3 and all(len(note) > 20 for note in claim.notes)
        table = claim.table()
        assert claim.title in table and all(c in table for c in claim.columns)
