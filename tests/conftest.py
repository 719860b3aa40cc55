"""Shared helpers: the real CLI in a subprocess, tiny model configs, small datasets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

import genlab
from genlab.api import train

SRC = Path(__file__).resolve().parents[1] / "src"

if os.environ.get("PYTEST_XDIST_WORKER"):  # test processes side by side, one a core: one torch thread each
    torch.set_num_threads(1)
CLI_TIMEOUT = 180

# Settings small enough that every model trains in a fraction of a second; a model missing
# here runs with its defaults, so a newly registered model still joins every check.
TINY: dict[str, dict] = {
    "gan": {"hidden": 16, "layers": 1},
    "wgan": {"hidden": 16, "layers": 1, "n_critic": 2},
    "wgan-gp": {"hidden": 16, "layers": 1, "n_critic": 2},
    "vae": {"hidden": 16, "layers": 1},
    "gmm": {"components": 4, "restarts": 1, "max_iter": 30},
    "dcgan": {"latent_dim": 8, "width": 4},
    "cgan": {"latent_dim": 8, "embed_dim": 4, "hidden": 16, "layers": 1},
    "ae": {"latent_dim": 4, "hidden": 16, "layers": 1},
    "dae": {"latent_dim": 4, "hidden": 16, "layers": 1},
    "cvae": {"latent_dim": 4, "hidden": 16, "layers": 1},
    "vaegan": {"latent_dim": 4, "hidden": 16, "layers": 1},
    "ngram": {"order": 3, "max_tokens": 12},
    "pixelcnn": {"layers": 2, "channels": 8, "kernel_size": 3},
    "pixelrnn": {"layers": 1, "channels": 8, "kernel_size": 3},
    "ddpm": {"timesteps": 20, "sampling_steps": 5, "width": 8, "hidden": 16, "layers": 1},
    "dann": {"hidden": 16, "layers": 1, "width": 4, "feature_dim": 8},
    "cyclegan": {"width": 4, "d_width": 4, "res_blocks": 1, "pool_size": 4},
    "stylegan": {"latent_dim": 8, "mapping_layers": 1, "width": 8},
}


def tiny(name: str) -> dict:
    return dict(TINY.get(name, {}))


def tiny_sets(name: str) -> list[str]:
    """TINY as ``--set key=value`` arguments."""
    return [arg for k, v in tiny(name).items() for arg in ("--set", f"{k}={v}")]


# --- the CLI in a subprocess ----------------------------------------------------------------

def cli_env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def cli_command(*args) -> list[str]:
    return [sys.executable, "-m", "genlab", *map(str, args)]


def run_cli(*args, cwd, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """``genlab ARGS`` run to completion in ``cwd``."""
    return subprocess.run(cli_command(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=cli_env())


def start_cli(*args, cwd) -> subprocess.Popen:
    """``genlab ARGS`` started in the background; collect it with :func:`finish_cli`."""
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cli_command(*args), cwd=cwd, stdout=out, stderr=err, text=True, env=cli_env())
    proc.captured = (out, err)
    return proc


def finish_cli(proc: subprocess.Popen, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Wait for a process from :func:`start_cli` and return what it printed."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    texts = []
    for f in proc.captured:
        f.seek(0)
        texts.append(f.read())
        f.close()
    return subprocess.CompletedProcess(proc.args, proc.returncode, *texts)


def assert_one_line_error(result: subprocess.CompletedProcess, *words) -> str:
    """Exit status 2, no traceback, and one stderr line ``genlab: error: ...`` naming ``words``."""
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything, everything
    assert result.returncode == 2, everything
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("genlab: error: "), lines[0]
    for word in words:
        assert str(word).lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"
    return lines[0]


def run_main(capsys, *args) -> subprocess.CompletedProcess:
    """``genlab ARGS`` through the same entry point, in process: exit status and output."""
    from genlab.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def assert_succeeded(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def run_status(run_dir: Path) -> str | None:
    path = Path(run_dir) / "run.json"
    return json.loads(path.read_text()).get("status") if path.is_file() else None


def assert_not_complete(run_dir: Path) -> None:
    """Nothing that could be mistaken for a finished run."""
    run_dir = Path(run_dir)
    assert run_status(run_dir) != "complete"
    assert not (run_dir / "config.json").exists()
    assert not (run_dir / "model.safetensors").exists()


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


# --- models and data in process ---------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory):
    """Feature networks trained by the tests are cached for the session, not in the home folder."""
    os.environ["GENLAB_CACHE"] = str(tmp_path_factory.mktemp("feature-cache"))


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same global RNG state: torch seeds its default generator
    differently in every process, so an unseeded genlab.create would differ from run to run."""
    torch.manual_seed(0)


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread, and a busy machine does not make them spin."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def one_thread_for_the_module():
    """``one_thread`` for a whole module, e.g. one whose module-scoped fixtures train (the
    explain claims): on a busy machine a second thread mostly spins and costs CPU time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ring8():
    return genlab.load_dataset("ring8", n=600, seed=0)


@pytest.fixture(scope="session")
def digits():
    return genlab.load_dataset("digits", n=400, seed=0)


def is_sgd(model) -> bool:
    return not model.fitted


def fit_briefly(model, data, steps: int = 5, seed: int = 0):
    """A few SGD steps (batch 32) or an EM fit, so that saved models hold learned values."""
    if is_sgd(model):
        return train(model, data, steps=steps, batch_size=32, seed=seed, progress=False)
    return train(model, data)


def trained(name: str, data, steps: int = 5):
    torch.manual_seed(0)
    return fit_briefly(genlab.create(name, data=data, **tiny(name)), data, steps)


def straight_and_resumed(trainer, steps: int, stop: int):
    """``trainer(steps, out)`` (a Trainer writing to ``out``) run straight through, and run to
    ``stop`` then resumed to ``steps``: the two trainers, for their models to be compared."""
    straight = trainer(steps, "a")
    straight.run()
    trainer(stop, "b").run()
    resumed = trainer(steps, "b")
    resumed.run(resume=True)
    return straight, resumed


def same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def claim_column(claim, title: str) -> list:
    """The values of one column of an explain claim's table."""
    i = claim.columns.index(title)
    return [row[i] for row in claim.rows]


# --- a real browser ---------------------------------------------------------------------------

BROWSER_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright; a skip naming what is missing (a failure with
    GENLAB_REQUIRE_BROWSER=1)."""
    chromium = shutil.which("chromium")
    missing = None if chromium else ("no chromium on PATH: install Debian's chromium (apt-get install chromium; "
                                    "`make test` does so when run as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = missing or "playwright is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("GENLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GENLAB_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses to run as root in its sandbox
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=[*sandbox, *BROWSER_ARGS])
        yield launched
        launched.close()
