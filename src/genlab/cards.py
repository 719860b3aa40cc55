"""``genlab show``: a run's card, read from the files of its run directory.

No model is loaded and no data read, so an unfinished or failed run shows as well as a
complete one. :func:`card` gathers the fields as a dict (``genlab report`` draws the same
card as HTML); :func:`show_run` writes it as text::

    $ genlab show runs/vae-digits
    vae on digits
    run         runs/vae-digits
    status      complete
    data       digits, image 1x8x8, 10 classes: sklearn.datasets.load_digits: ...
    split      1438 train, 359 test: 20 % held out (split seed 0, data seed 0)
    steps      3000
    time       41.2 s wall, 80.5 s CPU
    ...
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from .errors import CheckpointError
from .io import read_json

RUN_KEYS = ("model", "model_config", "train", "data")  # what every genlab run record holds
SPLIT_KEYS = ("spec", "seed", "test_fraction", "split_seed", "train", "test")  # run.json "data": the rest are settings
UNRECORDED_VERSIONS = "unknown: the genlab that made this run did not record them"


def card(run_dir) -> dict:
    """The facts of a run directory: model, data and split, every setting, steps, time,
    device, the last logged losses, quality and evaluation figures, versions and files."""
    from .runs import resolved_settings

    run_dir = Path(run_dir)
    record = run_record(run_dir)
    data, train = record["data"], record["train"]
    every = resolved_settings(record)
    extra_data = {k: v for k, v in data.items() if k not in SPLIT_KEYS and v is not None}
    return {
        "run_dir": str(run_dir),
        "model": record["model"],
        "status": record.get("status", "unknown"),
        "error": record.get("error"),
        "data": data,
        "preset": record.get("preset"),
        "settings": {"model": {k: v for k, v in every.items() if k not in train and k not in extra_data},
                     "training": {k: every[k] for k in train}, "data": extra_data},
        "steps": record.get("steps"),
        "seconds": record.get("seconds"),
        "cpu_seconds": record.get("cpu_seconds"),
        "device": record.get("device"),
        "precision": record.get("precision"),
        "last_log": last_log(run_dir / "metrics.jsonl"),
        "quality": record.get("quality") or {},
        "eval": read_json(run_dir / "eval.json", "evaluation") if (run_dir / "eval.json").is_file() else None,
        "versions": record.get("versions"),
        "files": listing(run_dir),
    }


def run_record(run_dir: Path) -> dict:
    """run.json of ``run_dir``; one line naming the problem when it is not a genlab run."""
    if not run_dir.exists():
        raise CheckpointError(f"{run_dir} is not a run directory: no such folder")
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is a file, not a run directory")
    if not (run_dir / "run.json").is_file():
        raise CheckpointError(f"{run_dir} is not a run directory: it has no run.json (`genlab train` makes them)")
    record = read_json(run_dir / "run.json", "run record")
    if record.get("format") != "genlab-run":
        raise CheckpointError(f"{run_dir / 'run.json'} is not a genlab run record")
    missing = [k for k in RUN_KEYS if not isinstance(record.get(k), (dict, str))]
    if missing:
        raise CheckpointError(f"damaged run record {run_dir / 'run.json'}: no {missing[0]!r}")
    return record


def last_log(path: Path) -> dict | None:
    """The last line of metrics.jsonl that holds figures: ``{"step", "values", "warning"}``.
    A line cut short (a run killed while writing) is passed over."""
    if not path.is_file():
        return None
    for line in reversed(path.read_text().splitlines()):
        try:
            logged = json.loads(line)
        except json.JSONDecodeError:
            continue
        values = {k: v for k, v in logged.items() if is_number(v) and k not in ("step", "seconds")}
        if values:
            return {"step": logged.get("step"), "values": values, "warning": logged.get("warning")}
    return None


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def listing(run_dir: Path) -> list[dict]:
    """The run's files with their sizes in bytes; a folder as one entry with its file count."""
    out = []
    for path in sorted(run_dir.iterdir()):
        if path.is_dir():
            inside = [p for p in path.rglob("*") if p.is_file()]
            out.append({"name": path.name + "/", "bytes": sum(p.stat().st_size for p in inside),
                        "files": len(inside)})
        else:
            out.append({"name": path.name, "bytes": path.stat().st_size})
    return out


# --- the card as text: shared by `genlab show` and `genlab report` ----------------------------

def title(c: dict) -> str:
    return f"{c['model']} on {c['data']['spec']}"


def status_text(c: dict) -> str:
    if c["status"] == "failed":
        return f"failed: {c['error'] or 'no error recorded'}"
    if c["status"] == "running":
        return f"running, or stopped before it ended (`genlab train --resume {c['run_dir']}` continues it)"
    return c["status"]


