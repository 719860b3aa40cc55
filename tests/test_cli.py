"""The ``genlab`` command as a user meets it, run for real in a subprocess.

Bad input must give exit status 2, one stderr line ``genlab: error: ...`` naming the problem,
no traceback, and no run directory at all (every check runs before the directory is made).
The happy path trains a tiny GAN and samples from it.
"""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.cli import main
from conftest import (assert_one_line_error, assert_succeeded, metrics, run_cli, run_main,
                      run_status, tiny_sets)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_bad_inputs(root: Path) -> None:
    """Broken user data next to valid data, as a user might have it on disk."""
    rng = np.random.default_rng(0)
    for folder in ("corrupt", "mixed"):
        (root / folder).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / folder / f"ok{i}.png")
    (root / "corrupt" / "x.png").write_bytes(b"this is not a PNG at all" * 4)
    Image.fromarray(rng.integers(0, 256, (10, 12), dtype=np.uint8)).save(root / "mixed" / "z.png")
    (root / "empty").mkdir()
    np.savez(root / "nox.npz", y=np.zeros(50), images=rng.normal(size=(50, 2)))
    x = rng.normal(size=(50, 2))
    x[17, 1] = np.nan
    np.savez(root / "nans.npz", x=x)
    (root / "afile").write_text("keep me")
    (root / "busy").mkdir()
    (root / "busy" / "notes.txt").write_text("keep me")
    (root / "notarun").mkdir()
    (root / "notarun" / "run.json").write_text("{}")
    (root / "listrun").mkdir()
    (root / "listrun" / "run.json").write_text("[1, 2]")
    (root / "unfinished").mkdir()
    (root / "unfinished" / "run.json").write_text(json.dumps({"format": "genlab-run", "status": "running"}))


# case: (arguments after `train`, words the error line must name). Each writes to
# --out run-<case>, which must not exist afterwards.
BAD_TRAIN = {
    "unknown model": (["nosuchmodel", "--data", "ring8"], ["nosuchmodel", "gan", "vae"]),
    "unknown dataset": (["gan", "--data", "nosuchdata"], ["nosuchdata", "ring8"]),
    "unknown set key": (["gan", "--data", "ring8", "--set", "hiden=16"], ["hiden", "hidden"]),
    "ill-typed set value": (["gan", "--data", "ring8", "--set", "hidden=abc"], ["hidden", "abc", "integer"]),
    "steps 0": (["gan", "--data", "ring8", "--steps", "0"], ["steps", "0"]),
    "steps -5": (["gan", "--data", "ring8", "--steps", "-5"], ["steps", "-5"]),
    "corrupt png": (["gan", "--data", "corrupt"], ["corrupt", "x.png"]),
    "mixed image sizes": (["gan", "--data", "mixed"], ["mixed sizes", "z.png"]),
    "empty folder": (["gan", "--data", "empty"], ["no png", "empty"]),
    "npz without x": (["gan", "--data", "nox.npz"], ["'x'", "nox.npz"]),
    "npz with nan": (["vae", "--data", "nans.npz"], ["nan", "nans.npz"]),
    "data-derived key": (["gan", "--data", "ring8", "--set", "data_shape=3"], ["data_shape"]),
}
BAD_SAMPLE = {
    "missing run dir": (["nowhere", "-n", "5", "--out", "s.npz"], ["nowhere"]),
    "run not complete": (["unfinished", "-n", "5", "--out", "s.npz"], ["unfinished", "not complete"]),
}


def train_args(case: str) -> list:
    # --steps 3: a check that fails to fire costs seconds, not minutes.
    steps = [] if "--steps" in BAD_TRAIN[case][0] else ["--steps", "3"]
    return ["train", *BAD_TRAIN[case][0], "--out", out_name(case), *steps]


def out_name(case: str) -> str:
    return "run-" + case.replace(" ", "-")


@pytest.fixture(scope="module")
def bad_results(tmp_path_factory):
    """Every bad-input case in its own process, two at a time (each is mostly torch's import)."""
    root = tmp_path_factory.mktemp("bad")
    make_bad_inputs(root)
    jobs = {("train", case): train_args(case) for case in BAD_TRAIN}
    jobs.update({("sample", case): ["sample", *args] for case, (args, _) in BAD_SAMPLE.items()})
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(run_cli, *args, cwd=root) for key, args in jobs.items()}
        return root, {key: f.result() for key, f in futures.items()}


