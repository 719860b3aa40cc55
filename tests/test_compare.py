"""``genlab compare``: one table of several models trained alike, resumable, refusing bad input."""

import json

import pytest

from genlab import compare
from genlab.cli import main
from genlab.trainer import Trainer


@pytest.mark.parametrize("text, expected", [("2000", ("steps", 2000)), ("300 steps", ("steps", 300)),
                                             ("10m", ("seconds", 600.0)), ("90s", ("seconds", 90.0)),
                                             ("1.5h", ("seconds", 5400.0)), ("2min", ("seconds", 120.0))])
def test_budgets_in_steps_or_time(text, expected):
    assert compare.parse_budget(text) == expected


@pytest.mark.parametrize("argv, says", [
    (["--models", "gmm,gna", "--budget", "10"], "unknown model 'gna'"),
    (["--models", "gmm", "--budget", "0"], "--budget must be positive"),
    (["--models", "gmm", "--budget", "ten minutes"], "--budget must be steps"),
    (["--models", "gmm", "--budget", "1.5steps"], "whole number"),
    (["--models", "gmm,gmm", "--budget", "10"], "twice"),
    (["--models", "gmm", "--set", "steps=5"], "compare sets steps for every model from --budget"),
    (["--models", "gmm", "--set", "hidden=5"], "training settings, the same for every model"),
    (["--models", "pixelcnn,dcgan", "--budget", "10"], "no model could be compared on ring8"),
])
def test_bad_comparisons_are_one_line_and_exit_2(argv, says, tmp_path, capsys):
    assert main(["compare", "--data", "ring8", "--out", str(tmp_path / "c"), "--no-progress", *argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("genlab: error:")]
    assert len(errors) == 1 and says in errors[0] and lines[-1] == errors[0], lines  # status lines, then one error


def test_compare_trains_scores_and_continues_after_an_interruption(tmp_path, monkeypatch, capsys):
    """gmm fits, pixelcnn cannot take points (skipped, the rest go on), gan is interrupted after
    its first checkpoint; the rerun keeps gmm's finished run and resumes gan's."""
    out = tmp_path / "cmp"
    argv = ["compare", "--data", "ring8", "--models", "gmm,pixelcnn,gan", "--budget", "60", "--n", "500",
            "--set", "checkpoint_every=40", "--set", "log_every=20", "--out", str(out), "--no-progress"]
    real_step = Trainer.train_step

    def interrupted(self):
        if self.step == 50:
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(Trainer, "train_step", interrupted)
    assert main(argv) == 130
    gmm_record = (out / "gmm" / "run.json").read_bytes()
    assert json.loads((out / "gan" / "run.json").read_text())["status"] == "running"
    assert (out / "gan" / "checkpoint.pt").is_file()  # written at step 40
    monkeypatch.setattr(Trainer, "train_step", real_step)
    capsys.readouterr()

    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "gmm: kept, with its figures" in printed.err, printed.err
    assert "gan: resuming the interrupted run" in printed.err, printed.err
    assert (out / "gmm" / "run.json").read_bytes() == gmm_record  # not retrained
    result = json.loads((out / "compare.json").read_text())
    entries = {e["name"]: e for e in result["models"]}
    assert entries["pixelcnn"]["status"] == "skipped" and "points" in entries["pixelcnn"]["reason"]
    assert entries["gan"]["status"] == entries["gmm"]["status"] == "done"
    assert entries["gan"]["steps"] == 60 and json.loads((out / "gan" / "run.json").read_text())["steps"] == 60
    gmm, gan = entries["gmm"]["scores"], entries["gan"]["scores"]
    assert gmm["modes"] == 8 and gmm["hq_percent"] > 90  # EM finds the ring; a 60-step gan has not yet
    assert gmm["hq_percent"] > gan["hq_percent"] + 20
    assert entries["gmm"]["samples_per_second"] > 0 and entries["gan"]["samples_per_second"] > 0
    assert result["real"]["modes"] == 8
    assert "gmm" in printed.out and "real vs real" in printed.out and "pixelcnn skipped" in printed.out
    page = (out / "compare.html").read_text()
    assert page.count("<img") == 3 and "★" in page  # the figure and two sample grids
    assert (out / "compare.png").stat().st_size > 10_000


def test_a_finished_run_on_other_data_is_skipped_with_its_reason(tmp_path, capsys):
    run = tmp_path / "g"
    assert main(["train", "gmm", "--data", "grid25", "--steps", "5", "--out", str(run), "--no-progress"]) == 0
    assert main(["compare", "--data", "ring8", "--models", f"{run},gmm", "--budget", "5", "--n", "200",
                 "--out", str(tmp_path / "c"), "--no-progress"]) == 0
    result = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert result["models"][0]["status"] == "skipped"
    assert "trained on grid25, not ring8" in result["models"][0]["reason"]
    assert result["models"][1]["status"] == "done"


def test_likelihoods_in_different_units_are_labelled_and_not_ranked():
    """A bits/dim figure and a nats-per-image figure cannot be ranked against each other: the
    cells carry their units and neither is marked best; in one unit the lower one is."""
    def entry(name, scores):
        return {"name": name, "status": "done", "scores": {"frechet_distance": 1.0, **scores}, "steps": 10,
                "train_seconds": 1.0, "cpu_seconds": 1.0, "samples_per_second": 5.0}

    result = {"data": "mnist5k", "kind": "image", "budget": {"said": "10 steps"}, "real": {"frechet_distance": 0.1},
              "models": [entry("ddpm", {"bits_per_dim": 2.04}), entry("pixelcnn", {"nll": 71.6})]}
    text = compare.table(result)
    ddpm, pixelcnn = (next(line for line in text.splitlines() if line.startswith(m)) for m in ("ddpm", "pixelcnn"))
    assert "2.04 bits/dim" in ddpm and "71.6 nats" in pixelcnn and "NLL (bits/dim/nats)" in text
    assert not compare.best_rows(result, "likelihood")
    result["models"][1]["scores"] = {"frechet_distance": 2.0, "bits_per_dim": 1.5}
    assert compare.best_rows(result, "likelihood") == {1} and "1.5*" in compare.table(result)


def test_compare_leaves_out_the_data_settings_of_a_models_preset():
    """pixelcnn's mnist5k preset binarises the images; in a comparison it sees them as every
    other model does, while its other preset settings stay."""
    from genlab import runs

    alone = runs.start("pixelcnn", "mnist5k", {"steps": 1}, dry_run=True)
    compared = runs.start("pixelcnn", "mnist5k", {"steps": 1}, dry_run=True, preset_data=False)
    assert alone["data"]["binarize"] == 0.5 and alone["data"]["train"]["n_bins"] == 2
    assert "binarize" not in compared["data"] and compared["data"]["train"]["n_bins"] == 256
    assert compared["model_config"]["gated"] is True and compared["preset"]["settings"] == {
        k: v for k, v in alone["preset"]["settings"].items() if k != "binarize"}


def test_negative_unbiased_estimates_tie_at_zero():
    """MMD^2 below 0 is noise around 0: two such models and one at exactly 0 share the best."""
    def entry(name, mmd):
        return {"name": name, "status": "done", "scores": {"mmd2_rbf": mmd}, "steps": 1, "train_seconds": 1.0,
                "cpu_seconds": 1.0, "samples_per_second": 1.0}

    result = {"data": "ring8", "kind": "points", "budget": {"said": "1 steps"}, "real": {},
              "models": [entry("a", -8e-5), entry("b", 1e-4), entry("c", -2e-5), entry("d", 0.0)]}
    assert compare.best_rows(result, "mmd2_rbf") == {0, 2, 3}
    result["models"] = result["models"][1:2] + [entry("e", 3e-4)]
    assert compare.best_rows(result, "mmd2_rbf") == {0}
