"""Run directories: everything one training run needs to be inspected, sampled and resumed.

    runs/gan-ring8-20261122-101500/
        run.json            how the run was made (model, data, split, settings) and its status
        settings.yaml       every setting, for `genlab train --config settings.yaml` to repeat it
        config.json         the model's config       } written when training ends;
        model.safetensors   the model's weights      } together they are `genlab.load`-able
        checkpoint.pt       resume state (weights, optimisers, step, RNG states)
        metrics.jsonl       one JSON line every log_every steps (gmm: every EM iteration)
        curves.png          a panel per logged figure against the step; redrawn at checkpoints
                            (at most once a minute) and at the end
        samples/            sample pictures during training; samples.png at the end
                            (samples.txt for text)
        tensorboard/        with tensorboard=true, the figures and sample pictures for TensorBoard

A run directory is complete when run.json says ``"status": "complete"``. Every problem with
the user's input is found before the directory is made. Under torchrun every process trains
and only rank 0 writes the directory (see ``genlab.distributed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import distributed
from .config import from_dict, to_dict, write_settings_file
from .errors import CheckpointError, ConfigError, GenlabError
from .io import read_json, write_json

RUN = "run.json"
SETTINGS = "settings.yaml"
TEST_FRACTION = 0.2
SPLIT_SEED = 0
MODE_SAMPLES = 2_500  # docs/EVALUATION.md's protocol
DATA_KEYS = ("data_shape", "n_bins", "num_classes")  # model settings taken from the data
DATA_SETTINGS = {"binarize": float, "stream": bool}  # --set keys that change the data, recorded under run.json's "data"
STORED_MEASURE = 5_000  # held-out images of an image store a run measures (genlab eval reads more)


@dataclass
class RunResult:
    run_dir: Path
    model: object
    model_name: str
    data_name: str
    steps: int
    seconds: float
    quality: dict = field(default_factory=dict)


def setting_owners(model_cls) -> dict[str, set[str]]:
    """The keys each config takes: the model's, the trainer's, and the data's."""
    from .trainer import TrainConfig

    return {"model": {f.name for f in dataclasses.fields(model_cls.Config)},
            "training": {f.name for f in dataclasses.fields(TrainConfig)}, "data": set(DATA_SETTINGS)}


def split_settings(model_cls, settings: dict) -> tuple[dict, dict]:
    """Route ``--set`` keys to the model's config or to the trainer's: each key to exactly
    one. Two configs claiming one key is a mistake in genlab's code, never resolved by
    sending the value to both."""
    owners = setting_owners(model_cls)
    model_keys, train_keys = owners["model"], owners["training"]
    shared = sorted((model_keys & train_keys) | ((model_keys | train_keys) & owners["data"]))
    if shared:
        raise TypeError(f"setting {shared[0]!r} of {model_cls.name} is claimed by two configs")
    from_data = sorted(set(settings) & set(DATA_KEYS))
    if from_data:
        raise ConfigError(f"{from_data[0]!r} is set from the data and cannot be given with --set")
    unknown = sorted(set(settings) - model_keys - train_keys - set(DATA_SETTINGS))
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} for {model_cls.name}; model keys: {', '.join(sorted(model_keys))}; "
            f"training keys: {', '.join(sorted(train_keys))}; data keys: {', '.join(DATA_SETTINGS)}"
        )
    return ({k: v for k, v in settings.items() if k in model_keys},
            {k: v for k, v in settings.items() if k in train_keys})


def data_settings(settings: dict) -> dict:
    """The ``--set`` keys that change the data (``binarize=THRESHOLD``), type-checked."""
    from .config import coerce

    return {k: coerce(v, DATA_SETTINGS[k], k) for k, v in settings.items() if k in DATA_SETTINGS}


def prepare(model_name: str, data_spec: str, settings: dict, *, data_seed: int = 0):
    """Load and split the data, build the model and the training config; no files written."""
    import torch

    from .api import create
    from .distributed import resolve_device
    from .models import get
    from .trainer import TrainConfig, check_precision

    cls = get(model_name)
    model_values, train_values = split_settings(cls, settings)
    train_config = from_dict(TrainConfig, train_values, what="training")
    device = resolve_device(train_config.device)
    world = distributed.join(device)  # torchrun's processes meet here, before the data load
    train_data, test_data = load_split(data_spec, data_seed, **data_settings(settings))
    torch.manual_seed(train_config.seed)  # the seed decides the initial weights too
    model = create(model_name, data=train_data, **model_values)
    check_precision(model, train_config.precision, device)
    if train_config.compile and model.fitted:
        raise ConfigError(f"compile=true compiles networks; {model_name} is fitted in closed form or by EM")
    if train_config.tensorboard and model.fitted:
        raise ConfigError(f"tensorboard=true logs training steps; {model_name} is fitted in closed form or by EM "
                          f"(its run draws curves.png)")
    if model.fitted and world.size > 1:
        raise ConfigError(f"{model_name} is fitted in closed form or by EM, in one process: run it without torchrun")
    return model, train_config, train_data, test_data