@pytest.mark.parametrize("case", list(BAD_TRAIN))
def test_bad_train_input_is_one_line_and_leaves_no_run(bad_results, case):
    root, results = bad_results
    assert_one_line_error(results["train", case], *BAD_TRAIN[case][1])
    assert not (root / out_name(case)).exists()
    assert not (root / "runs").exists()


@pytest.mark.parametrize("case", list(BAD_SAMPLE))
def test_bad_sample_input_is_one_line(bad_results, case):
    root, results = bad_results
    assert_one_line_error(results["sample", case], *BAD_SAMPLE[case][1])
    assert not (root / "s.npz").exists()
    assert run_status(root / "unfinished") == "running"


# More bad input through the same entry point, in process: torch's import is paid once.
MORE_BAD = {
    "float for an int": (["train", "gan", "--data", "ring8", "--set", "hidden=1.5"], ["hidden", "1.5"]),
    "not a choice": (["train", "gan", "--data", "ring8", "--set", "loss=wasserstein"], ["wasserstein", "minimax"]),
    "set without =": (["train", "gan", "--data", "ring8", "--set", "hidden"], ["key=value", "hidden"]),
    "yaml 1.1 boolean": (["train", "gan", "--data", "ring8", "--set", "progress=yes"], ["progress", "yes"]),
    "batch_size 0": (["train", "gan", "--data", "ring8", "--set", "batch_size=0"], ["batch_size"]),
    "model value out of range": (["train", "gmm", "--data", "ring8", "--set", "components=0"], ["components"]),
    "unknown device": (["train", "gan", "--data", "ring8", "--set", "device=tpu9"], ["device", "tpu9"]),
    "data-derived n_bins": (["train", "vae", "--data", "digits", "--set", "n_bins=3"], ["n_bins"]),
    "no model": (["train", "--data", "ring8"], ["model"]),
    "out is a file": (["train", "gan", "--data", "ring8", "--out", "afile"], ["afile"]),
    "out is not empty": (["train", "gan", "--data", "ring8", "--out", "busy"], ["busy", "not empty"]),
    "resume a missing run": (["train", "--resume", "nowhere"], ["nowhere"]),
    "resume a json that is no run": (["train", "--resume", "notarun"], ["notarun", "run"]),
    "resume a json list": (["train", "--resume", "listrun"], ["listrun"]),
    "resume with other settings": (["train", "--resume", "unfinished", "--set", "lr=0.1"], ["--resume", "--set"]),
    "resume with a seed": (["train", "--resume", "unfinished", "--seed", "0"], ["--seed"]),
    "sample -n 0": (["sample", "unfinished", "-n", "0", "--out", "s.npz"], ["-n"]),
    "list an unknown model": (["list", "nosuchmodel"], ["nosuchmodel", "gan"]),
}
if not torch.cuda.is_available():
    MORE_BAD["cuda without cuda"] = (["train", "gan", "--data", "ring8", "--set", "device=cuda"], ["cuda"])


@pytest.mark.parametrize("case", list(MORE_BAD))
def test_more_bad_input_in_process(tmp_path, monkeypatch, capsys, case):
    make_bad_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    args, words = MORE_BAD[case]
    if args[0] == "train" and "--out" not in args and "--resume" not in args:
        args = [*args, "--out", "run", "--steps", "3"]
    assert_one_line_error(run_main(capsys, *args), *words)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing written, nothing removed
    assert (tmp_path / "afile").read_text() == "keep me"


# --- help and list -----------------------------------------------------------------------------

def test_help(tmp_path):
    for args in (["--help"], ["train", "--help"], ["sample", "--help"]):
        result = run_cli(*args, cwd=tmp_path)
        assert_succeeded(result)
        assert "usage: genlab" in result.stdout
    train_help = run_cli("train", "--help", cwd=tmp_path).stdout
    for flag in ("--data", "--steps", "--set", "--out", "--seed", "--dry-run", "--resume", "--no-progress"):
        assert flag in train_help
    assert list(tmp_path.iterdir()) == []


# The happy paths below run in process too, apart from the real training and sampling.

def test_list_names_models_and_datasets(capsys):
    result = run_main(capsys, "list")
    assert_succeeded(result)
    names = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert {"gan", "gmm", "vae", "ring8", "digits"} <= names
    assert set(genlab.MODELS) <= names