def facts(c: dict) -> list[tuple[str, str]]:
    """The card's one-line fields as (label, text)."""
    data = c["data"]
    rows = [("run", c["run_dir"]), ("status", status_text(c)), ("model", c["model"]),
            ("data", data_text(data["train"], data["spec"])), ("split", split_text(data))]
    if "domains" in data["train"]:
        rows.append(("domains", domains_text(data)))
    if c["preset"]:
        rows.append(("preset", f"the {c['preset']['data']} preset under the run's own settings: "
                               + pairs(c["preset"]["settings"], setting)))
    rows += [("steps", steps_text(c)), ("time", time_text(c)), ("device", device_text(c))]
    v = c["versions"]
    if v is None:
        rows.append(("versions", UNRECORDED_VERSIONS))
    else:
        rows += [("versions", f"genlab {v['genlab']}, torch {v['torch']}, Python {v['python']}"),
                 ("git commit", v["git_commit"] or "none: genlab did not run from a git checkout")]
    return rows


def data_text(described: dict, spec: str) -> str:
    shape = "x".join(map(str, described.get("shape") or []))
    parts = [described["kind"] + (f" {shape}" if shape else "")]
    if described.get("num_classes"):
        parts.append(f"{described['num_classes']} classes")
    return f"{spec}, {', '.join(parts)}: {described.get('source', '')}".rstrip(": ")


def split_text(data: dict) -> str:
    return (f"{data['train']['n']} train, {data['test']['n']} test: {data['test_fraction']:.0%} held out "
            f"(split seed {data['split_seed']}, data seed {data['seed']})")


def domains_text(data: dict) -> str:
    train, test = data["train"]["domains"], data["test"]["domains"]
    return (f"A {train['a']} ({train['n_a']} train, {test['n_a']} test), "
            f"B {train['b']} ({train['n_b']} train, {test['n_b']} test)")


def steps_text(c: dict) -> str:
    planned = c["settings"]["training"].get("steps")
    if c["status"] == "complete":
        return str(c["steps"]) if c["steps"] else "none: fitted in closed form or by EM"
    logged = c["last_log"]["step"] if c["last_log"] else 0
    return f"{logged} of {planned} logged"


def time_text(c: dict) -> str:
    if c["seconds"] is None:
        return "not recorded: the run did not end"
    cpu = "CPU not recorded" if c["cpu_seconds"] is None else f"{duration(c['cpu_seconds'])} CPU"
    return f"{duration(c['seconds'])} wall, {cpu}"


def device_text(c: dict) -> str:
    if c["device"] is None:
        return f"not recorded (asked for {c['settings']['training'].get('device', 'auto')})"
    return f"{c['device']}, precision {c['precision']}"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 60 else f"{minutes / 60:.1f} h"


def size(n: int) -> str:
    """Bytes as 429 B, 15.2 kB, 1.3 MB (powers of 1000)."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def figure(value) -> str:
    """A figure as the card and the report print it: 4 significant digits."""
    if value is None:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def setting(value) -> str:
    """A setting as ``--set`` takes it: true, false, null, numbers in full."""
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def pairs(values: dict, text=figure) -> str:
    return ", ".join(f"{k}={text(v)}" for k, v in values.items())


def file_text(entry: dict) -> str:
    if "files" in entry:
        return f"{size(entry['bytes'])} in {entry['files']} file{'s' * (entry['files'] != 1)}"
    return size(entry["bytes"])


def eval_heading(c: dict) -> str:
    """What the evaluation was: N, seed, and the step it scored when the run has trained on since."""
    p = c["eval"].get("protocol", {})
    text = f"N = {p.get('n')}, seed {p.get('seed')}"
    if p.get("steps") is not None and c["steps"] is not None and p["steps"] != c["steps"]:
        text += f"; scored at step {p['steps']}, the run has {c['steps']} now"
    return text


def show_run(run_dir) -> str:
    """``genlab show RUN_DIR``: the card as text."""
    from .evaluation import table

    c = card(run_dir)
    width = max(len(label) for label, _ in facts(c))
    lines = [title(c)]
    lines += [f"{label:<{width}}  {text}" for label, text in facts(c)]
    lines.append("settings (--set key=value):")
    for group, values in c["settings"].items():
        if values:
            lines += textwrap.wrap(pairs(values, setting), 100, initial_indent=f"  {group:<9} ",
                                   subsequent_indent=" " * 12)
    log = c["last_log"]
    if log:
        lines.append(f"last logged, step {log['step']}:")
        lines += textwrap.wrap(pairs(log["values"]), 100, initial_indent="  ", subsequent_indent="  ")
        if log["warning"]:
            lines.append(f"  warning: {log['warning']}")
    if c["quality"]:
        lines += ["held-out quality when training ended:", "  " + pairs(c["quality"])]
    if c["eval"]:
        lines.append(f"genlab eval ({eval_heading(c)}):")
        lines += ["  " + line for line in table(c["eval"]).splitlines()]
    lines.append("files:")
    name_width = max((len(f["name"]) for f in c["files"]), default=0)
    lines += [f"  {f['name']:<{name_width}}  {file_text(f)}" for f in c["files"]]
    return "\n".join(lines)
