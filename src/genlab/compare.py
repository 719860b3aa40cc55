"""``genlab compare``: several families on one dataset, at one budget, judged by one protocol.

The lecture notes end on a trade-off: no family wins at once on sample quality, on
diversity (how much of the data's modes its samples cover) and on sampling speed. This
command puts numbers on it. Every model

* trains on the same split of the same data (a preset's data settings, such as pixelcnn's
  binarisation of mnist5k, are dropped so that every model sees the same images), from its
  preset for the data (its benchmark's settings), for the same budget: a number of steps, or
  minutes of training time turned into steps by timing a short probe run of that model (the
  quality monitors are off, so that the budget buys training rather than a slow sampler's
  monitoring; ``--set monitor=true`` turns them on, inside the budget);
* is scored by ``genlab eval`` on the same held-out data with the same N and seed, so its
  figures stand beside one real-vs-real baseline;
* has its sampling speed measured: samples per second drawing :data:`SPEED_SAMPLES` at once.

Everything lands in one folder (default ``runs/compare-DATA``)::

    compare-ring8/
        gmm/ gan/ ...     one ordinary run directory per model (genlab show / report / sample them)
        compare.json      the table, the budget, the protocol and the versions
        compare.html      the table and the figure, one self-contained page
        compare.png       quality against diversity, one point per model, sized by sampling speed

Models are taken in turn and the folder is the state: rerun the same command after an
interruption and finished runs are kept (their figures too); a run cut short resumes from its
checkpoint. A model that cannot take the data is skipped with its reason and the rest go on.
"""

from __future__ import annotations

import math
import re
import shutil
import sys
import time
from pathlib import Path

from .errors import ConfigError, GenlabError

RESULT = "compare.json"
PAGE = "compare.html"
FIGURE = "compare.png"
SPEED_SAMPLES = 100  # samples drawn at once to time sampling
SPEED_REPEATS = 5  # draws timed, the fastest kept
PROBE_SECONDS = 15.0  # longest probe run that times a model's steps
BUDGET_SHARE = 0.9  # of a time budget given to training steps (the rest: logging, monitors, pictures)

# (score key, column title) in the order the table shows them, by the kind of data
COLUMNS = {
    "image": [("frechet_distance", "FD"), ("precision", "precision"), ("recall", "recall"),
              ("coverage", "coverage"), ("classes_hit", "classes")],
    "points": [("modes", "modes"), ("hq_percent", "% HQ"), ("reverse_kl", "rev. KL"), ("sliced_w1", "sliced W1"),
               ("mmd2_rbf", "MMD^2")],
    "text": [],
}
# where each kind's figure reads quality (y) and diversity (x)
AXES = {"image": ("recall", "precision"), "points": ("modes", "hq_percent")}
# the likelihood figure of a model, in order of preference: (score key, sign, unit)
LIKELIHOODS = [("iwae_bits_per_dim", 1, "bits/dim"), ("bits_per_dim", 1, "bits/dim"),
               ("bits_per_token", 1, "bits/token"), ("iwae_nll", 1, "nats"), ("nll", 1, "nats"),
               ("negative_elbo", 1, "nats"), ("log_likelihood", -1, "nats")]


# --------------------------------------------------------------------------- the budget

