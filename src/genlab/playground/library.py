"""What the playground serves, without the web: the runs under a folder, their models kept
loaded, and each action (sample, walk, mix, translate, predict) as a function of checked
inputs that returns what a page shows.

Safety lives here: a run is named by its path relative to the runs folder and found only in
the listing of that folder (no path from a request is ever opened), weights load through
safetensors, and every count and size a request may set is capped.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import math
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, get_args, get_origin, Literal

from ..errors import ConfigError, DataError, GenlabError

MAX_IMAGES = 64          # images a request may draw
MAX_POINTS = 10_000      # points a request may draw (a scatter needs many)
MAX_TEXTS = 20           # text samples a request may draw
MAX_TOKENS = 400         # tokens a text sample may run to
MAX_WALK = 16            # points on a latent walk
MAX_MIX = 8              # rows and columns of a style-mixing grid
MAX_UPLOAD = 2 * 2**20   # bytes of an uploaded picture
MAX_UPLOAD_SIDE = 2048   # pixels on either side of an uploaded picture
CACHE_SIZE = 4           # models kept loaded
DEPTH = 2                # runs folders are searched this deep (compare-ring8/gan)


class NotFound(GenlabError):
    """A run or a file the listing does not hold (HTTP 404)."""


@dataclasses.dataclass
class Run:
    name: str            # the path under the runs folder, with "/": the only way a request names it
    path: Path
    record: dict


def is_run_folder(folder: Path) -> bool:
    """A real folder (not a link) holding a run record: a run, finished or not."""
    from ..runs import RUN

    return folder.is_dir() and not folder.is_symlink() and (folder / RUN).is_file()


def finished_run(root: Path, folder: Path) -> Run | None:
    """The run in ``folder`` (under ``root``) when it is complete with its weights, else None."""
    from ..io import read_json
    from ..runs import RUN

    try:
        record = read_json(folder / RUN, "run record")
    except GenlabError:
        return None
    if record.get("status") != "complete" or not (folder / "model.safetensors").is_file():
        return None
    return Run(folder.relative_to(root).as_posix(), folder, record)


def find_runs(root: Path) -> dict[str, Run]:
    """The complete runs under ``root`` (up to :data:`DEPTH` folders deep, not inside a run
    or through a link), by name."""
    found: dict[str, Run] = {}

    def visit(folder: Path, depth: int) -> None:
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return
        for child in children:
            if is_run_folder(child):
                run = finished_run(root, child)
                if run is not None:
                    found[run.name] = run
            elif depth < DEPTH:
                visit(child, depth + 1)

    visit(root, 1)
    return found


def run_named(root: Path, name: str) -> Run | None:
    """The run :func:`find_runs` would list as ``name``, found without listing the folder: a
    name of 1 to :data:`DEPTH` plain parts (no "..", ".", "" or backslash), every folder on the
    way a real folder that is not a run, the last one a finished run."""
    parts = name.split("/")
    if not 1 <= len(parts) <= DEPTH or any(p in ("", ".", "..") or "\\" in p for p in parts):
        return None
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if not folder.is_dir() or folder.is_symlink() or is_run_folder(folder):
            return None
    folder = folder / parts[-1]
    return finished_run(root, folder) if is_run_folder(folder) else None


def summary(run: Run) -> dict:
    """One line of the run list: model, data, steps, time, and the headline figures."""
    from ..io import read_json
    from ..models import MODELS

    record = run.record
    figures = dict(record.get("quality") or {})
    path = run.path / "eval.json"
    if path.is_file():
        try:
            scores = read_json(path, "evaluation")["scores"]
            figures = {k: v["model"] for k, v in scores.items() if isinstance(v.get("model"), (int, float))}
        except (GenlabError, KeyError, AttributeError, TypeError):
            pass
    fitted = record["model"] in MODELS and MODELS[record["model"]].fitted  # counted or EM: no steps
    return {"name": run.name, "model": record["model"], "data": record["data"]["spec"],
            "steps": "fitted" if fitted else record.get("steps"), "seconds": record.get("seconds"),
            "figures": dict(list(figures.items())[:4])}


def pictures(run: Run) -> list[str]:
    """The PNG files a run holds (samples, curves, mixing, translations...)."""
    return sorted(p.name for p in run.path.glob("*.png") if p.is_file())


def picture_path(run: Run, file: str) -> Path:
    """A PNG of the run named by its file name, from the listing only."""
    if file not in pictures(run):
        raise NotFound(f"{run.name} has no picture {file!r}")
    return run.path / file


# --------------------------------------------------------------------------- controls

def controls(model) -> list[dict]:
    """The model's sampling settings as page controls: name, kind (number, integer, choice,
    flag), default, the choices, and the note its dataclass writes beside the field."""
    from ..config import field_types, notes

    if model.Sampling is None:
        return []
    defaults = dataclasses.asdict(model.sampling({}))
    said = notes(model.Sampling)
    out = []
    for name, tp in field_types(model.Sampling).items():
        control = {"name": name, "default": defaults[name], "note": said.get(name, "")}
        if get_origin(tp) is Literal:
            control.update(kind="choice", choices=list(get_args(tp)))
        elif tp is bool:
            control["kind"] = "flag"
        elif tp is int:
            control["kind"] = "integer"
        elif tp is float:
            control["kind"] = "number"
        else:
            continue
        out.append(control)
    return out


def abilities(model) -> dict:
    """What the page offers for the model, from its declarations."""
    shape = getattr(model.config, "data_shape", ())
    kind = "text" if model.data_kinds == ("text",) else ("image" if len(shape) == 3 else "points")
    return {"kind": kind, "samples": not model.two_domains, "walks": model.walks,
            "mixes": model.mixes, "translates": model.translates,
            "classifies": model.classifies, "conditional": model.conditional,
            "num_classes": getattr(model.config, "num_classes", 0) if model.conditional else 0}


# --------------------------------------------------------------------------- models, kept

class Library:
    """The runs under ``root`` and the models loaded from them (the last :data:`CACHE_SIZE`),
    each used by one request at a time."""

    def __init__(self, root: str | Path, device: str | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ConfigError(f"runs folder {self.root} does not exist or is not a folder")
        self.device = device
        self.models: OrderedDict[str, tuple[Any, threading.Lock]] = OrderedDict()
        self.lock = threading.Lock()

    def runs(self) -> dict[str, Run]:
        return find_runs(self.root)

    def run(self, name: str) -> Run:
        run = run_named(self.root, name)
        if run is None:
            raise NotFound(f"no finished run called {name!r} under the runs folder")
        return run

    def model(self, run: Run):
        """The run's model, loaded once (safetensors weights, JSON config) and kept, and the
        lock a request holds while it uses it."""
        from ..api import load

        key = str(run.path)
        with self.lock:
            if key in self.models:
                self.models.move_to_end(key)
                return self.models[key]
        model = load(run.path, self.device or "auto")
        model.eval()
        with self.lock:
            self.models[key] = (model, threading.Lock())
            while len(self.models) > CACHE_SIZE:
                self.models.popitem(last=False)
            return self.models[key]

    def describe(self, name: str) -> dict:
        """A run's page: its card, its pictures, its eval table, and what it can do."""
        from ..cards import card

        run = self.run(name)
        model, _ = self.model(run)
        c = card(run.path)
        return {"name": run.name, "model": c["model"], "data": c["data"]["spec"],
                "steps": "fitted" if model.fitted else c["steps"],
                "seconds": c["seconds"], "device": str(model.device), "settings": c["settings"],
                "eval": (c["eval"] or {}).get("scores"), "quality": c["quality"], "pictures": pictures(run),
                "controls": controls(model), "abilities": abilities(model)}

    def act(self, name: str, action: str, request: dict, upload: bytes | None = None) -> dict:
        """Run ``action`` on the run's model with the request's values: the result and the
        seconds it took."""
        actions = {"sample": sample, "walk": walk, "mix": mix, "translate": translate, "predict": predict}
        if action not in actions:
            raise NotFound(f"no action {action!r}; actions: {', '.join(actions)}")
        run = self.run(name)
        model, lock = self.model(run)
        with lock:
            begin = time.perf_counter()
            result = actions[action](model, request, upload) if action in ("translate", "predict") \
                else actions[action](model, request)
            result["seconds"] = round(time.perf_counter() - begin, 4)
        return result


