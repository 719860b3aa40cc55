"""Saved models come back identical; damaged, tampered or mismatched files are refused with
one line (CheckpointError), and no file is ever unpickled into code."""

import json
import os
import pickle

import pytest
import torch

import genlab
from genlab import runs
from genlab.cli import main
from genlab.config import to_dict
from genlab.errors import CheckpointError
from genlab.models.saving import CONFIG, WEIGHTS
from genlab.trainer import CHECKPOINT
from conftest import same_state, tiny, trained

pytestmark = pytest.mark.usefixtures("one_thread")

NAMES = ["gan", "vae", "gmm"]
# A config change that gives the weights other shapes.
RESHAPE = {"gan": ("hidden", 8), "vae": ("hidden", 8), "gmm": ("components", 3)}


def refused(fn, *words) -> str:
    with pytest.raises(CheckpointError) as info:
        fn()
    message = str(info.value)
    assert message and "\n" not in message, message
    for word in words:
        assert str(word) in message, message
    return message


@pytest.fixture(scope="module", params=NAMES)
def saved(request, tmp_path_factory, ring8):
    name = request.param
    model = trained(name, ring8)
    directory = tmp_path_factory.mktemp(name)
    model.save(directory)
    return name, model, directory


@pytest.fixture
def copy(saved, tmp_path):
    """A fresh copy of the saved model directory to damage."""
    name, model, directory = saved
    for f in directory.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    return name, model, tmp_path