def parse_budget(text: str) -> tuple[str, float]:
    """``("steps", 2000)`` from "2000" or "2000steps"; ``("seconds", 600)`` from "10m",
    "600s", "1.5h" or "10min". Anything else, and a budget that is not positive, is refused."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(steps?|s|sec|seconds?|m|min|minutes?|h|hours?)?\s*",
                         str(text).lower())
    if not match:
        raise ConfigError(f"--budget must be steps (2000) or training time (10m, 90s, 1h), got {text!r}")
    value, unit = float(match[1]), match[2] or "steps"
    if value <= 0:
        raise ConfigError(f"--budget must be positive, got {text!r}")
    if unit.startswith("step"):
        if value != int(value):
            raise ConfigError(f"--budget in steps must be a whole number, got {text!r}")
        return "steps", int(value)
    return "seconds", value * {"s": 1, "m": 60, "h": 3600}[unit[0]]


def describe_budget(kind: str, value: float) -> str:
    if kind == "steps":
        return f"{value:,} steps"
    return f"{value / 60:g} min of training" if value >= 60 else f"{value:g} s of training"  # CPU time on a CPU


def probe_rate(model_name: str, data: str, settings: dict) -> float:
    """Seconds per training step of ``model_name`` with ``settings`` on this machine: a few
    steps to warm up, then about :data:`PROBE_SECONDS` of steps, timed, in memory (no files).
    On a CPU the seconds are the process's CPU time, which other work on a busy machine does
    not inflate; on a GPU, wall-clock time."""
    from .runs import prepare
    from .trainer import Trainer

    def timed(steps: int) -> float:
        probe = {**settings, "steps": steps, "progress": False, "monitor": False}
        model, config, train_data, _ = prepare(model_name, data, probe)
        trainer = Trainer(model, train_data, config)
        clock = time.process_time if trainer.device.type == "cpu" else time.perf_counter
        begin = clock()
        trainer.run()
        return (clock() - begin) / steps

    first = timed(3)
    steps = int(min(max(PROBE_SECONDS / max(first, 1e-6), 5), 2_000))
    return timed(steps)


# --------------------------------------------------------------------------- the comparison

def run_compare(data: str, models: str, budget: str = "2000", out: str | Path | None = None, n: int | None = None,
                seed: int = 0, device: str | None = None, progress: bool = True, settings: dict | None = None) -> dict:
    """Train (or reuse), score and time every model of ``models`` (comma-separated names or
    finished run directories) on ``data`` at ``budget``, with the training ``settings`` over
    each preset; write compare.json, compare.png and compare.html under ``out``, print the
    table, and return the result."""
    from .io import read_json, write_json
    from .runs import load_split, versions

    kind, amount = parse_budget(budget)
    settings = check_settings(settings or {})
    items = parse_models(models)
    train, _ = load_split(data)  # a dataset that does not exist stops here, before any folder is made
    out = Path(out) if out is not None else Path("runs") / f"compare-{safe_name(data)}"
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file")
    previous = read_json(out / RESULT, "comparison") if (out / RESULT).is_file() else {}
    if previous and (previous.get("data"), previous.get("budget", {}).get("text")) != (data, str(budget)):
        raise ConfigError(f"{out} holds a comparison on {previous.get('data')} at budget "
                          f"{previous.get('budget', {}).get('text')}; give another --out for {data} at {budget}")
    done = {entry["name"]: entry for entry in previous.get("models", []) if entry.get("status") == "done"}
    out.mkdir(parents=True, exist_ok=True)
    result = {"format": "genlab-compare", "data": data, "kind": train.kind,
              "budget": {"text": str(budget), "kind": kind, "value": amount, "said": describe_budget(kind, amount)},
              "n": n, "seed": seed, "device": device or "auto", "settings": settings, "versions": versions(), "models": [],
              "real": {}, "plans": previous.get("plans", {})}

    def remember(name: str, plan: dict) -> None:
        result["plans"][name] = plan
        write_json(out / RESULT, result)

    def say(text: str) -> None:  # what the comparison is doing, one line a step (progress bars aside)
        print(f"genlab compare: {text}", file=sys.stderr, flush=True)

    for i, item in enumerate(items, 1):
        say(f"[{i}/{len(items)}] {item}")
        if item in done:
            say(f"{item}: kept, with its figures, from the earlier run of this comparison")
        entry = done.get(item) or compare_one(item, data, kind, amount, out, n, seed, device, progress, say,
                                              result["plans"], remember, settings)
        result["models"].append(entry)
        if entry["status"] != "done":
            say(f"{item} {entry['status']}: {entry['reason']}")
        result["real"].update({k: v for k, v in entry.get("real", {}).items() if k not in result["real"]})
        write_json(out / RESULT, result)  # after every model: the folder is the comparison's state
    if not any(entry["status"] == "done" for entry in result["models"]):
        reasons = "; ".join(f"{e['name']}: {e['reason']}" for e in result["models"])
        raise GenlabError(f"no model could be compared on {data}: {reasons}")
    figure = draw_figure(result, out / FIGURE)
    result["figure"] = figure.name if figure else None
    write_json(out / RESULT, result)
    write_page(result, out)
    print(table(result))
    print(f"results in {out / RESULT}, {out / PAGE}" + (f" and {out / FIGURE}" if figure else ""))
    return result


def check_settings(settings: dict) -> dict:
    """``--set`` keys for every model: training settings only, steps and seed excepted."""
    import dataclasses

    from .trainer import TrainConfig

    allowed = {f.name for f in dataclasses.fields(TrainConfig)} - {"steps", "seed", "progress"}
    for key in settings:
        if key in ("steps", "seed"):
            raise ConfigError(f"compare sets {key} for every model from --{'budget' if key == 'steps' else key}")
        if key not in allowed:
            raise ConfigError(f"compare --set takes training settings, the same for every model: "
                              f"{', '.join(sorted(allowed))}; got {key!r}")
    return settings


def parse_models(text: str) -> list[str]:
    """The comma-separated items of ``--models``, each a registered model or an existing run
    directory; an unknown name stops the command (a typo should not cost a long comparison)."""
    from .errors import did_you_mean
    from .models import MODELS

    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise ConfigError("--models needs at least one model name or run directory")
    for item in items:
        if item not in MODELS and not Path(item).is_dir():
            raise ConfigError(f"unknown model {item!r}{did_you_mean(item, list(MODELS))} (and no run directory "
                              f"of that name); models: {', '.join(sorted(MODELS))}")
    if len(set(items)) < len(items):
        raise ConfigError(f"--models names {next(i for i in items if items.count(i) > 1)!r} twice")
    return items


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(text).name)


def compare_one(item: str, data: str, kind: str, amount: float, out: Path, n, seed: int, device, progress: bool,
                say, plans: dict, remember, settings: dict) -> dict:
    """One model's entry: trained (or reused, or resumed), scored and timed; or skipped with
    the one-line reason it could not be, or failed with the error that stopped it."""
    from .models import MODELS

    run_dir = out / item if item in MODELS else Path(item)
    entry: dict = {"name": item, "run": str(run_dir)}
    try:
        if item in MODELS:
            entry.update(model=item, **train_run(item, data, kind, amount, run_dir, seed, device, progress, say,
                                                 plans, remember, settings))
        else:
            entry.update(reused=True, **check_reused(run_dir, data))
        entry.update(score(run_dir, n, seed, device, say))
    except GenlabError as err:  # the model cannot take the data, or its training diverged
        failed = item in MODELS and run_dir.exists()  # a run was made: it says what went wrong
        entry.update(status="failed" if failed else "skipped", reason=str(err))
        return entry
    entry["status"] = "done"
    return entry


def check_reused(run_dir: Path, data: str) -> dict:
    """The model and steps of a finished run given by its path, which must have trained on ``data``."""
    from .io import read_json
    from .runs import RUN

    if not (run_dir / RUN).is_file():
        raise GenlabError(f"{run_dir} is not a run directory (no {RUN})")
    record = read_json(run_dir / RUN, "run record")
    if record.get("data", {}).get("spec") != data:
        raise GenlabError(f"{run_dir} was trained on {record.get('data', {}).get('spec')}, not {data}")
    if record.get("status") != "complete":
        raise GenlabError(f"{run_dir} is not complete (status: {record.get('status')})")
    return {"model": record["model"], "steps": record.get("steps")}


def train_run(model_name: str, data: str, kind: str, amount: float, run_dir: Path, seed: int, device,
              progress: bool, say, plans: dict, remember, given: dict) -> dict:
    """Train ``model_name`` in ``run_dir`` at the budget, or keep what is there: a complete
    run as it is, an interrupted one resumed from its checkpoint. The plan (steps, seconds a
    step, data settings dropped) is remembered before training, for a rerun to keep it."""
    from . import runs
    from .io import read_json
    from .models import get

    if (run_dir / runs.RUN).is_file():
        status = read_json(run_dir / runs.RUN, "run record").get("status")
        if status == "complete" and model_name in plans:
            say(f"{model_name}: kept the finished run in {run_dir}")
            return plans[model_name]
        if status != "complete" and model_name in plans and (run_dir / "checkpoint.pt").is_file():
            say(f"{model_name}: resuming the interrupted run in {run_dir}")
            runs.resume(run_dir, progress=progress)
            return plans[model_name]
        shutil.rmtree(run_dir)  # stopped before its first checkpoint, or not this comparison's: start again
    cls = get(model_name)
    preset = cls.presets.get(data) or {}
    dropped = {k: v for k, v in preset.items() if k in runs.DATA_SETTINGS}
    settings = {k: v for k, v in preset.items() if k not in runs.DATA_SETTINGS}
    # the budget buys training steps: no quality monitors (they would spend a slow sampler's budget
    # sampling) unless asked for; the sample pictures as the run ends
    settings.update(monitor=False, **given, seed=seed, progress=progress, **({"device": device} if device else {}))
    runs.start(model_name, data, {**settings, "steps": 1}, dry_run=True, preset_data=False)  # cannot take the data: stops here
    rate = None
    if not cls.fitted:
        if kind == "steps":
            settings["steps"] = int(amount)
        else:
            rate = probe_rate(model_name, data, settings)
            settings["steps"] = max(1, int(BUDGET_SHARE * amount / rate))
            say(f"{model_name}: {rate:.4g} s a step here, so {settings['steps']:,} steps")
        settings.setdefault("sample_every", settings["steps"])
    plan = {"steps": None if cls.fitted else settings["steps"], "seconds_per_step": rate,
            "data_settings_dropped": dropped}
    remember(model_name, plan)
    result = runs.start(model_name, data, settings, out=run_dir, preset_data=False)
    return {**plan, "steps": result.steps}


def score(run_dir: Path, n, seed: int, device, say) -> dict:
    """The run's eval.json figures (computed unless there for the same N and seed), its
    training time, and its sampling speed."""
    from .evaluation import evaluate_run
    from .io import read_json
    from .runs import RUN

    path = run_dir / "eval.json"
    evaluated = read_json(path, "evaluation") if path.is_file() else None
    if evaluated is None or evaluated["protocol"].get("seed") != seed or (n is not None and evaluated[
            "protocol"].get("n") != n):
        say(f"scoring {run_dir}")
        evaluated, _ = evaluate_run(run_dir, n=n, seed=seed, device=device)
    record = read_json(run_dir / RUN, "run record")
    scores = evaluated["scores"]
    return {"scores": {k: s["model"] for k, s in scores.items()},
            "real": {k: s["real"] for k, s in scores.items() if s["real"] is not None},
            "n": evaluated["protocol"].get("n"), "train_seconds": record.get("seconds"),
            "cpu_seconds": record.get("cpu_seconds"), "device": record.get("device"),
            "samples_per_second": sampling_speed(run_dir, device)}


def sampling_speed(run_dir: Path, device) -> float | None:
    """Samples per second drawing :data:`SPEED_SAMPLES` at once, after a warm-up draw: the
    fastest of a few draws (up to :data:`SPEED_REPEATS`, while they take under a second in all),
    as timeit does, so that other work on the machine does not slow a fast sampler's figure
    tenfold. None for a model that does not sample (a classifier)."""
    import torch

    from .runs import load_run

    model, _ = load_run(run_dir, device)
    if model.translates or model.classifies:
        return None
    model.eval()
    sync = torch.cuda.synchronize if model.device.type == "cuda" else (lambda *_: None)

    def draw(count: int) -> float:
        labels = torch.arange(count, device=model.device) % model.config.num_classes if model.conditional else None
        generator = torch.Generator(model.device).manual_seed(0)
        sync(model.device)
        begin = time.perf_counter()
        model.sample(count, generator=generator, **({"labels": labels} if labels is not None else {}))
        sync(model.device)
        return time.perf_counter() - begin

    with torch.no_grad():
        draw(2)
        times = [draw(SPEED_SAMPLES)]
        while len(times) < SPEED_REPEATS and sum(times) < 1.0:
            times.append(draw(SPEED_SAMPLES))
    return round(SPEED_SAMPLES / min(times), 2)


# --------------------------------------------------------------------------- the table

def likelihood(scores: dict) -> tuple[float, str, str] | None:
    """(value, unit, score key) of a model's likelihood figure, lower better, or None."""
    for key, sign, unit in LIKELIHOODS:
        if scores.get(key) is not None:
            return sign * scores[key], unit, key
    return None