# --------------------------------------------------------------------------- request values

def whole(request: dict, key: str, default: int, low: int, high: int) -> int:
    """An integer field of a request, in [low, high], or one line naming it."""
    value = request.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{key} must be a whole number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise ConfigError(f"{key} must be a whole number, got {value!r}")
    if not low <= number <= high:
        raise ConfigError(f"{key} must lie in {low}..{high:,}, got {int(number):,}")
    return int(number)


def sampling_settings(model, request: dict) -> dict:
    """The request's sampling settings, checked by the model (one line for a bad one)."""
    settings = request.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError("settings must be an object of sampling settings")
    settings = {k: v for k, v in settings.items() if v is not None and v != ""}
    model.sampling(settings)
    if "max_tokens" in settings and int(float(settings["max_tokens"])) > MAX_TOKENS:
        raise ConfigError(f"max_tokens must be at most {MAX_TOKENS} here, got {settings['max_tokens']}")
    return settings


def labels_of(model, request: dict, n: int):
    """Labels for a conditional model: all one class when the request names one, else
    balanced; a label given to an unconditional model is refused."""
    label = request.get("label")
    if label in (None, "", "all"):
        return None
    if not model.conditional:
        raise ConfigError(f"{model.name} is not class-conditional: it takes no label")
    return model.labels_for(n, whole(request, "label", 0, 0, model.config.num_classes - 1))


