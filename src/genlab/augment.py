"""``genlab augment``: does generated data help a classifier trained on few real images?

The lecture notes claim that a class-conditional generative model can enlarge a small
labelled training set. This command measures it. For each k (real images per class) and
each seed, genlab's own classifier (the feature network of ``metrics/features.py``: the same
architecture, trained for the same fixed number of steps every time, see
:class:`ClassifierSettings`) is trained three ways and scored on the test split every run
holds out (``runs.load_split``):

* **real**: on k real images per class, a seeded class-balanced pick from the run's
  training split (the picks of one seed are nested: its 10 per class are among its 50);
* **real + MODEL**: on the same real images plus ``per_class`` samples of every class from a
  class-conditional model (cgan, cvae, or ddpm with conditional=true and classifier-free
  guidance);
* **MODEL**: on the generated samples alone.

Where the generator learns from decides whether the comparison is honest. A generator
trained on every labelled training image would hand the k-shot classifier knowledge of
images it is said never to have seen. Here every generator learns from exactly the real
images its classifier sees: the k-per-class pick of the same seed (k = all: the whole
training split), so the only thing added is what the model makes of those images. That costs
one generator per model, k and seed, each trained for the same number of steps whatever k is.

The classifier of one seed starts from the same initial weights in all three settings, and
the seed picks the real images and trains and samples the generator, so the settings are
compared in pairs. Real and generated images are pooled as they are (no reweighting), and
the k = all column shows what the samples do to a classifier that already has plenty.

Everything lands in one folder (default ``runs/augment-DATA``), which is also the state
that lets an interrupted or extended command continue::

    augment-mnist5k/
        picks/k10-seed0.npz    the pick, laid out so the usual 80/20 split trains on exactly it
        cgan-k10-seed0/        an ordinary run directory per generator (genlab show / sample it)
        cells.json             every classifier accuracy measured so far, reused on a rerun
        augment.json           the table: mean and standard error over the seeds, the protocol
        augment.png            accuracy against k, one line per training set, error bars

A finished generator is reused when the command is run again with the same ``--out``; one
cut short resumes from its checkpoint; one trained with other settings is refused (give
another ``--out``). Running one model, then another, into the same folder, then both
(``--model cgan,cvae``) draws them in one table and figure without training anything again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import runs
from .data import Dataset
from .distributed import resolve_device
from .errors import ConfigError, DataError, GenlabError, did_you_mean
from .io import atomic_write, read_json, write_json
from .metrics.features import FeatureNet, FeatureNetConfig, random_shift
from .models import MODELS
from .trainer import stream_seed

RESULT = "augment.json"
FIGURE = "augment.png"
CELLS = "cells.json"
PICKS = "picks"
FORMAT = "genlab-augment"
FORMAT_VERSION = 1
SAMPLE_CHUNK = 1000  # generated images drawn at once

# The class-conditional models augment takes, and the settings that make each one conditional.
GENERATORS: dict[str, dict] = {"cgan": {}, "cvae": {}, "ddpm": {"conditional": True}}

# Each model's generator settings over its preset for the data (its benchmark's settings);
# --steps and --set override them. On mnist5k, 1,000 steps put 79 % (cgan, batch 32) and 83 %
# (cvae) of samples in their class by genlab's feature network (conv cgan at width 16: 26 %;
# at batch 64 for 600 steps: 57 %; the mlp cgan: 10 %), and a command of 3 k x 3 seeds
# (9 generators, 27 classifiers) took 15 (cgan) and 14 (cvae) minutes on one thread of a
# shared 2-core machine. ddpm keeps its preset's steps (2,500 on mnist5k: about 30 CPU
# minutes a generator, a GPU's work) and samples with guidance w = 1. monitor=false: the
# small-N Frechet monitor would train a feature network on each pick and sample at every log.
BUDGETS: dict[str, dict] = {
    "cgan": {"batch_size": 32, "steps": 1_000},
    "cvae": {"batch_size": 64, "steps": 1_000},
    "ddpm": {"guidance": 1.0},
}
COMMON = {"monitor": False}


@dataclass(frozen=True)
class ClassifierSettings:
    """How every classifier is trained: Adam on cross-entropy for a fixed number of steps
    (not epochs, so 100 real images and 5,100 real and generated ones get the same budget),
    a one-cycle learning rate as the feature network's, random shifts of up to ``max_shift``
    pixels (the feature network's augmentation)."""

    steps: int = 500
    batch_size: int = 64
    lr: float = 2e-3
    max_shift: int = 1


# --------------------------------------------------------------------------- checking the request

def parse_models(models: str | list[str]) -> list[str]:
    """Model names, each class-conditional, or one line saying which ones are."""
    names = [m.strip() for m in models.split(",")] if isinstance(models, str) else list(models)
    names = [m for m in names if m]
    if not names:
        raise ConfigError(f"--model needs a class-conditional model: {', '.join(GENERATORS)}")
    takes = (f"augment takes the class-conditional models {', '.join(GENERATORS)} (ddpm trained with "
             f"conditional=true and sampled with classifier-free guidance)")
    for name in names:
        if name not in MODELS:
            raise ConfigError(f"unknown model {name!r}{did_you_mean(name, GENERATORS)}; {takes}")
        if name not in GENERATORS:
            conditional = any(f.name == "conditional" for f in fields(MODELS[name].Config))
            raise ConfigError(f"augment does not take {name}; {takes}" if conditional else
                              f"{name} is not class-conditional; {takes}")
    return list(dict.fromkeys(names))


def parse_k(text: str | list) -> list[int | str]:
    """``"10,50,all"`` as [10, 50, "all"]: positive whole numbers in increasing order, then all."""
    items = [str(t).strip() for t in (text.split(",") if isinstance(text, str) else text)]
    ks: list[int | str] = []
    for item in items:
        if item.lower() == "all":
            ks.append("all")
            continue
        if not item.isdecimal() or int(item) < 1:
            raise ConfigError(f"--k takes positive whole numbers of images per class or 'all', got {item!r}")
        ks.append(int(item))
    if not ks:
        raise ConfigError("--k needs at least one number of images per class (or 'all')")
    numbers = sorted({k for k in ks if k != "all"})
    return [*numbers, *(["all"] if "all" in ks else [])]


def check_counts(seeds: int, per_class: int, steps: int | None) -> None:
    for flag, value in (("--seeds", seeds), ("--per-class", per_class)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{flag} must be a positive whole number, got {value}")
    if steps is not None and steps < 1:
        raise ConfigError(f"--steps must be a positive number of generator training steps, got {steps}")


def load_data(spec: str):
    """(train, test) of ``spec`` split as every run splits it, checked to be labelled images."""
    train, test = runs.load_split(spec)
    if train.domain is not None:
        raise DataError(f"{spec} holds two domains; augment classifies one labelled image dataset")
    if train.kind != "image":
        raise DataError(f"augment classifies images; {train.name} holds {train.kind}")
    if train.y is None or not train.num_classes:
        raise DataError(f"augment needs class labels, and {train.name} has none")
    return train.dense(), test.dense()


def class_counts(data) -> torch.Tensor:
    return torch.bincount(data.y.cpu(), minlength=data.num_classes)


def check_k(ks: list, train) -> None:
    counts = class_counts(train)
    smallest = int(counts.min())
    too_big = [k for k in ks if k != "all" and k > smallest]
    if too_big:
        c = int(counts.argmin())
        raise ConfigError(f"--k {too_big[0]} is more than the smallest class of {train.name}'s training split "
                          f"has (class {c}: {smallest} images); use k <= {smallest} or 'all'")


# --------------------------------------------------------------------------- the real images of each cell

def pick(train, k: int | str, seed: int):
    """k images of every class (all of them for "all"), a seeded pick: one permutation per
    seed, so the picks of a seed are nested (its first 10 per class are among its first 50)."""
    if k == "all":
        return train
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(stream_seed(seed, "augment/pick")))
    y = train.y.cpu()[order]
    idx = torch.cat([order[y == c][:k] for c in range(train.num_classes)])
    return replace(train, x=train.x[idx], y=train.y[idx], source=f"{train.source}; {k} per class, seed {seed}")


def pick_spec(out: Path, real, test, k: int | str, seed: int) -> str:
    """The data spec of an .npz that ``runs.load_split`` splits into exactly ``real`` for
    training (and real test images held out): so a generator run is an ordinary run that
    trains on the pick and nothing else. Written once; checked on every call."""
    path = out.resolve() / PICKS / (f"k{k}-seed{seed}.npz" if k != "all" else "all.npz")  # runs resume anywhere
    spec = f"npz:{path}"
    if not (path.is_file() and same_images(runs.load_split(spec)[0], real)):
        write_layout(path, real, test)
        if not same_images(runs.load_split(spec)[0], real):
            raise RuntimeError(f"{path} does not split into its pick: genlab's split changed under augment")
    return spec


def write_layout(path: Path, real, test) -> None:
    """Place ``real`` where the seeded split takes its training part and test images where it
    takes its held-out part; images of 256 levels stay 8-bit (their level count survives)."""
    m, n = len(real), len(real) + 1
    while n - int(round(n * runs.TEST_FRACTION)) < m:  # the split's size rule: n_train grows by 0 or 1 with n
        n += 1
    probe = Dataset(name="probe", x=torch.arange(n, dtype=torch.float64)[:, None])
    train_at, test_at = (part.x[:, 0].long() for part in probe.split(runs.TEST_FRACTION, seed=runs.SPLIT_SEED))
    x = torch.empty(n, *real.shape)
    y = torch.empty(n, dtype=torch.long)
    x[train_at], y[train_at] = real.x.cpu().float(), real.y.cpu()
    fill = torch.arange(len(test_at)) % len(test)  # a guard: the held-out part is never larger than the test split
    x[test_at], y[test_at] = test.x.cpu().float()[fill], test.y.cpu()[fill]
    arrays = {"x": (x * 255).round().to(torch.uint8).numpy() if real.n_bins == 256 else x.numpy(), "y": y.numpy()}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object, or numpy appends .npz to the name
            np.savez_compressed(f, **arrays)

    atomic_write(path, write)


def same_images(a, b) -> bool:
    return len(a) == len(b) and torch.equal(a.y.cpu(), b.y.cpu()) and torch.allclose(a.x.cpu().float(),
                                                                                     b.x.cpu().float(), atol=1e-6)


# --------------------------------------------------------------------------- generators

def generator_settings(model: str, data: str, steps: int | None, settings: dict, device: str | None,
                       progress: bool) -> dict:
    """A generator's settings: its preset for ``data``, augment's budget, the user's --set, --steps."""
    values = {**MODELS[model].presets.get(data, {}), **BUDGETS[model], **COMMON, **settings, **GENERATORS[model]}
    if steps is not None:
        values["steps"] = steps
    if device is not None:
        values["device"] = device
    values["progress"] = progress
    return values


# training settings that change how a run reports, not what it learns
IGNORED = {"progress", "device", "log_every", "sample_every", "checkpoint_every", "workers", "tensorboard"}


def learnt(record: dict) -> dict:
    """What a generator run learnt from (its pick's file, whose contents ``pick_spec`` checks)
    and with which settings, flat and as JSON holds it."""
    flat = {"model": record["model"], "data": Path(record["data"]["spec"]).name,
            **{f"model.{k}": v for k, v in record["model_config"].items()},
            **{f"train.{k}": v for k, v in record["train"].items() if k not in IGNORED}}
    return json.loads(json.dumps(flat))


def same_learning(a: dict, b: dict) -> bool:
    """Whether two run records learn the same; a setting only one of them has (one a newer
    genlab added, at its default) does not count."""
    x, y = learnt(a), learnt(b)
    return all(x[k] == y[k] for k in x.keys() & y.keys())


def fingerprint(record: dict) -> str:
    """A short hash of what a generator learnt from and how: the key of its cells."""
    return hashlib.sha256(json.dumps(learnt(record), sort_keys=True).encode()).hexdigest()[:12]


def existing(run_dir: Path, asked: dict) -> dict | None:
    """The run.json of a generator run made before, or None; one made with other settings
    than ``asked`` (a dry run's record) is refused."""
    if not (run_dir / runs.RUN).is_file():
        return None
    record = read_json(run_dir / runs.RUN, "run record")
    if not same_learning(record, asked):
        raise ConfigError(f"{run_dir} holds a {record.get('model')} trained with other settings than this "
                          f"command asks (steps, --set or data): give another --out, or remove it")
    return record


def generator(model: str, spec: str, settings: dict, run_dir: Path, device: str | None, asked: dict):
    """The trained generator of ``run_dir`` and its run.json: reused when complete, resumed
    when cut short, trained when missing (``asked``: its settings, resolved by a dry run)."""
    record = existing(run_dir, asked)
    if record is not None:
        if record.get("status") == "complete":
            return runs.load_run(run_dir, device)
        if record.get("status") == "failed":
            raise GenlabError(f"generator run {run_dir} failed ({record.get('error')}); remove it or change "
                              f"its settings")
        if (run_dir / "checkpoint.pt").is_file():
            say(f"resuming {run_dir}")
            runs.resume(run_dir, progress=settings["progress"])
            return runs.load_run(run_dir, device)
        shutil.rmtree(run_dir)  # cut short before its first checkpoint: nothing to keep
    say(f"training {model} on {spec.partition(':')[2]} for {asked['train']['steps']} steps into {run_dir}")
    runs.start(model, spec, settings, out=run_dir)
    return runs.load_run(run_dir, device)


@torch.no_grad()
def generate(model, num_classes: int, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` samples of every class (images in [0, 1]) and their labels, seeded."""
    say(f"drawing {per_class} images of each class from {model.name}")
    model.eval()
    g = torch.Generator().manual_seed(stream_seed(seed, "augment/sample"))
    y = torch.arange(num_classes).repeat_interleave(per_class)
    x = [model.sample(len(chunk), labels=chunk, generator=g).float().cpu().clamp(0, 1)
         for chunk in y.split(SAMPLE_CHUNK)]
    return torch.cat(x), y


# --------------------------------------------------------------------------- the classifier

def train_classifier(x: torch.Tensor, y: torch.Tensor, test, settings: ClassifierSettings, seed: int,
                     device: torch.device) -> float:
    """Held-out accuracy on ``test`` of genlab's feature network trained on (x, y) for
    ``settings.steps`` steps; its initial weights, batches and shifts come from ``seed`` alone."""
    c, h, w = test.shape
    config = FeatureNetConfig(in_channels=c, height=h, width=w, num_classes=test.num_classes)
    g = torch.Generator().manual_seed(stream_seed(seed, "augment/classifier"))  # batches and shifts
    with torch.random.fork_rng(devices=[]):  # the initial weights, without touching the caller's stream
        torch.manual_seed(seed)
        net = FeatureNet(config).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, settings.lr, total_steps=settings.steps, pct_start=0.15)
    net.train()
    for idx in batches(len(x), settings.batch_size, settings.steps, g):
        xb = random_shift(x[idx], settings.max_shift, g).to(device)
        loss = F.cross_entropy(net(xb), y[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return net.eval().accuracy(test)


def batches(n: int, size: int, steps: int, g: torch.Generator):
    """``steps`` index batches of ``size``, walking through one shuffle of 0..n-1 after another
    (a batch may straddle two; with n < size an image appears more than once)."""
    order = torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        while len(order) < size:
            order = torch.cat([order, torch.randperm(n, generator=g)])
        yield order[:size]
        order = order[size:]


# --------------------------------------------------------------------------- the cells and their summary

class Cells:
    """Accuracies measured so far, by key, in ``OUT/cells.json``: kept only under the same
    classifier, data and split, and written after every new one."""

    def __init__(self, path: Path, protocol: dict):
        self.path, self.protocol = path, protocol
        saved = read_json(path, "augment cells") if path.is_file() else {}
        self.values = saved.get("cells", {}) if saved.get("protocol") == protocol else {}

    def get(self, key: str, measure) -> float:
        if key not in self.values:
            self.values[key] = measure()
            write_json(self.path, {"protocol": self.protocol, "cells": self.values})
        return self.values[key]


def summary(values: list[float]) -> dict:
    """Mean and standard error (sample standard deviation / sqrt(n); None for one seed)."""
    n = len(values)
    mean = sum(values) / n
    stderr = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n) if n > 1 else None
    return {"mean": round(mean, 5), "stderr": None if stderr is None else round(stderr, 5),
            "accuracies": [round(v, 5) for v in values]}


def say(message: str) -> None:
    print(f"genlab: augment: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the command

def run_augment(data: str, models: str | list[str], k: str | list = "10,50,all", seeds: int = 3,
                per_class: int = 500, out: str | Path | None = None, device: str | None = None,
                progress: bool = True, steps: int | None = None, settings: dict | None = None,
                classifier: ClassifierSettings = ClassifierSettings()) -> dict:
    """Measure, write augment.json and augment.png in ``out``, print the table; returns the
    result. ``steps`` and ``settings`` are the generators' (``--steps``, ``--set``)."""
    names, ks = parse_models(models), parse_k(k)
    check_counts(seeds, per_class, steps)
    train, test = load_data(data)
    check_k(ks, train)
    out = Path(out) if out is not None else Path("runs") / f"augment-{safe_name(data)}"
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file")
    chosen = {m: generator_settings(m, data, steps, dict(settings or {}), device, progress) for m in names}
    picks = {(kk, s): pick(train, kk, s) for kk in ks for s in range(seeds)}
    specs = {key: pick_spec(out, real, test, *key) for key, real in picks.items()}
    asked = {(m, *key): runs.start(m, spec, chosen[m], dry_run=True) for m in names for key, spec in specs.items()}
    for (m, kk, s), record in asked.items():  # every setting checked, and the runs made before, before any work
        existing(out / f"{m}-k{kk}-seed{s}", record)
    protocol = {"data": data, "split": {"test_fraction": runs.TEST_FRACTION, "seed": runs.SPLIT_SEED},
                "classifier": asdict(classifier)}
    job = Job(Cells(out / CELLS, protocol), test, classifier, resolve_device(device or "auto"))
    accuracy = {("real", kk, s): job.cell(f"real/k={kk}/seed={s}", f"real k={kk} seed {s}",
                                          lambda: (real.x, real.y), s) for (kk, s), real in picks.items()}
    generated = {}
    for m in names:
        for (kk, s), real in picks.items():
            run_dir = out / f"{m}-k{kk}-seed{s}"
            model, record = generator(m, specs[kk, s], chosen[m], run_dir, device, asked[m, kk, s])
            generated[m, kk, s] = (run_dir, record)
            fake = functools.cache(lambda: generate(model, train.num_classes, per_class, s))  # drawn once, if needed
            key = f"k={kk}/seed={s}/per_class={per_class}/{m}={fingerprint(record)}"
            accuracy[f"real+{m}", kk, s] = job.cell(f"real+{key}", f"real+{m} k={kk} seed {s}", lambda: (
                torch.cat([real.x, fake()[0]]), torch.cat([real.y, fake()[1]])), s)
            accuracy[m, kk, s] = job.cell(key, f"{m} k={kk} seed {s}", fake, s)
    result = assemble(data, names, ks, seeds, per_class, train, test, classifier, accuracy, generated)
    write_json(out / RESULT, result)
    draw(result, out / FIGURE)
    print(table(result))
    print(f"results in {out / RESULT} and {out / FIGURE}; generator runs in {out}/MODEL-kK-seedS")
    return result


@dataclass
class Job:
    """What every classifier of one command shares: the cache, the test split, the settings."""

    cells: Cells
    test: Dataset
    classifier: ClassifierSettings
    device: torch.device

    def cell(self, key: str, what: str, data, seed: int) -> float:
        """The accuracy under ``key``: cached, or measured on ``data()``'s (x, y), called only then."""
        def measure() -> float:
            begin = time.perf_counter()
            value = train_classifier(*data(), self.test, self.classifier, seed, self.device)
            say(f"{what}: held-out accuracy {value:.4f} ({time.perf_counter() - begin:.0f} s)")
            return value

        return self.cells.get(key, measure)


def safe_name(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(spec).name)


def training_sets(names: list[str]) -> list[str]:
    return ["real", *[s for m in names for s in (f"real+{m}", m)]]


def label(name: str) -> str:
    if name == "real":
        return "real only"
    return f"real + {name[5:]}" if name.startswith("real+") else f"{name} only"


def assemble(data, names, ks, seeds, per_class, train, test, classifier, accuracy, generated) -> dict:
    """augment.json: the protocol, each generator's settings and runs, every cell's summary."""
    c, h, w = test.shape
    generators = {}
    for m in names:
        first = generated[m, ks[0], 0][1]
        generators[m] = {
            "learns_from": "the same real images its classifier sees: the k-per-class pick of the same seed "
                           "(k = all: the whole training split); never the other labelled training images",
            "model_config": first["model_config"], "train": first["train"],
            "runs": {str(kk): [str(generated[m, kk, s][0]) for s in range(seeds)] for kk in ks},
            "train_seconds": round(sum(generated[m, kk, s][1].get("seconds", 0) for kk in ks
                                       for s in range(seeds)), 1),
        }
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "data": {"spec": data, "n_train": len(train), "n_test": len(test), "num_classes": train.num_classes,
                 "train_per_class": class_counts(train).tolist(),
                 "test_split": "runs.load_split: the held-out 20 % every run uses"},
        "k": ks, "all_per_class_mean": round(len(train) / train.num_classes, 1),
        "seeds": list(range(seeds)), "per_class": per_class,
        "classifier": {"network": "genlab.metrics.features.FeatureNet",
                       "architecture": asdict(FeatureNetConfig(c, h, w, test.num_classes)),
                       "training": asdict(classifier),
                       "note": "the same network and the same number of steps for every training set; "
                               "one seed gives the same initial weights in every setting"},
        "generators": generators,
        "results": {name: {str(kk): summary([accuracy[name, kk, s] for s in range(seeds)]) for kk in ks}
                    for name in training_sets(names)},
    }


def table(result: dict) -> str:
    """The results as text: one row per training set, one column per k, mean ± s.e."""
    ks = result["k"]
    heads = [f"k={kk}" if kk != "all" else f"k=all (~{result['all_per_class_mean']:.0f})" for kk in ks]
    n = len(result["seeds"])
    steps = result["classifier"]["training"]["steps"]
    lines = [f"{result['data']['spec']}: held-out accuracy on its {result['data']['n_test']:,} test images, "
             f"mean ± standard error over {n} seed{'s' * (n > 1)}; classifier {steps} steps; "
             f"{result['per_class']} generated images per class"]
    width = max(len("training set"), *(len(label(name)) for name in result["results"]))
    lines.append(f"{'training set':<{width}}  " + "  ".join(f"{h:<16}" for h in heads).rstrip())
    for name, row in result["results"].items():
        cells = [f"{row[str(kk)]['mean']:.4f}" + (f" ± {row[str(kk)]['stderr']:.4f}" if row[str(kk)]["stderr"]
                                                   is not None else "") for kk in ks]
        lines.append(f"{label(name):<{width}}  " + "  ".join(f"{c:<16}" for c in cells).rstrip())
    return "\n".join(lines)


def draw(result: dict, path: Path) -> Path:
    """Accuracy against real images per class (log scale; all at the split's mean per class),
    one line per training set with standard-error bars; a model's lines share its colour,
    solid with the real images, dashed without."""
    from .plot import figure as new_figure
    from .plot import save_figure

    ks = result["k"]
    xs = [kk if kk != "all" else result["all_per_class_mean"] for kk in ks]
    figure = new_figure(640, 480)
    ax = figure.add_subplot()
    colours = iter(["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"])
    colour = {}
    for name, row in result["results"].items():
        model = name.removeprefix("real+")
        if model != "real" and model not in colour:
            colour[model] = next(colours, None)
        means = [row[str(kk)]["mean"] for kk in ks]
        errors = [row[str(kk)]["stderr"] or 0.0 for kk in ks]
        ax.errorbar(xs, means, yerr=errors, label=label(name), marker="o", capsize=3,
                    color="black" if name == "real" else colour[model],
                    linestyle="--" if name in result["generators"] else "-")
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(kk) if kk != "all" else f"all (~{xs[i]:.0f})" for i, kk in enumerate(ks)])
    ax.minorticks_off()
    ax.set_xlabel("real training images per class (k)")
    ax.set_ylabel("held-out accuracy")
    n = len(result["seeds"])
    ax.set_title(f"{result['data']['spec']}: classifier on real, real + generated and generated images\n"
                 f"mean ± standard error over {n} seed{'s' * (n > 1)}; {result['per_class']} generated per class",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return save_figure(figure, path)