def likelihood_units(result: dict) -> set[str]:
    """The units of the models' likelihood figures: bits/dim, bits/token or nats."""
    found = (likelihood(e.get("scores") or {}) for e in result["models"])
    return {f[1] for f in found if f is not None}


def shown(result: dict, entry: dict, key: str) -> str:
    """A cell as printed; a likelihood carries its unit when the models' units differ."""
    text = fmt(cell(entry, key))
    if key == "likelihood" and text != "-" and len(likelihood_units(result)) > 1:
        text += " " + likelihood(entry["scores"])[1]
    return text


def columns(result: dict) -> list[tuple[str, str]]:
    """(key, title) of the score columns some model has, then likelihood, time and speed."""
    present = {k for entry in result["models"] for k in entry.get("scores", {})}
    cols = [(k, title) for k, title in COLUMNS.get(result["kind"], []) if k in present]
    units = likelihood_units(result)
    if units:
        cols.append(("likelihood", "NLL (" + "/".join(sorted(units)) + ")"))
    return cols + [("steps", "steps"), ("train_seconds", "train s"), ("cpu_seconds", "CPU s"),
                   ("samples_per_second", "samples/s")]


def cell(entry: dict, key: str):
    if key == "likelihood":
        found = likelihood(entry.get("scores", {}))
        return None if found is None else found[0]
    if key in ("steps", "train_seconds", "cpu_seconds", "samples_per_second"):
        return entry.get(key)
    return entry.get("scores", {}).get(key)