def png(image) -> str:
    """A PIL image as a data: URL."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def picture_of(x, nrow: int | None = None) -> str:
    from ..plot import image_grid, scatter

    if x.dim() == 4:
        return png(image_grid(x.cpu(), nrow))
    return png(scatter(x.cpu().float(), size=420))


# --------------------------------------------------------------------------- actions

def sample(model, request: dict) -> dict:
    """``n`` samples at ``seed`` with the request's settings: a picture, or the texts."""
    import torch

    kind = abilities(model)["kind"]
    if model.two_domains:
        raise ConfigError(f"{model.name} does not sample: it " + ("translates" if model.translates else "predicts"))
    cap = {"text": MAX_TEXTS, "image": MAX_IMAGES, "points": MAX_POINTS}[kind]
    n = whole(request, "n", min(cap, 16 if kind != "points" else 2_000), 1, cap)
    seed = whole(request, "seed", 0, 0, 2**31 - 1)
    settings = sampling_settings(model, request)
    if kind == "text":
        prompt = request.get("prompt") or ""
        if not isinstance(prompt, str) or len(prompt) > 1_000:
            raise ConfigError("prompt must be text of at most 1,000 characters")
        if prompt.strip():
            settings["prompt"] = prompt
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        x = model.sample(n, labels=labels_of(model, request, n), generator=generator, **settings)
    if kind == "text":
        return {"texts": [" ".join(t.split()) for t in x]}
    return {"image": picture_of(x)}


