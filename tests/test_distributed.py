"""Several processes through torchrun (gloo on the CPU): two ranks with a global batch B train
what one process trains on the same B examples and noise; every rank ends with the same
weights; only rank 0 writes; a run killed with SIGKILL resumes bit for bit under torchrun; a
failing rank ends the job instead of hanging it."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genlab import runs
from genlab.models import get
from genlab.distributed import GlobalBatchNorm, average_gradients, global_batch_norm
from genlab.trainer import CHECKPOINT, Trainer, rank_seed
from conftest import cli_env, metrics, run_status, tiny_sets
from test_resume import wait_for_checkpoint, without_seconds

pytestmark = pytest.mark.usefixtures("one_thread")
TIMEOUT = 240


def torchrun(*args, nproc: int = 2) -> list[str]:
    """``torchrun --standalone --nproc_per_node=N -m genlab ARGS`` (a free port each time)."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "genlab", *map(str, args)]


def env() -> dict:
    """The CLI's environment, with gloo on the loopback interface (a CI machine's hostname
    need not resolve to an address the processes can reach each other on)."""
    return {**cli_env(), "GLOO_SOCKET_IFNAME": "lo"}


def run_torchrun(*args, cwd, nproc: int = 2) -> subprocess.CompletedProcess:
    return subprocess.run(torchrun(*args, nproc=nproc), cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, env=env())


