"""genlab augment: a classifier on k real images per class, with and without generated ones.

One small measurement on digits (a tiny cvae, 2 seeds, k = 5 and all, a short classifier
budget) is shared by the tests that read its results; the bad-input cases stop before any
training.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from genlab import augment
from genlab.cli import main
from genlab.runs import load_split

TINY_CVAE = ["--set", "latent_dim=4", "--set", "hidden=32", "--set", "layers=1", "--set", "batch_size=32"]
QUICK = augment.ClassifierSettings(steps=150, batch_size=32)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """(result, out, seconds): cvae at 300 steps on digits, k = 5 and all, 2 seeds, 30 per class."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("augment") / "digits"
    begin = time.perf_counter()
    result = augment.run_augment(data="digits", models="cvae", k="5,all", seeds=2, per_class=30, out=out,
                                 progress=False, steps=300, device="cpu",
                                 settings={"latent_dim": 4, "hidden": 32, "layers": 1, "batch_size": 32},
                                 classifier=QUICK)
    return result, out, time.perf_counter() - begin


def test_every_cell_has_a_mean_and_standard_error_over_the_seeds(measured):
    result, out, _ = measured
    saved = json.loads((out / "augment.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert set(saved["results"]) == {"real", "real+cvae", "cvae"}
    for row in saved["results"].values():
        assert set(row) == {"5", "all"}
        for cell in row.values():
            assert len(cell["accuracies"]) == 2
            assert cell["mean"] == pytest.approx(np.mean(cell["accuracies"]), abs=1e-4)
            assert cell["stderr"] == pytest.approx(np.std(cell["accuracies"], ddof=1) / np.sqrt(2), abs=1e-4)
    assert (out / "augment.png").stat().st_size > 10_000
    assert saved["classifier"]["training"]["steps"] == QUICK.steps


def test_few_real_images_per_class_classify_clearly_worse_than_all(measured):
    real = measured[0]["results"]["real"]
    assert real["all"]["mean"] > 0.85, real  # seen: 0.962 (chance 0.1)
    assert real["5"]["mean"] < real["all"]["mean"] - 0.04, real  # seen: 0.866
    # the tiny cvae's samples alone still teach the classes asked for (seen: 0.36; chance is 0.1)
    assert measured[0]["results"]["cvae"]["all"]["mean"] > 0.2


def test_each_generator_learns_from_exactly_its_classifiers_real_images(measured):
    _, out, _ = measured
    train, test = augment.load_data("digits")
    for k, seed in (("5", 0), ("5", 1), ("all", 0)):
        record = json.loads((out / f"cvae-k{k}-seed{seed}" / "run.json").read_text())
        assert record["status"] == "complete" and record["train"]["steps"] == 300
        seen, held_out = load_split(record["data"]["spec"])
        real = augment.pick(train, k if k == "all" else int(k), seed)
        assert torch.equal(seen.y, real.y) and torch.allclose(seen.x, real.x)
        test_rows = {tuple(row.tolist()) for row in test.x.flatten(1)}  # held out: test images, never learnt
        assert len(held_out) > 0 and all(tuple(row.tolist()) in test_rows for row in held_out.x.flatten(1))


def test_picks_are_balanced_seeded_and_nested():
    train, _ = augment.load_data("digits")
    small, large, other = augment.pick(train, 3, 0), augment.pick(train, 7, 0), augment.pick(train, 3, 1)
    assert torch.bincount(small.y).tolist() == [3] * 10
    assert torch.bincount(large.y).tolist() == [7] * 10
    assert torch.equal(small.x, augment.pick(train, 3, 0).x)
    large_rows = {tuple(row.tolist()) for row in large.x.flatten(1)}
    assert all(tuple(row.tolist()) in large_rows for row in small.x.flatten(1))
    assert not torch.equal(small.x, other.x)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 9])
def test_a_pick_of_any_size_splits_into_exactly_itself(tmp_path, k):
    train, test = augment.load_data("digits")
    real = augment.pick(train, k, 0)
    seen, _ = load_split(augment.pick_spec(tmp_path, real, test, k, 0))
    assert torch.equal(seen.y, real.y)


