"""`genlab eval` and `genlab.evaluate`: the right metrics for the data, real-vs-real beside
every score, the protocol stored, and bad requests refused in one line."""

import json

import numpy as np
import pytest
import torch

import genlab
from genlab.data import toys
from genlab.evaluation import evaluate
from conftest import assert_one_line_error, assert_succeeded, run_main

pytestmark = pytest.mark.usefixtures("one_thread")


def train_run(capsys, out, model, data, steps=60, *sets):
    args = ["train", model, "--data", data, "--steps", steps, "--out", out, "--no-progress",
            "--set", "hidden=32", "--set", "layers=1", *sets]
    assert_succeeded(run_main(capsys, *args))
    return out


def test_eval_gan_ring8_writes_scores_and_protocol(tmp_path, capsys):
    run = train_run(capsys, tmp_path / "gan", "gan", "ring8", 100, "--set", "latent_dim=2")
    result = run_main(capsys, "eval", run, "--n", 1000)
    assert_succeeded(result)
    assert "real vs real" in result.stdout and str(run / "eval.json") in result.stdout
    saved = json.loads((run / "eval.json").read_text())
    scores, protocol = saved["scores"], saved["protocol"]
    assert {"modes", "hq_percent", "reverse_kl", "sliced_w1", "mmd2_rbf"} <= set(scores)
    # the real-vs-real column is the true mixture: all modes, ~98.9 % HQ (1 - exp(-4.5))
    assert scores["modes"]["real"] == 8
    assert abs(scores["hq_percent"]["real"] - 98.9) < 1.5
    assert scores["sliced_w1"]["real"] < scores["sliced_w1"]["model"]
    assert protocol["n"] == 1000 and protocol["seed"] == 0 and protocol["data"] == "ring8"
    assert protocol["split"]["test_fraction"] == 0.2


def test_eval_vae_digits_image_metrics_and_likelihood(tmp_path, capsys):
    run = train_run(capsys, tmp_path / "vae", "vae", "digits", 100)
    result = run_main(capsys, "eval", run, "--n", 300)
    assert_succeeded(result)
    saved = json.loads((run / "eval.json").read_text())
    scores, protocol = saved["scores"], saved["protocol"]
    assert protocol["feature_net"]["test_accuracy"] >= 0.95
    assert len(protocol["feature_net"]["weights_sha256"]) == 64
    for key in ("frechet_distance", "kid", "precision", "recall", "density", "coverage",
                "inception_score", "classes_hit", "negative_elbo", "iwae_nll", "bits_per_dim"):
        assert key in scores, key
    # a 100-step VAE is far from the data; real images are close to real images
    assert scores["frechet_distance"]["model"] > 3 * scores["frechet_distance"]["real"]
    assert scores["classes_hit"]["real"] == 10
    assert scores["iwae_nll"]["model"] <= scores["negative_elbo"]["model"] + 1e-3
    assert "accuracy" in result.stdout


def test_eval_cgan_scores_the_class_it_asked_for(tmp_path, capsys):
    out = tmp_path / "cgan"
    assert_succeeded(run_main(capsys, "train", "cgan", "--data", "digits", "--steps", 300, "--out", out,
                              "--no-progress", "--set", "backbone=conv", "--set", "latent_dim=32",
                              "--set", "width=16"))
    assert_succeeded(run_main(capsys, "eval", out, "--n", 300, "--metrics", "classes"))
    scores = json.loads((out / "eval.json").read_text())["scores"]
    accuracy = scores["conditional_accuracy"]
    # balanced labels 0..9 asked for; the classifier itself is >= 0.95 on real digits
    assert accuracy["real"] >= 0.95
    assert accuracy["model"] >= 0.25, accuracy  # seen: 0.38 after 300 steps; labels ignored would give ~0.1


def test_evaluate_samples_of_the_true_mixture():
    train, test = genlab.load_dataset("ring8").split(0.2, seed=0)
    samples = toys.sample("ring8", 2500, torch.Generator().manual_seed(5))
    scores = evaluate(samples, train, test, metrics=["modes"])["scores"]
    assert scores["modes"]["model"] == 8
    assert scores["reverse_kl"]["model"] < 0.01


def test_bad_eval_requests_are_one_line(tmp_path, capsys):
    run = train_run(capsys, tmp_path / "vae", "vae", "digits", 5)
    assert_one_line_error(run_main(capsys, "eval", run, "--metrics", "fid,nope"), "unknown metric")
    assert_one_line_error(run_main(capsys, "eval", run, "--n", 5000), "5000")
    assert_one_line_error(run_main(capsys, "eval", run, "--metrics", "modes"), "modes")
    assert_one_line_error(run_main(capsys, "eval", tmp_path / "missing"), "missing")


def test_label_metric_on_unlabelled_images_is_one_line(tmp_path, capsys, monkeypatch):
    digits = genlab.load_dataset("digits", n=300)
    np.savez(tmp_path / "unlabelled.npz", x=(digits.x[:, 0] * 255).round().numpy().astype(np.uint8))
    monkeypatch.chdir(tmp_path)
    run = train_run(capsys, tmp_path / "vae", "vae", "unlabelled.npz", 5)
    assert_one_line_error(run_main(capsys, "eval", run, "--metrics", "features"), "labelled")


def test_genlab_evaluate_is_the_documented_function_on_a_whole_dataset():
    data = genlab.load_dataset("ring8")
    samples = toys.sample("ring8", 2500, torch.Generator().manual_seed(1))
    for _ in range(2):  # the second call must not find a module under the same name
        scores = genlab.evaluate(samples, data, metrics=["modes"])["scores"]
        assert scores["modes"]["model"] == 8