def succeeded(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


class RankStreams:
    """One process drawing what N ranks draw: every batch-sized random draw (batch indices,
    noise) is split into N equal parts, part r drawn from rank r's stream, seeded as the
    trainer seeds rank r. Any other draw fails the test, so nothing is drawn unnoticed."""

    def __init__(self, seed: int, ranks: int):
        self.streams = [torch.Generator().manual_seed(rank_seed(seed, r)) for r in range(ranks)]
        self.randn, self.rand, self.randint = torch.randn, torch.rand, torch.randint

    def _split(self, draw, shape, **kwargs):
        n, rest = shape[0], tuple(shape[1:])
        assert n % len(self.streams) == 0, f"a draw of {n} rows does not split among the ranks"
        return torch.cat([draw((n // len(self.streams), *rest), generator=g, **kwargs) for g in self.streams])

    def patch(self, monkeypatch) -> None:
        def split(draw):
            def drawn(*shape, generator=None, device=None, dtype=None):
                shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
                if generator is not None:
                    return draw(shape, generator=generator, device=device, dtype=dtype)
                return self._split(draw, shape, dtype=dtype).to(device)
            return drawn

        def randint(high, size, *, generator=None, device=None):
            assert generator is None
            return self._split(lambda s, **kw: self.randint(high, s, **kw), tuple(size)).to(device)

        def unexpected(*args, **kwargs):
            raise AssertionError("a random draw the ranks' streams do not split")

        monkeypatch.setattr(torch, "randn", split(self.randn))
        monkeypatch.setattr(torch, "rand", split(self.rand))
        monkeypatch.setattr(torch, "randint", randint)
        for name in ("rand_like", "randn_like", "randperm", "bernoulli", "multinomial"):
            monkeypatch.setattr(torch, name, unexpected)


def one_process(model_name: str, data: str, settings: dict, monkeypatch, ranks: int = 2):
    """The model one process trains on the global batch, drawing what ``ranks`` ranks draw
    (with the dataset's preset under ``settings``, as `genlab train` has it)."""
    settings = {**get(model_name).presets.get(data, {}), **settings}
    model, config, train_data, _ = runs.prepare(model_name, data, settings)
    trainer = Trainer(model, train_data, config)
    with monkeypatch.context() as m:
        RankStreams(config.seed, ranks).patch(m)
        trainer.run()
    return model


def max_difference(saved: dict, model) -> float:
    state = model.state_dict()
    assert saved.keys() <= state.keys()
    return max(float((saved[k].float() - state[k].float()).abs().max()) for k in saved
               if saved[k].is_floating_point())


@pytest.mark.parametrize("model_name,data,extra", [
    ("vae", "digits", {}),
    ("dcgan", "mnist5k", {"batch_norm_check": True}),  # batch norm over the global batch
    ("gan", "ring8", {"ema": 0.9}),  # an EMA of the generator, identical on both ranks
])
def test_two_ranks_train_what_one_process_trains_on_the_same_global_batch(tmp_path, monkeypatch, model_name,
                                                                         data, extra):
    sets = {"steps": 12, "batch_size": 32, "log_every": 4, "checkpoint_every": 6, "sample_every": 6,
            "monitor": False, "progress": False, "device": "cpu"}
    if model_name == "dcgan":
        sets.update(latent_dim=8, width=4)
    else:
        sets.update(hidden=16, layers=1, **{k: v for k, v in extra.items() if k == "ema"})
    args = [f"{k}={v}" for k, v in sets.items()]
    result = run_torchrun("train", model_name, "--data", data, *[a for s in args for a in ("--set", s)],
                          "--out", "ddp", cwd=tmp_path)
    succeeded(result)
    # only rank 0 reports and writes: one "results in" line, one run directory
    assert result.stdout.count("results in") == 1, result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp"]
    record = json.loads((tmp_path / "ddp" / "run.json").read_text())
    assert record["status"] == "complete"
    processes = record["processes"]
    assert processes["count"] == 2 and processes["backend"] == "gloo"
    assert len(set(processes["weights_sha256"])) == 1  # both ranks hold the same weights and buffers

    saved = load_file(tmp_path / "ddp" / "model.safetensors")
    reference = one_process(model_name, data, sets, monkeypatch)
    # float tolerance: the ranks sum their halves' gradients (and batch-norm moments) in
    # another order than one process does; a rank drawing other examples or noise, or a
    # batch norm over half the batch, moves the weights by 1e-3 and more in 12 steps
    assert max_difference(saved, reference) < 2e-5
    if extra.get("batch_norm_check"):
        assert any(k.endswith("running_var") for k in saved)
    if "ema" in extra:  # the average moved away from the live weights, the same way on both ranks
        live, average = saved["generator.0.weight"], saved["generator_ema.average.0.weight"]
        assert not torch.equal(live, average)


def test_rank_streams_split_is_what_a_rank_draws(monkeypatch):
    """The test's one-process reference draws, for rank r, exactly what rank r draws."""
    streams = RankStreams(seed=3, ranks=2)
    with monkeypatch.context() as m:
        streams.patch(m)
        both = torch.randn(8, 5)
    torch.manual_seed(rank_seed(3, 1))
    assert torch.equal(both[4:], torch.randn(4, 5))


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (torchrun starts its workers in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_job(pid: int) -> None:
    """SIGKILL torchrun and every process it started, at once, as a failing machine would."""
    for victim in [pid, *descendants(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds torchrun's workers through /proc")
def test_sigkill_then_resume_under_torchrun_is_bitwise_equal(tmp_path):
    steps, every = 40, 10
    args = ["train", "dcgan", "--data", "mnist5k", "--steps", steps, *tiny_sets("dcgan"), "--set", "batch_size=16",
            "--set", f"checkpoint_every={every}", "--set", f"log_every={every}", "--set", "monitor=false",
            "--set", "device=cpu", "--no-progress"]

    def start(out: str) -> subprocess.Popen:
        return subprocess.Popen(torchrun(*args, "--out", out), cwd=tmp_path, env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    killed, reference = start("A"), start("B")
    try:
        step = wait_for_checkpoint(killed, tmp_path / "A" / CHECKPOINT, every, timeout=TIMEOUT)
        assert killed.poll() is None, "the run finished before it could be killed; raise steps"
        kill_job(killed.pid)
        killed.wait(30)
        assert reference.wait(TIMEOUT) == 0
    finally:
        for proc in (killed, reference):
            if proc.poll() is None:
                kill_job(proc.pid)
    assert every <= step < steps and run_status(tmp_path / "A") == "running"
    succeeded(run_torchrun("train", "--resume", "A", cwd=tmp_path))
    a, b = load_file(tmp_path / "A" / "model.safetensors"), load_file(tmp_path / "B" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert without_seconds(metrics(tmp_path / "A")) == without_seconds(metrics(tmp_path / "B"))
    # the checkpoint's processes must match the resuming job's
    one = subprocess.run([sys.executable, "-m", "genlab", "train", "--resume", "A", "--steps", str(steps + 10)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, env=env())
    assert one.returncode == 2 and "written by 2 training processes" in one.stderr, one.stderr


def test_a_failing_rank_ends_the_job_with_its_error(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("taken")
    # only rank 0 checks the run directory, so rank 1 is left waiting for it: the job must still end
    result = run_torchrun("train", "vae", "--data", "digits", "--steps", 5, "--out", "full", "--no-progress",
                          cwd=tmp_path)
    assert result.returncode != 0
    assert "genlab: error: output directory full is not empty" in result.stderr
    result = run_torchrun("train", "vae", "--data", "digits", "--steps", 5, "--set", "batch_size=33",
                          "--out", "odd", "--no-progress", cwd=tmp_path)
    assert result.returncode != 0
    assert "batch_size 33 is the global batch: it must divide evenly among the 2 processes" in result.stderr
    result = run_torchrun("train", "gmm", "--data", "ring8", "--out", "em", "--no-progress", cwd=tmp_path)
    assert result.returncode != 0 and "run it without torchrun" in result.stderr


# --- in one process: the pieces ------------------------------------------------------------------

def test_global_batch_norm_alone_is_batch_norm():
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3))
    converted = global_batch_norm(torch.nn.Sequential(*[m for m in plain]), torch.device("cpu"))
    assert isinstance(converted[1], GlobalBatchNorm) and converted[1].weight is plain[1].weight
    x = torch.randn(8, 1, 6, 6)
    assert torch.allclose(converted(x), plain(x))


def test_average_gradients_alone_changes_nothing():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.tensor([1.0, 2.0, 3.0])
    average_gradients(torch.optim.SGD([p], lr=0.1), runs.distributed.World())
    assert torch.equal(p.grad, torch.tensor([1.0, 2.0, 3.0]))