def test_a_rerun_reuses_every_generator_and_cell(measured, capsys):
    _, out, first = measured
    runs = sorted(out.glob("cvae-*/run.json"))
    stamps = [p.stat().st_mtime_ns for p in runs]
    begin = time.perf_counter()
    again = augment.run_augment(data="digits", models="cvae", k="5,all", seeds=2, per_class=30, out=out,
                                progress=False, steps=300, device="cpu",
                                settings={"latent_dim": 4, "hidden": 32, "layers": 1, "batch_size": 32},
                                classifier=QUICK)
    assert again["results"] == measured[0]["results"]
    assert [p.stat().st_mtime_ns for p in runs] == stamps
    assert time.perf_counter() - begin < first / 3
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith(f"results in {out / 'augment.json'}")
    assert printed[2].startswith("real only") and "±" in printed[2]


def test_a_generator_made_with_other_settings_is_refused(measured, capsys):
    _, out, _ = measured
    code = main(["augment", "--data", "digits", "--model", "cvae", "--k", "5,all", "--seeds", "2",
                 "--per-class", "30", "--steps", "301", *TINY_CVAE, "--out", str(out), "--no-progress",
                 "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "trained with other settings" in err[0] and "--out" in err[0]


@pytest.fixture
def unlabelled(tmp_path):
    path = tmp_path / "faces.npz"
    np.savez(path, x=np.random.default_rng(0).random((40, 8, 8)).astype(np.float32))
    return str(path)


@pytest.mark.parametrize("args, said", [
    (["--model", "cgam"], "unknown model 'cgam' (did you mean 'cgan'?)"),
    (["--model", "cvae,gan"], "gan is not class-conditional; augment takes the class-conditional models cgan, "
                              "cvae, ddpm"),
    (["--model", "vae"], "vae is not class-conditional"),
    (["--data", "ring8"], "augment classifies images; ring8 holds points"),
    (["--data", "UNLABELLED"], "needs class labels"),
    (["--k", "0"], "positive whole numbers of images per class or 'all', got '0'"),
    (["--k", "10,ten"], "got 'ten'"),
    (["--k", "2.5"], "got '2.5'"),
    (["--k", "-3"], "got '-3'"),
    (["--k", "5,500"], "--k 500 is more than the smallest class of digits's training split has (class 2: 126"),
    (["--seeds", "0"], "--seeds must be a positive whole number, got 0"),
    (["--per-class", "0"], "--per-class must be a positive whole number, got 0"),
    (["--steps", "0"], "--steps must be a positive number"),
    (["--set", "nonsense=1"], "unknown setting 'nonsense' for cvae"),
])
def test_bad_input_is_one_line_and_exit_2(args, said, capsys, tmp_path, unlabelled):
    given = {"--data": "digits", "--model": "cvae"}
    rest = []
    for flag, value in zip(args[::2], args[1::2]):
        if flag in given:
            given[flag] = unlabelled if value == "UNLABELLED" else value
        else:
            rest += [flag, value]
    argv = ["augment", *[a for kv in given.items() for a in kv], *rest, "--out", str(tmp_path / "out"),
            "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("genlab: error: "), err
    assert said in err[0]
    assert not list((tmp_path / "out").glob("cvae-*"))  # nothing trained


def test_ddpm_trains_conditional_and_samples_with_guidance(tmp_path):
    """A tiny ddpm end to end: augment switches conditioning on and guides its samples."""
    torch.set_num_threads(1)
    tiny = {"timesteps": 20, "sampling_steps": 5, "width": 8, "levels": [1, 2], "batch_size": 16}
    result = augment.run_augment(data="digits", models="ddpm", k="2", seeds=1, per_class=3, out=tmp_path,
                                 progress=False, steps=20, device="cpu", settings=tiny,
                                 classifier=augment.ClassifierSettings(steps=5, batch_size=8))
    config = json.loads((tmp_path / "ddpm-k2-seed0" / "run.json").read_text())["model_config"]
    assert config["conditional"] is True and config["guidance"] == 1.0 and config["num_classes"] == 10
    assert result["results"]["ddpm"]["2"]["stderr"] is None  # one seed: no standard error
    assert set(result["results"]) == {"real", "real+ddpm", "ddpm"}