def load_split(data_spec: str, data_seed: int = 0, test_fraction: float = TEST_FRACTION,
               split_seed: int = SPLIT_SEED, binarize: float | None = None, stream: bool = False):
    """The (train, test) halves of a dataset, split the way every run splits it."""
    from .data import load_dataset

    data = load_dataset(data_spec, seed=data_seed, binarize=binarize, stream=stream)
    return data.split(test_fraction, seed=split_seed)


def run_data(record: dict):
    """The (train, test) split a run was trained and held out on, from its run.json."""
    data = record["data"]
    return load_split(data["spec"], data["seed"], data["test_fraction"], data["split_seed"],
                      binarize=data.get("binarize"), stream=bool(data.get("stream")))


def new_run_dir(root: str | Path, model_name: str, data_name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(data_name).name)
    base = Path(root) / f"{model_name}-{safe}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path


def start(model_name: str, data_spec: str, settings: dict, *, out: str | Path | None = None,
          root: str | Path = "runs", dry_run: bool = False, preset_data: bool = True):
    """Check everything, then make the run directory and train. Returns a RunResult, or the
    resolved settings (a dict) for a dry run. ``preset_data=False`` leaves out the data settings
    of the model's preset for this dataset (pixelcnn's binarisation of mnist5k), for a
    comparison in which every model sees the same images."""
    from .models import get

    preset = get(model_name).presets.get(data_spec)
    if preset and not preset_data:
        preset = {k: v for k, v in preset.items() if k not in DATA_SETTINGS} or None
    settings = {**(preset or {}), **settings}  # the user's settings over the dataset's preset
    model, train_config, train_data, test_data = prepare(model_name, data_spec, settings)
    model.check_data(train_data)  # problems a model finds in the data, before any file is written
    record = {
        "format": "genlab-run",
        "model": model_name,
        "preset": {"data": data_spec, "settings": preset} if preset else None,
        "model_config": to_dict(model.config),
        "train": to_dict(train_config),
        "data": {"spec": data_spec, "seed": 0, "test_fraction": TEST_FRACTION, "split_seed": SPLIT_SEED,
                 **data_settings(settings), "train": train_data.describe(), "test": test_data.describe()},
        "status": "running",
        "versions": versions(),
    }
    if dry_run:
        return record
    world = world_of(train_config)
    run_dir = Path(out) if out is not None else new_run_dir(root, model_name, data_spec)
    if world.writes:
        if run_dir.exists() and not run_dir.is_dir():
            raise ConfigError(f"output directory {run_dir} is a file")
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ConfigError(f"output directory {run_dir} is not empty; use --resume {run_dir} to continue it")
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / RUN, record)
        write_settings_file(run_dir / SETTINGS, model_name, data_spec, resolved_settings(record))
    run_dir = distributed.broadcast_object(run_dir, world)  # the name rank 0 chose (it has the time in it)
    return execute(model, train_config, train_data, test_data, run_dir, record, resume=False)


def versions() -> dict:
    """The versions a run was made with: genlab, torch, Python, and genlab's git commit when
    it runs from a checkout (``"+dirty"`` when the checkout has uncommitted changes), else None."""
    import platform
    import subprocess

    import torch

    from . import __version__

    commit = None
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / ".git").exists():
        try:
            git = lambda *a: subprocess.run(["git", "-C", str(checkout), *a], capture_output=True,  # noqa: E731
                                            text=True, timeout=10, check=True).stdout.strip()
            commit = git("rev-parse", "HEAD") + ("+dirty" if git("status", "--porcelain", "--untracked-files=no")
                                                 else "")
        except (OSError, subprocess.SubprocessError):
            commit = None  # no git on this machine: the versions still say which release
    return {"genlab": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "git_commit": commit}


def world_of(train_config) -> "distributed.World":
    """This process's place among torchrun's (the group ``prepare`` joined)."""
    return distributed.join(distributed.resolve_device(train_config.device))