def edit_config(directory, **changes):
    meta = json.loads((directory / CONFIG).read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            meta[key].update(value)
        else:
            meta[key] = value
    (directory / CONFIG).write_text(json.dumps(meta))


# --- the round trip ---------------------------------------------------------------------------------

def test_round_trip_is_identical(saved):
    name, model, directory = saved
    assert sorted(p.name for p in directory.iterdir()) == sorted([CONFIG, WEIGHTS])
    loaded = genlab.load(directory)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert same_state(model, loaded)
    with torch.no_grad():
        a = model.eval().sample(50, generator=torch.Generator().manual_seed(3))
        b = loaded.eval().sample(50, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_config_json_names_the_model_and_weights_hash(saved):
    name, model, directory = saved
    meta = json.loads((directory / CONFIG).read_text())
    assert meta["model"] == name and meta["format_version"] == 1 and len(meta["weights_sha256"]) == 64
    assert meta["config"] == to_dict(model.config)


# --- damaged files ----------------------------------------------------------------------------------------

def test_tampered_weights(copy):
    _, _, d = copy
    raw = bytearray((d / WEIGHTS).read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 8] = bytes(b ^ 0xFF for b in raw[middle:middle + 8])
    (d / WEIGHTS).write_bytes(bytes(raw))
    refused(lambda: genlab.load(d), WEIGHTS)


@pytest.mark.parametrize("with_hash", [True, False])
def test_truncated_weights(copy, with_hash):
    _, _, d = copy
    raw = (d / WEIGHTS).read_bytes()
    (d / WEIGHTS).write_bytes(raw[: len(raw) * 2 // 3])
    if not with_hash:  # then safetensors itself must notice
        meta = json.loads((d / CONFIG).read_text())
        del meta["weights_sha256"]
        (d / CONFIG).write_text(json.dumps(meta))
    refused(lambda: genlab.load(d), WEIGHTS)


def test_missing_files(copy):
    _, _, d = copy
    (d / WEIGHTS).unlink()
    refused(lambda: genlab.load(d), "missing", WEIGHTS)
    (d / CONFIG).unlink()
    refused(lambda: genlab.load(d), "missing", CONFIG)
    refused(lambda: genlab.load(d / "nowhere"), "nowhere")


@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", "", "\xff\xfe"])
def test_config_json_that_is_not_a_config(copy, text):
    _, _, d = copy
    (d / CONFIG).write_text(text, encoding="latin-1")
    refused(lambda: genlab.load(d), CONFIG)


def test_config_that_gives_other_shapes_names_the_tensor(copy):
    name, model, d = copy
    key, value = RESHAPE[name]
    edit_config(d, config={key: value})
    message = refused(lambda: genlab.load(d), "tensor")
    assert any(repr(tensor) in message for tensor in model.state_dict()), message


def test_unknown_model_name(copy):
    _, _, d = copy
    edit_config(d, model="nosuchmodel")
    refused(lambda: genlab.load(d), "nosuchmodel")


def test_unknown_config_key(copy):
    _, _, d = copy
    edit_config(d, config={"nosuchkey": 1})
    refused(lambda: genlab.load(d), "nosuchkey")


@pytest.mark.parametrize("version", [2, 0, None, "1"])
def test_wrong_format_version(copy, version):
    _, _, d = copy
    edit_config(d, format_version=version)
    refused(lambda: genlab.load(d), "format version")


def test_weights_of_another_model(copy, saved, tmp_path_factory, ring8):
    """Weights with a matching hash but from another family still do not load."""
    name, _, d = copy
    other = "vae" if name != "vae" else "gan"
    elsewhere = tmp_path_factory.mktemp("other")
    trained(other, ring8).save(elsewhere)
    (d / WEIGHTS).write_bytes((elsewhere / WEIGHTS).read_bytes())
    edit_config(d, weights_sha256=json.loads((elsewhere / CONFIG).read_text())["weights_sha256"])
    refused(lambda: genlab.load(d), "tensor")


# --- resume checkpoints --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished tiny VAE run (20 steps, checkpoint every 10)."""
    directory = tmp_path_factory.mktemp("runs") / "vae"
    runs.start("vae", "ring8", {**tiny("vae"), "steps": 20, "batch_size": 32, "checkpoint_every": 10,
                                "progress": False}, out=directory)
    return directory


@pytest.fixture
def run_copy(run_dir, tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    for f in run_dir.iterdir():
        if f.is_file():
            (target / f.name).write_bytes(f.read_bytes())
    return target


def test_resume_extends_a_finished_run(run_copy):
    result = runs.resume(run_copy, steps=30)
    assert result.steps == 30
    assert torch.load(run_copy / CHECKPOINT, weights_only=True)["step"] == 30


class Evil:
    """Unpickling this would call os.mkdir(path): code run from a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


def damage_garbage(path):
    path.write_bytes(b"\x00garbage" * 100)


def damage_truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def damage_flip(path):
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 3, len(raw) // 3 + 64):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def damage_empty_state(path):
    torch.save({"step": 5}, path)


def damage_not_a_dict(path):
    torch.save([1, 2, 3], path)


def damage_missing_optimizer(path):
    state = torch.load(path, weights_only=True)
    state["optimizers"] = {}
    torch.save(state, path)


def damage_other_shapes(path):
    state = torch.load(path, weights_only=True)
    state["model"] = {k: torch.zeros(3, *v.shape[1:]) for k, v in state["model"].items()}
    torch.save(state, path)


@pytest.mark.parametrize("damage", [damage_garbage, damage_truncate, damage_flip, damage_empty_state,
                                    damage_not_a_dict, damage_missing_optimizer, damage_other_shapes])
def test_damaged_checkpoint_is_refused_on_resume(run_copy, damage):
    damage(run_copy / CHECKPOINT)
    refused(lambda: runs.resume(run_copy, steps=30), CHECKPOINT)


def test_resume_never_unpickles_code(run_copy, tmp_path):
    marker = tmp_path / "code-was-run"
    state = torch.load(run_copy / CHECKPOINT, weights_only=True)
    state["payload"] = Evil(marker)
    torch.save(state, run_copy / CHECKPOINT)
    pickle.loads(pickle.dumps(Evil(tmp_path / "sanity")))  # a full unpickler really runs the payload
    assert (tmp_path / "sanity").is_dir()
    refused(lambda: runs.resume(run_copy, steps=30), CHECKPOINT)
    assert not marker.exists()


def test_damaged_checkpoint_through_the_cli(run_copy, capsys):
    damage_garbage(run_copy / CHECKPOINT)
    assert main(["train", "--resume", str(run_copy), "--steps", "30"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("genlab: error: ") and CHECKPOINT in err


def test_sample_from_a_tampered_run_through_the_cli(run_copy, capsys):
    damage_flip(run_copy / WEIGHTS)
    assert main(["sample", str(run_copy), "-n", "5", "--out", str(run_copy / "s.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and WEIGHTS in err
    assert not (run_copy / "s.npz").exists()