def direction(key: str) -> str | None:
    from .evaluation import better

    return {"likelihood": "lower", "samples_per_second": "higher", "steps": None, "train_seconds": None,
            "cpu_seconds": None}.get(
        key, better(key))


def best_rows(result: dict, key: str) -> set[int]:
    """Rows of the models (done ones) holding the best value of column ``key`` (negative
    unbiased estimates of MMD^2 or KID rank as 0: they tie)."""
    from .evaluation import rank_value

    way = direction(key)
    if key == "likelihood" and len(likelihood_units(result)) > 1:
        return set()  # nats per image and bits per dim do not rank against each other
    values = {i: cell(e, key) for i, e in enumerate(result["models"]) if e["status"] == "done"}
    values = {i: rank_value(key, v) for i, v in values.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if way is None or len(values) < 2:
        return set()
    best = (min if way == "lower" else max)(values.values())
    return {i for i, v in values.items() if v == best}


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or (isinstance(value, float) and abs(value) >= 1000):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(result: dict) -> str:
    """The comparison as aligned text: one row per model (best of each column starred), the
    real-vs-real row, and skipped models with their reasons below."""
    cols = columns(result)
    header = ["model"] + [title for _, title in cols]
    rows = [header]
    best = {key: best_rows(result, key) for key, _ in cols}
    for i, entry in enumerate(result["models"]):
        if entry["status"] != "done":
            continue
        rows.append([entry["name"]] + [shown(result, entry, key) + ("*" if i in best[key] else "") for key, _ in cols])
    rows.append(["real vs real"] + [fmt(result["real"].get(key)) if key in result["real"] else "" for key, _ in cols])
    widths = [max(len(r[j]) for r in rows) for j in range(len(header))]
    lines = ["  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    budget = result["budget"]["said"]
    head = f"{result['data']}: every model at {budget}; * marks the best of a column"
    tail = [f"{e['name']} {e['status']}: {e['reason']}" for e in result["models"] if e["status"] != "done"]
    return "\n".join([head, ""] + lines + ([""] + tail if tail else []))


# --------------------------------------------------------------------------- the figure and the page

def draw_figure(result: dict, path: Path) -> Path | None:
    """Quality against diversity, one point per model, its area growing with the log of its
    samples per second; the real-vs-real values as a star. None where the data have no such axes."""
    axes = AXES.get(result["kind"])
    if axes is None:
        return None
    x_key, y_key = axes
    points = [(e["name"], e["scores"].get(x_key), e["scores"].get(y_key), e.get("samples_per_second"))
              for e in result["models"] if e["status"] == "done"]
    points = [p for p in points if p[1] is not None and p[2] is not None]
    if not points:
        return None
    from .plot import figure as new_figure
    from .plot import save_figure

    figure = new_figure(640, 480)
    ax = figure.add_subplot()
    for i, (name, x, y, speed) in enumerate(points):
        size = 30 + 60 * max(0.0, math.log10(speed) + 1) if speed else 30
        colour = f"C{i}"
        ax.scatter([x], [y], s=size, alpha=0.7, color=colour)
        # names above and below in turn, in their marker's colour, so that close points stay readable
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(9, 5 if i % 2 == 0 else -13), fontsize=9,
                    color=colour, fontweight="bold")
    real_x, real_y = result["real"].get(x_key), result["real"].get(y_key)
    if real_x is not None and real_y is not None:
        ax.scatter([real_x], [real_y], marker="*", s=160, color="black", label="real vs real")
        ax.legend(loc="best", fontsize=8)
    if x_key == "modes":  # whole modes, from none to every mode the data have
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.5, max([real_x or 0] + [p[1] for p in points]) + 0.5)
        ax.set_ylim(-3, 103)
    else:  # precision and recall are fractions
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel({"recall": "diversity: recall (k=3)", "modes": "diversity: modes covered"}[x_key])
    ax.set_ylabel({"precision": "quality: precision (k=3)", "hq_percent": "quality: % high-quality samples"}[y_key])
    ax.set_title(f"{result['data']} at {result['budget']['said']}: marker area grows with samples/s", fontsize=10)
    ax.grid(alpha=0.3)
    figure.tight_layout()
    return save_figure(figure, path)