def test_list_model_shows_its_settings(capsys):
    assert main(["list", "gan"]) == 0
    out = capsys.readouterr().out
    assert "hidden" in out and "nonsaturating" in out and "data_shape" in out


# --- a real run ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan")
    result = run_cli("train", "gan", "--data", "ring8", "--steps", "30", *tiny_sets("gan"),
                     "--set", "batch_size=32", "--out", "gan-run", "--no-progress", cwd=root)
    return root, root / "gan-run", result


def test_train_writes_a_complete_run(gan_run):
    root, run_dir, result = gan_run
    assert_succeeded(result)
    assert "gan-run" in result.stdout.strip().splitlines()[-1]
    for name in ("run.json", "config.json", "model.safetensors", "checkpoint.pt", "metrics.jsonl", "samples.png"):
        assert (run_dir / name).is_file(), name
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "complete" and record["steps"] == 30
    assert record["model_config"]["hidden"] == 16 and record["train"]["batch_size"] == 32
    assert record["data"]["train"]["n"] + record["data"]["test"]["n"] == 10_000
    assert metrics(run_dir)[-1]["step"] == 30
    assert (run_dir / "samples.png").read_bytes()[:8] == PNG_MAGIC
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["step"] == 30
    model = genlab.load(run_dir)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state["model"].items())


def test_sample_npz_matches_the_library(gan_run):
    root, run_dir, _ = gan_run
    result = run_cli("sample", run_dir, "-n", "10", "--out", "s.npz", "--seed", "4", cwd=root)
    assert_succeeded(result)
    x = np.load(root / "s.npz")["x"]
    assert x.shape == (10, 2) and x.dtype == np.float32 and np.isfinite(x).all()
    with torch.no_grad():
        expected = genlab.load(run_dir).sample(10, generator=torch.Generator().manual_seed(4))
    assert np.array_equal(x, expected.numpy())


def test_sample_png(gan_run):
    root, run_dir, _ = gan_run
    assert_succeeded(run_cli("sample", run_dir, "-n", "10", "--out", "pics/s.png", cwd=root))
    assert (root / "pics" / "s.png").read_bytes()[:8] == PNG_MAGIC
    with Image.open(root / "pics" / "s.png") as img:
        assert img.size[0] > 0


def test_sample_bad_out_suffix(gan_run):
    root, run_dir, _ = gan_run
    assert_one_line_error(run_cli("sample", run_dir, "-n", "10", "--out", "s.jpg", cwd=root), "s.jpg", ".png")
    assert not (root / "s.jpg").exists()


def test_dry_run_prints_resolved_config_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = run_main(capsys, "train", "gan", "--data", "ring8", "--set", "lr=1e-3", "--set", "hidden=16",
                      "--set", "loss=minimax", "--steps", "7", "--seed", "3", "--dry-run", "--out", "dry")
    assert_succeeded(result)
    resolved = json.loads(result.stdout)
    assert resolved["model"] == "gan"
    config = resolved["model_config"]
    assert config["lr"] == 0.001 and config["hidden"] == 16 and config["loss"] == "minimax"
    assert config["data_shape"] == [2] and config["layers"] == 3  # from the data; a default
    assert resolved["train"]["steps"] == 7 and resolved["train"]["seed"] == 3
    assert resolved["data"]["spec"] == "ring8"
    assert list(tmp_path.iterdir()) == []


def test_train_gmm(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = run_main(capsys, "train", "gmm", "--data", "ring8", "--set", "components=8", "--out", "G",
                      "--no-progress")
    assert_succeeded(result)
    assert run_status(tmp_path / "G") == "complete"
    quality = json.loads((tmp_path / "G" / "run.json").read_text())["quality"]
    assert np.isfinite(quality["log_likelihood"])
    assert quality["modes"] == 8  # EM with k-means++ finds every mode of ring8
    assert genlab.load(tmp_path / "G").config.components == 8


def test_learning_rate_beyond_float32_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = run_main(capsys, "train", "vae", "--data", "ring8", "--set", "lr=1e40", "--steps", "3",
                      "--set", "hidden=16", "--set", "layers=1", "--out", "run", "--no-progress")
    assert_one_line_error(result, "lr")
