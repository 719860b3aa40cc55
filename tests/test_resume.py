"""Resume is exact: a run killed with SIGKILL and resumed ends bit for bit where an
uninterrupted run ends; the NaN guard stops a diverging run and keeps its last good checkpoint."""

import json
import os
import re
import signal
import time

import pytest
import torch
from safetensors.torch import load_file

import genlab
from genlab import runs
from genlab.errors import ConfigError, TrainingDiverged
from genlab.models.vae import VAE
from genlab.trainer import CHECKPOINT, METRICS, Trainer, TrainConfig
from conftest import (assert_one_line_error, assert_succeeded, finish_cli, metrics, run_cli, run_status,
                      same_state, start_cli, tiny, tiny_sets)

STEPS, EVERY = 200, 20
pytestmark = pytest.mark.usefixtures("one_thread")


def without_seconds(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def wait_for_checkpoint(proc, path, min_step: int, timeout: float = 120) -> int:
    """Poll until ``path`` holds a checkpoint at ``min_step`` or later; its step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.is_file():
            try:
                step = int(torch.load(path, weights_only=True)["step"])
            except Exception:  # renamed into place between our is_file and load; look again
                step = -1
            if step >= min_step:
                return step
        time.sleep(0.01)
    pytest.fail(f"no checkpoint at step >= {min_step} while the run was alive (exit {proc.poll()})")


def test_sigkill_then_resume_is_bitwise_equal_to_an_uninterrupted_run(tmp_path):
    args = ["train", "gan", "--data", "ring8", "--steps", STEPS, *tiny_sets("gan"), "--set", "batch_size=32",
            "--set", f"checkpoint_every={EVERY}", "--set", f"log_every={EVERY}", "--no-progress"]
    killed = start_cli(*args, "--out", "A", cwd=tmp_path)
    reference = start_cli(*args, "--out", "B", cwd=tmp_path)
    try:
        step = wait_for_checkpoint(killed, tmp_path / "A" / CHECKPOINT, EVERY)
        assert killed.poll() is None, "the run finished before it could be killed; raise STEPS"
        os.kill(killed.pid, signal.SIGKILL)
        assert finish_cli(killed).returncode == -signal.SIGKILL
    finally:
        if killed.poll() is None:
            killed.kill()
    assert EVERY <= step < STEPS
    assert run_status(tmp_path / "A") == "running"
    assert not (tmp_path / "A" / "model.safetensors").exists()

    resumed = run_cli("train", "--resume", "A", cwd=tmp_path)
    assert_succeeded(resumed)
    assert resumed.stdout.strip().splitlines()[-1].endswith("A")
    assert_succeeded(finish_cli(reference))

    a, b = load_file(tmp_path / "A" / "model.safetensors"), load_file(tmp_path / "B" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert run_status(tmp_path / "A") == "complete"
    steps = [row["step"] for row in metrics(tmp_path / "A")]
    assert steps == list(range(EVERY, STEPS + 1, EVERY))  # none lost, none twice
    assert without_seconds(metrics(tmp_path / "A")) == without_seconds(metrics(tmp_path / "B"))


# --- in process ----------------------------------------------------------------------------------

def make(name, data, seed=0):
    """A tiny model; ``vae-warmup`` is a vae whose KL weight follows the trainer's step."""
    torch.manual_seed(seed)
    if name == "vae-warmup":
        return genlab.create("vae", data=data, kl_warmup=45, **tiny("vae"))
    return genlab.create(name, data=data, **tiny(name))


def config(steps, **overrides):
    values = dict(steps=steps, batch_size=32, log_every=10, checkpoint_every=10, sample_every=1000, progress=False)
    return TrainConfig(**{**values, **overrides})


class Interrupted(Exception):
    pass


def interrupt_at_log(n: int):
    """A monitor that stops training at its n-th call (step 10 n, before that step's checkpoint)."""
    calls = 0

    def monitor(model) -> dict:
        nonlocal calls
        calls += 1
        if calls == n:
            raise Interrupted
        return {}

    return monitor


@pytest.mark.parametrize("name,spec", [("gan", "ring8"), ("vae", "ring8"), ("dann", "moons-rotated"),
                                       ("cyclegan", "digits-inverted"), ("vae-warmup", "ring8")])
def test_trainer_resume_is_exact(tmp_path, ring8, name, spec):
    """Two-domain models too: dann's schedules (which follow the run's progress) and
    cyclegan's image pools resume; the interrupted run stops after its step-30 checkpoint."""
    data = ring8 if spec == "ring8" else genlab.load_dataset(spec, n=300)
    straight = Trainer(make(name, data), data, config(60), tmp_path / "a").run()
    with pytest.raises(Interrupted):
        Trainer(make(name, data), data, config(60), tmp_path / "b", monitors=(interrupt_at_log(4),)).run()
    torch.manual_seed(1234)  # resume must restore the RNG, not inherit the caller's
    resumed = Trainer(make(name, data, seed=99), data, config(60), tmp_path / "b").run(resume=True)
    assert same_state(straight, resumed)
    assert [r["step"] for r in metrics(tmp_path / "b")] == [10, 20, 30, 40, 50, 60]
    assert without_seconds(metrics(tmp_path / "a")) == without_seconds(metrics(tmp_path / "b"))


def test_resume_survives_a_metrics_line_cut_short(tmp_path, ring8):
    Trainer(make("vae", ring8), ring8, config(30), tmp_path).run()
    with open(tmp_path / METRICS, "a") as f:
        f.write('{"step": 40, "seconds": 0.1, "vae_lo')  # killed in the middle of a write
    Trainer(make("vae", ring8), ring8, config(50), tmp_path).run(resume=True)
    assert [r["step"] for r in metrics(tmp_path)] == [10, 20, 30, 40, 50]


def test_a_resumed_run_counts_the_time_trained_before(tmp_path, ring8):
    Trainer(make("vae", ring8), ring8, config(30), tmp_path).run()
    before = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["elapsed"]
    assert before["seconds"] > 0 and before["cpu_seconds"] > 0
    resumed = Trainer(make("vae", ring8), ring8, config(50), tmp_path)
    resumed.run(resume=True)
    assert resumed.spent == before and resumed.elapsed()["seconds"] > before["seconds"]
    seconds = [r["seconds"] for r in metrics(tmp_path)]
    assert seconds == sorted(seconds) and seconds[3] > before["seconds"]  # step 40 goes on from step 30's time


def test_resume_to_fewer_steps_than_done_is_refused(tmp_path, ring8):
    Trainer(make("vae", ring8), ring8, config(30), tmp_path).run()
    with pytest.raises(ConfigError, match="step 30"):
        Trainer(make("vae", ring8), ring8, config(20), tmp_path).run(resume=True)


def test_run_seed_decides_initial_weights():
    first, *_ = runs.prepare("gan", "ring8", {**tiny("gan"), "seed": 5})
    torch.manual_seed(777)  # whatever the caller did before must not matter
    again, *_ = runs.prepare("gan", "ring8", {**tiny("gan"), "seed": 5})
    other, *_ = runs.prepare("gan", "ring8", {**tiny("gan"), "seed": 6})
    assert same_state(first, again)
    assert not same_state(first, other)


# --- the NaN guard -----------------------------------------------------------------------------------

def test_diverging_run_through_the_cli(tmp_path):
    result = run_cli("train", "gan", "--data", "ring8", "--steps", "50", *tiny_sets("gan"), "--set", "lr=1e30",
                     "--set", "log_every=5", "--set", "checkpoint_every=5", "--out", "nan", "--no-progress",
                     cwd=tmp_path)
    # Adam's first step moves D's weights by ~lr; G's loss is the first to see it.
    line = assert_one_line_error(result, "diverged", "step 1:", "g_loss is ")
    assert re.search(r"g_loss is (nan|-?inf)", line) and "no checkpoint" in line
    assert run_status(tmp_path / "nan") == "failed"
    assert not (tmp_path / "nan" / "config.json").exists()


def poison_vae_loss(monkeypatch, at_call: int, how: str):
    """From call ``at_call`` on, VAE.loss returns NaN ("loss") or a finite loss whose
    gradient is NaN ("grad"), so that the weights go NaN while every logged loss is fine."""
    original, calls = VAE.loss, []

    def loss(self, x, y=None, state=None):
        calls.append(1)
        out = original(self, x, y, state)
        if len(calls) >= at_call:
            if how == "loss":
                out["loss"] = out["loss"] * float("nan")
            else:
                w = next(self.decoder.parameters())
                out["loss"] = out["loss"] + (w - w.detach()).abs().sqrt().sum()  # value +0, grad NaN
        return out

    monkeypatch.setattr(VAE, "loss", loss)


@pytest.mark.parametrize("how, step, good, words", [
    ("loss", 21, 20, ["vae_loss", "nan"]),   # NaN loss at step 21: the step-20 checkpoint is good
    ("grad", 20, 10, ["weights"]),           # NaN weights after step 20: never checkpoint them
])
def test_nan_guard_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, how, step, good, words):
    poison_vae_loss(monkeypatch, at_call=step, how=how)
    settings = {**tiny("vae"), "steps": 60, "batch_size": 32, "log_every": 10, "checkpoint_every": 10,
                "progress": False}
    with pytest.raises(TrainingDiverged) as info:
        runs.start("vae", "ring8", settings, out=tmp_path / "run")
    message = str(info.value)
    assert "\n" not in message and f"step {step}:" in message and f"(step {good})" in message
    for word in words:
        assert word in message
    state = torch.load(tmp_path / "run" / CHECKPOINT, weights_only=True)
    assert state["step"] == good
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "failed" and f"step {step}" in record["error"]
    assert not (tmp_path / "run" / "config.json").exists()
    # The kept checkpoint is good enough to resume from once the cause is gone.
    monkeypatch.undo()
    result = runs.resume(tmp_path / "run")
    assert result.steps == 60 and run_status(tmp_path / "run") == "complete"
