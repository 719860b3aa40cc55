"""curves.png: every model trained in a run directory draws its logged figures (gmm its EM
iterations, ngram its held-out figures), and TensorBoard logging is there when asked for."""

import json
import math
import sys

import numpy as np
import pytest
from PIL import Image

import genlab
from genlab import runs, trainer
from genlab.models import MODELS
from genlab.plot import CURVES_COLUMNS, CURVES_ROW_HEIGHT, CURVES_WIDTH, logged_figures, save_curves
from genlab.trainer import CURVES, TENSORBOARD, Trainer, TrainConfig
from conftest import assert_one_line_error, metrics, run_main, tiny

pytestmark = pytest.mark.usefixtures("one_thread")

PAIRED = {"points": "moons-rotated", "image": "digits-inverted"}
SHORT = {"steps": 3, "log_every": 1, "batch_size": 16, "monitor": False, "progress": False}
EXTRA = {"gmm": {"init": "random"}}  # k-means++ starts EM on ring8 at its optimum; random starts climb


def data_for(cls, text: str) -> str:
    table = PAIRED if cls.two_domains else {"points": "ring8", "image": "digits", "text": text}
    return next(table[kind] for kind in cls.data_kinds if kind in table)


@pytest.fixture(scope="module")
def trained_runs(tmp_path_factory) -> dict:
    """Every registered model trained (or fitted) briefly in a run directory of its own."""
    root = tmp_path_factory.mktemp("runs")
    tale = root / "tale.txt"
    tale.write_text("The cat sat on the mat. The dog sat on the log.\n\nA cat and a dog met on the mat.\n" * 20)
    return {name: runs.start(name, data_for(cls, f"text:{tale}"), {**tiny(name), **EXTRA.get(name, {}), **SHORT},
                             out=root / name)
            for name, cls in sorted(MODELS.items())}


def panels_drawn(path, panels: int) -> list[int]:
    """The picture's size is the stated one; per panel, its pixels in the curves' colour."""
    columns = min(CURVES_COLUMNS, panels)
    rows = math.ceil(panels / columns)
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (CURVES_WIDTH, rows * CURVES_ROW_HEIGHT)
        rgb = np.asarray(img.convert("RGB")).astype(int)
    blue = (abs(rgb - (31, 119, 180)) < 40).all(axis=2)
    w = CURVES_WIDTH // columns
    return [int(blue[r * CURVES_ROW_HEIGHT:(r + 1) * CURVES_ROW_HEIGHT, c * w:(c + 1) * w].sum())
            for r in range(rows) for c in range(columns)][:panels]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_run_draws_its_curves(trained_runs, name):
    run = trained_runs[name]
    lines = metrics(run.run_dir) if (run.run_dir / "metrics.jsonl").exists() else []
    logged = {k for line in lines for k in logged_figures(line)}
    assert logged or MODELS[name].fitted
    shown = len(logged) + (len(run.quality) if MODELS[name].fitted else 0)  # fitted: its figures as bars
    assert all(pixels > 20 for pixels in panels_drawn(run.run_dir / CURVES, shown))


def test_gmm_logs_every_em_iteration(trained_runs):
    run = trained_runs["gmm"]
    lines = metrics(run.run_dir)
    assert [line["step"] for line in lines] == list(range(run.model.n_iter_ + 1)) and len(lines) > 3
    values = [line["train_log_likelihood"] for line in lines]
    assert all(b >= a - 1e-9 for a, b in zip(values, values[1:]))  # EM never lowers the likelihood
    assert values[-1] == run.model.lower_bound_
    first_panel = panels_drawn(run.run_dir / CURVES, len(run.quality) + 1)[0]
    assert first_panel > 300  # a line through the iterations, not one point


def test_ngram_draws_its_held_out_figures(trained_runs):
    run = trained_runs["ngram"]
    assert not (run.run_dir / "metrics.jsonl").exists()  # counting logs nothing
    assert {"bits_per_token", "perplexity"} <= set(run.quality)
    assert all(pixels > 500 for pixels in panels_drawn(run.run_dir / CURVES, len(run.quality)))  # bars


def test_an_interrupted_run_has_its_curves(tmp_path, ring8, monkeypatch):
    monkeypatch.setattr(trainer, "CURVES_EVERY_S", 0)  # redrawn at every checkpoint, not once a minute
    calls = 0

    def stop_at_third_log(model) -> dict:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt
        return {}

    config = TrainConfig(steps=10, batch_size=16, log_every=2, checkpoint_every=2, progress=False)
    model = genlab.create("vae", data=ring8, **tiny("vae"))
    with pytest.raises(KeyboardInterrupt):
        Trainer(model, ring8, config, tmp_path, monitors=(stop_at_third_log,)).run()
    lines = metrics(tmp_path)
    assert [line["step"] for line in lines] == [2, 4]
    logged = [k for k in lines[0] if k not in ("step", "seconds")]
    assert all(pixels > 10 for pixels in panels_drawn(tmp_path / CURVES, len(logged)))  # drawn at step 4


def test_curves_skip_what_is_not_a_number_and_survive_nan(tmp_path):
    lines = [{"step": 10 * i, "seconds": i, "loss": 2.0 ** -i, "fd": [1.0, math.nan, math.inf, 3.0, 2.0][i],
              "flag": True, "warning": "collapse" if i == 2 else None, "modes": 8} for i in range(5)]
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"step": 50, "lo')  # cut off by a kill
    drawn = panels_drawn(save_curves(path, tmp_path / "curves.png", title="a run"), 3)  # loss, fd, modes
    assert all(pixels > 20 for pixels in drawn)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "metrics.jsonl"]  # no temporaries


def test_curves_of_nothing_say_so(tmp_path):
    out = save_curves(tmp_path / "missing.jsonl", tmp_path / "curves.png")
    with Image.open(out) as img:
        assert img.size == (CURVES_WIDTH, CURVES_ROW_HEIGHT)
        grey = np.asarray(img.convert("L"))
    assert (grey < 200).sum() > 100  # the sentence, written in the picture


def test_tensorboard_logs_scalars_and_sample_pictures(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = runs.start("vae", "ring8", {**tiny("vae"), **SHORT, "tensorboard": True}, out=tmp_path / "run")
    events = EventAccumulator(str(run.run_dir / TENSORBOARD), size_guidance={"images": 0}).Reload()
    logged = metrics(run.run_dir)
    assert set(events.Tags()["scalars"]) == {k for k in logged[0] if k not in ("step", "seconds")}
    assert [e.step for e in events.Scalars("vae_loss")] == [line["step"] for line in logged]
    assert [e.value for e in events.Scalars("vae_loss")] == pytest.approx([line["vae_loss"] for line in logged])
    pictures = [(e.step, e.width, e.height) for e in events.Images("samples")]
    assert pictures == [(SHORT["steps"], 400, 400)]  # the scatter, at the last step


def test_tensorboard_without_the_package_is_one_line_before_any_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    result = run_main(capsys, "train", "vae", "--data", "ring8", "--steps", 2, "--set", "tensorboard=true",
                      "--out", tmp_path / "run")
    assert_one_line_error(result, "tensorboard=true", "pip install 'genlab[tensorboard]'")
    assert not (tmp_path / "run").exists()


def test_tensorboard_is_for_models_trained_in_steps(tmp_path, capsys):
    result = run_main(capsys, "train", "gmm", "--data", "ring8", "--set", "tensorboard=true", "--out", tmp_path / "run")
    assert_one_line_error(result, "tensorboard=true", "gmm", "curves.png")
    assert not (tmp_path / "run").exists()