def resolved_settings(record: dict) -> dict:
    """Every setting of a run as ``--set`` keys: the model's (less those the data set, those
    ``fit`` learns and those an older genlab wrote), the trainer's and the data's; what
    ``genlab train --config settings.yaml`` repeats a run from, and ``--resume`` continues it with."""
    from .models import get

    cls = get(record["model"])
    dropped = {*DATA_KEYS, *cls.learned_config, *cls.retired_config}
    model = {k: v for k, v in record["model_config"].items() if k not in dropped}
    data = {k: record["data"][k] for k in DATA_SETTINGS if record["data"].get(k) is not None}
    return {**model, **record["train"], **data}


def resume(run_dir: str | Path, steps: int | None = None, progress: bool = True) -> RunResult:
    """Continue a run from its checkpoint (bit-exact on CPU); ``steps`` may extend it;
    ``progress`` False shows no progress (whatever the run showed first)."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / RUN, "run record")
    if record.get("format") != "genlab-run":
        raise CheckpointError(f"{run_dir / RUN} is not a genlab run record")
    settings = resolved_settings(record)
    if steps is not None:
        settings["steps"] = steps
    settings["progress"] = progress
    model, train_config, train_data, test_data = prepare(record["model"], record["data"]["spec"], settings)
    record.update(status="running", train=to_dict(train_config))
    if world_of(train_config).writes:
        write_json(run_dir / RUN, record)
    return execute(model, train_config, train_data, test_data, run_dir, record, resume=True)


def execute(model, train_config, train_data, test_data, run_dir: Path, record: dict, *,
            resume: bool) -> RunResult | None:
    """Train (or fit), then save, measure and draw the pictures; under torchrun the ranks
    other than 0 return None once training ends."""
    import torch

    from .api import fit
    from .trainer import CURVES, METRICS, Trainer

    world = world_of(train_config)
    begin, cpu_begin = time.perf_counter(), time.process_time()
    before = {"seconds": 0.0, "cpu_seconds": 0.0}
    try:
        if model.fitted:
            fit(model, train_data, train_config.seed)
            steps = model.n_iter_
            write_metrics(run_dir / METRICS, model.fit_log())
        else:
            monitors = monitors_for(train_data, test_data) if train_config.monitor and world.writes else ()
            trainer = Trainer(model, train_data, train_config, run_dir, monitors=monitors,
                              on_sample=picture(train_data, train_config.seed))
            trainer.run(resume=resume)
            steps = train_config.steps
            before = trainer.spent  # the time trained before a resume
            if world.size > 1:  # every rank must end with the same weights, EMA included
                digests = distributed.digests(model, world)
                record["processes"] = {"count": world.size, "backend": torch.distributed.get_backend(),
                                       "weights_sha256": digests}
                if len(set(digests)) > 1:
                    raise GenlabError(f"the {world.size} training processes ended with different weights")
        distributed.leave()  # together; a failing rank instead exits, and torchrun stops the others
    except Exception as err:  # a bug still keeps its traceback, but the run says it failed
        if world.writes:
            record.update(status="failed", error=str(err))
            write_json(run_dir / RUN, record)
        raise
    if not world.writes:
        return None
    seconds = time.perf_counter() - begin + before["seconds"]
    cpu_seconds = time.process_time() - cpu_begin + before["cpu_seconds"]
    model.save(run_dir)
    if train_config.progress:
        print(f"genlab: trained; measuring {model.name}'s held-out quality", file=sys.stderr, flush=True)
    quality = measure(model, train_data, test_data, seed=train_config.seed, progress=train_config.progress)
    with torch.no_grad():
        name = "samples.txt" if train_data.kind == "text" else "samples.png"
        picture(train_data, train_config.seed)(model, run_dir / name)
        from .plot import save_curves, save_image_grid

        generator = torch.Generator(model.device).manual_seed(train_config.seed)
        for file_name, (images, nrow) in model.pictures(generator).items():  # e.g. stylegan's mixing grid
            save_image_grid(images.cpu(), run_dir / file_name, nrow=nrow)
    # a fitted model's held-out figures as bars next to its iterations (gmm's EM), if any
    save_curves(run_dir / METRICS, run_dir / CURVES, figures=quality if model.fitted else None,
                title=f"{model.name} on {train_data.name}", x_label="iteration" if model.fitted else "step")
    record.update(status="complete", steps=steps, seconds=round(seconds, 2), quality=quality,
                  cpu_seconds=round(cpu_seconds, 2),
                  device=str(model.device), precision=train_config.precision)
    write_json(run_dir / RUN, record)
    return RunResult(run_dir, model, record["model"], record["data"]["spec"], steps, seconds, quality)


def write_metrics(path: Path, lines: list[dict]) -> None:
    """A fitted model's log of its fit (gmm: every EM iteration) as metrics.jsonl, written
    atomically; none for a fit that logs nothing (ngram's counts)."""
    import json

    from .io import atomic_write

    if not lines:
        return
    text = "".join(json.dumps(line) + "\n" for line in lines)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def measure(model, train_data, test_data, seed: int = 0, progress: bool = False) -> dict:
    """A first quality figure: held-out likelihood where exact or bounded, and mode metrics
    (docs/EVALUATION.md protocol, 2,500 samples) on toys with known modes; with ``progress``,
    a bar for a model whose evaluation reports its progress (ddpm's bound)."""
    import torch

    model.eval()
    if test_data.stored and model.likelihood:  # part of an image store, read as floats
        test_data = test_data.dense(STORED_MEASURE)
    with torch.no_grad():
        with evaluation_progress(model, progress) as options:
            quality = {k: round(v, 4) for k, v in model.evaluate(test_data, **options).items()}
        if train_data.modes is not None:
            quality.update(mode_monitor(train_data, seed)(model))
    return quality


@contextlib.contextmanager
def evaluation_progress(model, enabled: bool = True):
    """``evaluate`` options with a progress bar, in a terminal, for a model whose evaluation
    reports its progress (``"progress" in model.evaluate_options``: ddpm's bound); else none."""
    if not (enabled and "progress" in model.evaluate_options and sys.stderr.isatty()):
        yield {}
        return
    from tqdm.auto import tqdm

    bar = tqdm(desc=f"{model.name} held-out figures", unit="term", leave=False)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield {"progress": advance}
    finally:
        bar.close()


def picture(data, seed: int = 0):
    """A callable ``(model, path) -> None`` that saves a sample picture: a grid of 64 images,
    or 1,000 points over 1,000 training points in grey; for text, 10 samples, one a line; for
    a translation model, rows of 8 images of A, translated, translated back, then the same for B."""
    import torch

    from .plot import save_image_grid, save_samples

    def draw(model, path: Path) -> None:
        generator = torch.Generator(model.device).manual_seed(seed)
        if data.domain is not None:  # translation rows (input, there, back) for each domain; none for dann
            if model.translates:
                save_image_grid(model.translation_grid(data.part("a").x[:8], data.part("b").x[:8]).cpu(), path, nrow=8)
            return None
        if data.kind == "text":
            return write_lines(path, model.sample(10, generator=generator))
        n = 64 if data.kind == "image" else 1000
        x = model.sample(n, generator=generator).detach().cpu()
        save_samples(x, path, data.kind, reference=None if data.kind == "image" else data.x[:1000])

    return draw


def write_lines(path: Path, lines: list[str]) -> None:
    """Text samples, one a line (newlines inside a sample become spaces), written atomically."""
    from .io import atomic_write

    text = "".join(" ".join(line.split()) + "\n" for line in lines)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def interpolation_grid(run_dir, out, *, pairs: int = 8, steps: int = 10, seed: int = 0,
                       device: str | None = None) -> Path:
    """``genlab interpolate``: for ``pairs`` random pairs of the run's test images, one row
    each of x_a, the decodings of ``steps`` codes on the line from encode(x_a) to
    encode(x_b) (both ends included), then x_b; written as a grid PNG at ``out``."""
    import torch

    from .config import check
    from .errors import DataError
    from .models import MODELS
    from .plot import save_image_grid

    out = Path(out)
    check(out.suffix == ".png", f"--out must end in .png, got {out.name}")
    check(pairs > 0 and steps >= 2, f"--pairs must be positive and --steps at least 2, got {pairs} and {steps}")
    model, record = load_run(run_dir, device)
    if not model.interpolates:
        able = sorted(name for name, cls in MODELS.items() if cls.interpolates)
        raise ConfigError(f"{model.name} has no latent codes to interpolate; models that do: {', '.join(able)}")
    if record is None:
        raise DataError(f"{run_dir} has no run.json: interpolate a run directory made by `genlab train`")
    _, test = run_data(record)
    check(test.kind == "image", f"interpolate draws images; {test.name} holds points")
    check(2 * pairs <= len(test), f"--pairs {pairs} needs {2 * pairs} test images; {test.name} has {len(test)}")
    pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:2 * pairs]
    a, b = pick[:pairs], pick[pairs:]
    labelled = model.conditional and test.y is not None
    kwargs = {"labels_a": test.y[a], "labels_b": test.y[b]} if labelled else {}
    with torch.no_grad():
        kwargs = {k: v.to(model.device) for k, v in kwargs.items()}
        x_a, x_b = test.x[a].to(model.device), test.x[b].to(model.device)
        path = model.eval().interpolate(x_a, x_b, steps, **kwargs).cpu()  # (pairs, steps, C, H, W)
    rows = torch.cat([test.x[a][:, None], path, test.x[b][:, None]], 1)                     # originals at both ends
    return save_image_grid(rows.flatten(0, 1), out, nrow=steps + 2)


