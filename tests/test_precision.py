"""Mixed precision and devices: bf16 on the CPU still learns what fp32 learns (the GAN's
ring8 and the VAE's digits, with the fp32 tests' thresholds) and resumes exactly; fp16
without a GPU, a model that trains in fp32 only, and devices this machine lacks each get
one line and exit 2; a run samples and evaluates on the device asked for."""

import math

import pytest
import torch

import genlab
from genlab.data import load_dataset
from genlab.distributed import resolve_device
from genlab.errors import ConfigError
from genlab.metrics import mode_metrics
from genlab.trainer import Trainer, TrainConfig
from conftest import (assert_one_line_error, assert_succeeded, run_cli, run_main, same_state, straight_and_resumed,
                      tiny_sets)
from test_gan import SHORT_BUDGET_RADIUS_SIGMAS
from test_vae import diagonal_gaussian_bits_per_dim

pytestmark = pytest.mark.usefixtures("one_thread")


def test_bf16_gan_learns_ring8_as_the_fp32_test_asks():
    torch.manual_seed(0)
    train, _ = load_dataset("ring8").split(0.2, seed=0)
    model = genlab.create("gan", data=train, hidden=128, layers=3, latent_dim=2, lr=5e-4)
    trainer = Trainer(model, train, TrainConfig(steps=2000, batch_size=256, log_every=500, progress=False,
                                                precision="bf16", device="cpu"))
    trainer.run()
    assert trainer.dtype == torch.bfloat16
    x = model.sample(2500, generator=torch.Generator().manual_seed(1))
    assert x.dtype == torch.float32  # sampling is outside autocast
    m = mode_metrics(x, train.modes, train.sigma, radius_sigmas=SHORT_BUDGET_RADIUS_SIGMAS)
    assert m["modes"] >= 6, m


def test_bf16_vae_beats_the_baselines_on_digits_as_the_fp32_test_asks():
    train, test = load_dataset("digits").split(0.2, seed=0)
    torch.manual_seed(0)
    model = genlab.create("vae", data=train, hidden=128, latent_dim=8)
    Trainer(model, train, TrainConfig(steps=1200, batch_size=128, log_every=200, progress=False,
                                      precision="bf16", device="cpu")).run()
    bpd = model.eval().evaluate(test)["bits_per_dim"]
    assert bpd < math.log2(17) and bpd < diagonal_gaussian_bits_per_dim(train, test), bpd


def test_autocast_runs_the_networks_in_bf16_and_the_loss_in_fp32():
    train, _ = load_dataset("digits").split(0.2, seed=0)
    model = genlab.create("vae", data=train, hidden=16, layers=1)
    seen = []
    model.decoder.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model.phases()[0].loss(train.x[:8], None, None)["loss"]
    assert seen == [torch.bfloat16] and loss.dtype == torch.float32


def test_bf16_resume_is_bitwise_equal(tmp_path):
    train, _ = load_dataset("digits").split(0.2, seed=0)

    def trainer(steps, out):
        torch.manual_seed(0)
        model = genlab.create("vae", data=train, hidden=16, layers=1)
        config = TrainConfig(steps=steps, batch_size=32, checkpoint_every=10, log_every=10, progress=False,
                             precision="bf16", device="cpu")
        return Trainer(model, train, config, tmp_path / out)

    straight, resumed = straight_and_resumed(trainer, 30, 20)
    assert same_state(straight.model, resumed.model)


def test_fp16_without_a_gpu_and_bf16_for_a_fitted_model_are_one_line_each(tmp_path, capsys):
    result = run_main(capsys, "train", "vae", "--data", "digits", "--steps", 2, *tiny_sets("vae"),
                      "--set", "precision=fp16", "--device", "cpu", "--out", tmp_path / "a")
    assert_one_line_error(result, "precision=fp16 needs a CUDA GPU", "bf16")
    result = run_main(capsys, "train", "gmm", "--data", "ring8", "--set", "precision=bf16", "--out", tmp_path / "b")
    assert_one_line_error(result, "precision=bf16 is not for gmm")
    result = run_main(capsys, "train", "vae", "--data", "digits", "--set", "precision=fp8", "--out", tmp_path / "c")
    assert_one_line_error(result, "precision", "fp8")
    assert not any(tmp_path.iterdir())  # nothing written for any of them


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_devices_this_machine_lacks_are_one_line_each(tmp_path, capsys):
    for device, words in [("cuda", ["'cuda'", "no CUDA GPU"]), ("cuda:1", ["no CUDA GPU"]),
                          ("nonsense", ["'nonsense' is not a device", "cuda:N"]), ("tpu", ["tpu"])]:
        result = run_main(capsys, "train", "vae", "--data", "digits", "--steps", 2, "--device", device,
                          "--out", tmp_path / "r")
        assert_one_line_error(result, *words)
    # and in a subprocess, as a user meets it
    assert_one_line_error(run_cli("sample", "r", "--device", "cuda", cwd=tmp_path), "no CUDA GPU")
    assert not any(tmp_path.iterdir())


def test_a_gpu_index_beyond_the_machines_gpus_names_them(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"'cuda:7' asked for, but this machine has 1 CUDA GPU \(cuda:0\)"):
        resolve_device("cuda:7")
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    assert resolve_device("auto") == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_sample_eval_and_interpolate_take_a_device(tmp_path, capsys):
    assert_succeeded(run_cli("train", "vae", "--data", "digits", "--steps", 20, *tiny_sets("vae"), "--device", "cpu",
                             "--out", "run", "--no-progress", cwd=tmp_path))
    run = tmp_path / "run"
    r = run_main(capsys, "sample", str(run), "-n", "8", "--out", str(tmp_path / "s.png"), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    r = run_main(capsys, "interpolate", str(run), "--out", str(tmp_path / "i.png"), "--pairs", "2",
                              "--device", "cpu")
    assert r.returncode == 0, r.stderr
    r = run_main(capsys, "eval", str(run), "--n", "200", "--metrics", "likelihood", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert genlab.load(run, device="cpu").device == torch.device("cpu")
    r = run_main(capsys, "sample", str(run), "--out", str(tmp_path / "t.png"), "--device", "nonsense")
    assert r.returncode == 2 and "'nonsense' is not a device" in r.stderr


def test_compile_compiles_each_network_in_place_and_keeps_the_weights_names(monkeypatch, tmp_path, capsys):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(type(self).__name__))
    train, _ = load_dataset("digits").split(0.2, seed=0)
    model = genlab.create("vae", data=train, hidden=16, layers=1)
    keys = list(model.state_dict())
    Trainer(model, train, TrainConfig(steps=2, batch_size=8, progress=False, compile=True, device="cpu")).run()
    assert sorted(compiled) == sorted(type(m).__name__ for m in model.children()) and compiled
    assert list(model.state_dict()) == keys
    assert_one_line_error(run_main(capsys, "train", "gmm", "--data", "ring8", "--set", "compile=true",
                                   "--out", tmp_path / "g"), "compile=true", "gmm")