def scored_n(result: dict):
    return next((e.get("n") for e in result["models"] if e["status"] == "done"), None)


def write_page(result: dict, out: Path) -> Path:
    """compare.html: the table (best of each column marked), the figure and each model's
    samples, with every image inlined so the page opens anywhere, offline."""
    import base64
    import html

    from .io import atomic_write

    def image(path: Path, alt: str) -> str:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'

    cols = columns(result)
    best = {key: best_rows(result, key) for key, _ in cols}
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in cols)
    body = []
    for i, entry in enumerate(result["models"]):
        if entry["status"] != "done":
            continue
        cells = "".join(
            f'<td class="{"best" if i in best[key] else ""}" data-key="{key}" data-value="{cell(entry, key)}">'
            f'{shown(result, entry, key)}{" ★" if i in best[key] else ""}</td>' for key, _ in cols)
        body.append(f"<tr><th>{html.escape(entry['name'])}</th>{cells}</tr>")
    real = "".join(f"<td>{fmt(result['real'][key]) if key in result['real'] else ''}</td>" for key, _ in cols)
    body.append(f'<tr class="real"><th>real vs real</th>{real}</tr>')
    skipped = "".join(f"<li>{html.escape(e['name'])} {e['status']}: {html.escape(e['reason'])}</li>"
                      for e in result["models"] if e["status"] != "done")
    samples = "".join(
        f"<figure>{image(Path(e['run']) / 'samples.png', e['name'] + ' samples')}"
        f"<figcaption>{html.escape(e['name'])}</figcaption></figure>"
        for e in result["models"] if e["status"] == "done" and (Path(e["run"]) / "samples.png").is_file())
    figure = image(out / result["figure"], "quality against diversity") if result.get("figure") else ""
    title = f"genlab compare: {result['data']} at {result['budget']['said']}"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }} td.best {{ font-weight: bold; }}
tr.real {{ color: #666; font-style: italic; }}
figure {{ display: inline-block; margin: 0 1em 1em 0; }} img {{ image-rendering: pixelated; max-width: 100%; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Every model trained on the same split, scored by <code>genlab eval</code> with N = {scored_n(result)}
and seed {result['seed']}; ★ marks the best of a column; samples/s drawing {SPEED_SAMPLES} at once.</p>
<table><thead><tr><th>model</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>
{f'<ul>{skipped}</ul>' if skipped else ''}
{figure}
<h2>Samples</h2>{samples}
</body></html>
"""
    path = out / PAGE
    atomic_write(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return path