def slerp(a, b, t):
    """The great-circle path between two Gaussian noises (its norm stays typical, where a
    straight line's dips through the middle; Shoemake 1985, as used by White 2016)."""
    import torch

    flat_a, flat_b = a.flatten(), b.flatten()
    cos = torch.clamp(torch.dot(flat_a, flat_b) / (flat_a.norm() * flat_b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return torch.stack([(1 - s) * a + s * b for s in t])
    return torch.stack([(torch.sin((1 - s) * omega) * a + torch.sin(s * omega) * b) / torch.sin(omega) for s in t])


def walk(model, request: dict) -> dict:
    """Samples along the path between the noises of two seeds (DDIM's deterministic path for
    ddpm, constant noise for stylegan)."""
    import torch

    if not model.walks:
        raise ConfigError(f"{model.name} does not map noise to samples: no latent walk")
    steps = whole(request, "steps", 8, 2, MAX_WALK)
    seeds = [whole(request, key, i, 0, 2**31 - 1) for i, key in enumerate(("seed_a", "seed_b"))]
    settings = sampling_settings(model, request)
    ends = [model.noise(1, torch.Generator().manual_seed(s))[0] for s in seeds]
    z = slerp(*ends, torch.linspace(0, 1, steps))
    with torch.no_grad():
        x = model.from_noise(z, labels=labels_of(model, request, steps), **settings)
    return {"image": picture_of(x, nrow=steps)}


def mix(model, request: dict) -> dict:
    """StyleGAN's style mixing: coarse styles by row, fine styles by column."""
    import torch

    if not model.mixes:
        raise ConfigError(f"{model.name} has no styles to mix")
    rows, cols = (whole(request, key, 4, 1, MAX_MIX) for key in ("rows", "cols"))
    seed = whole(request, "seed", 0, 0, 2**31 - 1)
    layers = model.sampler.num_ws
    crossover = whole(request, "crossover", max(1, layers // 2), 1, layers - 1)
    truncation = float(sampling_settings(model, request).get("truncation", 1.0))
    with torch.no_grad():
        x = model.mixing_grid(rows, cols, crossover, generator=torch.Generator().manual_seed(seed),
                              truncation=truncation)
    from ..plot import image_grid

    return {"image": png(image_grid(x.cpu(), cols + 1))}


def uploaded_image(model, upload: bytes | None):
    """An uploaded picture as the model's input: (1, C, H, W) in [0, 1] at its data's size.
    Anything but a readable PNG/JPEG/GIF/BMP/WebP picture of sane size is refused."""
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    if not upload:
        raise DataError("no picture was uploaded")
    if len(upload) > MAX_UPLOAD:
        raise DataError(f"the picture is {len(upload) / 2**20:.1f} MB; at most {MAX_UPLOAD // 2**20} MB")
    try:
        image = Image.open(io.BytesIO(upload))
        if image.format not in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
            raise DataError(f"the upload is a {image.format} file; send a PNG or JPEG picture")
        if max(image.size) > MAX_UPLOAD_SIDE:
            raise DataError(f"the picture is {image.size[0]}x{image.size[1]}; at most {MAX_UPLOAD_SIDE} a side")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as e:
        raise DataError(f"the upload is not a picture genlab can read ({type(e).__name__})") from None
    c, h, w = model.config.data_shape
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    image = image.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.LANCZOS)
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    x = x[None] if c == 1 else x.permute(2, 0, 1)
    return x[None].to(model.device)


def translate(model, request: dict, upload: bytes | None) -> dict:
    """CycleGAN: the uploaded picture, its translation, and the translation back."""
    import torch

    if not model.translates:
        raise ConfigError(f"{model.name} does not translate pictures")
    direction = request.get("direction", "a2b")
    if direction not in ("a2b", "b2a"):
        raise ConfigError(f"direction must be a2b or b2a, got {direction!r}")
    x = uploaded_image(model, upload)
    with torch.no_grad():
        there, back = model.cycle(x, direction)
    from ..plot import image_grid

    return {"image": png(image_grid(torch.cat([x, there, back]).cpu(), 3))}


def predict(model, request: dict, upload: bytes | None) -> dict:
    """DANN: the class probabilities of the uploaded picture, or of the request's ``point``."""
    import torch

    if not model.classifies:
        raise ConfigError(f"{model.name} does not classify")
    if abilities(model)["kind"] == "points":
        point = request.get("point")
        dims = model.config.data_shape[0]
        if not (isinstance(point, list) and len(point) == dims and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in point)):
            raise ConfigError(f"point must be a list of {dims} finite numbers, got {point!r}")
        x = torch.tensor([point], dtype=torch.float32, device=model.device)
    else:
        x = uploaded_image(model, upload)
    with torch.no_grad():
        p = model.predict_proba(x)[0].cpu()
    return {"probabilities": [round(float(v), 4) for v in p], "predicted": int(p.argmax())}