MONITOR_IMAGES = 256  # a small N: the Frechet distance is biased upwards, but its trend shows collapse
MONITOR_STORED = 10_000  # training images of an image store the monitor's feature network learns from


def monitors_for(train_data, test_data) -> tuple:
    """Cheap quality figures logged during training, so that collapse shows up as a curve:
    mode metrics on toys with known modes, a small-N Frechet distance on labelled images
    (none for two-domain data, whose models log their own losses and accuracies)."""
    if train_data.domain is not None:
        return ()
    if train_data.modes is not None:
        return (mode_monitor(train_data),)
    if train_data.kind == "image" and train_data.y is not None:
        if train_data.stored:  # the feature network and the real set from part of an image store
            train_data, test_data = train_data.dense(MONITOR_STORED), test_data.dense(MONITOR_STORED // 4)
        return (frechet_monitor(train_data, test_data),)
    return ()


def frechet_monitor(train_data, test_data, seed: int = 0):
    """A callable ``model -> {"fd_256": ..., "classes_hit": ...}`` on genlab's feature network
    (trained once and cached), against a fixed set of real images, from fixed noise draws;
    it warns when the samples, having hit at least half the classes, fall below half (mode
    dropping). A generator that has not yet learnt classes at all is not called collapsed."""
    import torch

    from .metrics.features import feature_network
    from .metrics.images import class_coverage, frechet_distance

    net = feature_network(train_data, test_data, seed=0)
    real = torch.cat([train_data.x, test_data.x])
    pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[:MONITOR_IMAGES]
    real_features = net.features(real[pick])
    k = train_data.num_classes
    best = 0

    def monitor(model) -> dict:
        nonlocal best
        generator = torch.Generator(model.device).manual_seed(seed)
        fake = model.sample(len(pick), generator=generator).detach().cpu()
        hit = class_coverage(net.probs(fake), k)["classes_hit"]
        best = max(best, hit)
        out = {f"fd_{len(pick)}": round(frechet_distance(real_features, net.features(fake)), 3), "classes_hit": hit}
        if hit < k / 2 <= best:
            out["warning"] = f"class coverage collapsed: samples hit {hit} of {k} classes (best so far {best})"
        return out

    return monitor


def mode_monitor(data, seed: int = 0):
    """A callable ``model -> mode metrics`` on a fixed set of noise draws; it warns when the
    modes covered, having reached at least half the data's modes, fall to half the best seen
    so far in this run (collapse or dropping). A generator that has not yet spread over the
    modes is not called collapsed (as for classes in :func:`frechet_monitor`)."""
    import torch

    from .metrics import mode_metrics

    best = 0

    def monitor(model) -> dict:
        nonlocal best
        generator = torch.Generator(model.device).manual_seed(seed)
        x = model.sample(MODE_SAMPLES, generator=generator)
        m = mode_metrics(x, data.modes, data.sigma)
        out = {"modes": m["modes"], "hq_percent": round(m["hq_percent"], 2), "reverse_kl": round(m["reverse_kl"], 4)}
        best = max(best, m["modes"])
        if 2 <= best and len(data.modes) / 2 <= best and m["modes"] <= best / 2:
            out["warning"] = f"mode coverage collapsed: {m['modes']} of {len(data.modes)} modes (best so far {best})"
        return out

    return monitor


def load_run(run_dir: str | Path, device: str | None = None):
    """The model of a complete run directory, on ``device`` (default auto), and its run.json."""
    from .api import load

    run_dir = Path(run_dir)
    record = read_json(run_dir / RUN, "run record") if (run_dir / RUN).exists() else None
    if record is not None and record.get("status") != "complete":
        raise GenlabError(f"run {run_dir} is not complete (status: {record.get('status')}); resume it with --resume")
    return load(run_dir, device or "auto"), record
