"""``genlab report``: one self-contained HTML page of one run, or of several side by side.

Each run gets its card (the fields of ``genlab show``), its pictures (curves.png, the losses
and monitors against steps; the samples, or a translation model's rows of translations;
extra pictures such as stylegan's mixing.png; for a model with latent codes, an
interpolation grid drawn from its held-out images) and its ``genlab eval`` scores with the
real-vs-real figure beside each. Several runs also get one table per dataset: one row per
run, one column per score, the best figure of each column marked with a star (which way
is better comes from ``evaluation.better``).

Pictures are inlined as base64 ``data:`` URIs and the styles sit in the page: the file opens
anywhere, offline. ``--samples N`` draws N fresh samples of each run; images go in as one
PNG grid at their native pixel scale and the browser enlarges them: 1,000 mnist5k samples
(28x28) make a 929x929 grid of about 210 kB, 280 kB in base64 (measured on a vae after 300
steps; 1,000 real mnist5k digits make 172 kB), a fifth less than the grid at twice the scale.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .cards import card, eval_heading, facts, figure, file_text, is_number, pairs, setting, title
from .errors import ConfigError, GenlabError
from .io import atomic_write

DISPLAY_TILE_PX = 32  # smallest side of one sample on screen when a native-scale grid is enlarged
CAPTIONS = {  # the pictures a run directory may hold, in the order shown
    "curves.png": "losses and monitors against steps",
    "samples.png": "samples drawn when training ended",
    "mixing.png": "style mixing: coarse styles by row, fine styles by column",
}
TRANSLATION_CAPTION = ("translations of held-out images: rows of 8 images of A, translated to B, translated back; "
                       "then the same from B")
INTERPOLATION_CAPTION = ("interpolation: each row decodes the line between the codes of two held-out images "
                         "(at its ends)")
MARK = "\N{BLACK STAR}"


@dataclass
class Exhibit:
    """One thing shown for a run: a PNG picture, text samples, or (neither) a note saying why
    a picture is missing."""

    caption: str
    png: bytes | None = None
    text: str | None = None
    zoom: int = 1  # the browser enlarges a native-scale grid this many times


def write_report(run_dirs, out, samples: int | None = None) -> Path:
    """Write the report of ``run_dirs`` to ``out`` (.html), atomically; ``samples`` draws
    that many fresh samples of each complete run."""
    out = Path(out)
    if out.suffix != ".html":
        raise ConfigError(f"--out must end in .html, got {out.name}")
    if out.is_dir():
        raise ConfigError(f"--out {out} is a folder; give a file name ending in .html")
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples must be positive, got {samples}")
    cards = [card(run_dir) for run_dir in run_dirs]  # a folder that is not a run stops here, before any work
    with tempfile.TemporaryDirectory() as scratch:
        sections = [run_section(c, i, exhibits(c, Path(scratch) / str(i), samples)) for i, c in enumerate(cards)]
    page = PAGE.format(title=esc(report_title(cards)), style=STYLE, header=header(cards),
                       comparison=comparison(cards) if len(cards) > 1 else "", runs="\n".join(sections))
    atomic_write(out, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return out


def esc(value) -> str:
    return html.escape(str(value))


def report_title(cards: list[dict]) -> str:
    return f"genlab report: {title(cards[0])}" if len(cards) == 1 else f"genlab report: {len(cards)} runs"


# --- what each run shows -------------------------------------------------------------------------

def exhibits(c: dict, scratch: Path, samples: int | None) -> list[Exhibit]:
    """The run's pictures and text samples, then those drawn here for a complete run."""
    run_dir = Path(c["run_dir"])
    names = [f["name"] for f in c["files"]]
    pngs = [n for n in CAPTIONS if n in names] + sorted(n for n in names if n.endswith(".png") and n not in CAPTIONS)
    out = [Exhibit(caption(c, n), png=(run_dir / n).read_bytes()) for n in pngs]
    if "samples.txt" in names:
        out.append(Exhibit(CAPTIONS["samples.png"], text=(run_dir / "samples.txt").read_text(encoding="utf-8")))
    if c["status"] == "complete":
        scratch.mkdir(parents=True)
        out += drawn(c, scratch, samples)
    return out


def caption(c: dict, name: str) -> str:
    if name == "samples.png" and "domains" in c["data"]["train"]:
        return TRANSLATION_CAPTION
    return CAPTIONS.get(name, name)


def drawn(c: dict, scratch: Path, samples: int | None) -> list[Exhibit]:
    """An interpolation grid for a model with latent codes on images, and ``samples`` fresh
    samples; a picture that cannot be drawn (the run's data moved, too few test images)
    becomes a note saying why."""
    from .models import get
    from .runs import interpolation_grid

    out = []
    cls = get(c["model"])
    if cls.interpolates and c["data"]["train"]["kind"] == "image":
        try:
            path = interpolation_grid(c["run_dir"], scratch / "interpolation.png")
            out.append(Exhibit(INTERPOLATION_CAPTION, png=path.read_bytes()))
        except GenlabError as err:
            out.append(Exhibit(f"no interpolation grid: {err}"))
    if samples and cls.two_domains:
        out.append(Exhibit(f"no samples drawn: {cls.name} maps one domain to another and draws none of its own"))
    elif samples:
        try:
            out.append(fresh_samples(c, samples, scratch / "fresh.png"))
        except GenlabError as err:
            out.append(Exhibit(f"no samples drawn: {err}"))
    return out


def fresh_samples(c: dict, n: int, path: Path) -> Exhibit:
    """``n`` samples (seed 0): images as one grid at native pixel scale, points as a scatter
    over 1,000 training points, text one sample a line."""
    import torch

    from .plot import save_image_grid, save_samples
    from .runs import load_run, run_data

    model, record = load_run(c["run_dir"])
    caption = f"{n:,} samples, seed 0"
    with torch.no_grad():
        x = model.eval().sample(n, generator=torch.Generator(model.device).manual_seed(0))
    kind = c["data"]["train"]["kind"]
    if kind == "text":
        return Exhibit(caption, text="".join(" ".join(line.split()) + "\n" for line in x))
    x = x.detach().cpu()
    if kind == "image":
        save_image_grid(x, path, nrow=math.ceil(math.sqrt(n)), scale=1)
        return Exhibit(caption + ", at native pixel scale", png=path.read_bytes(),
                       zoom=max(1, math.ceil(DISPLAY_TILE_PX / min(x.shape[-2:]))))
    save_samples(x, path, "points", reference=run_data(record)[0].x[:1000])
    return Exhibit(caption + ", over 1,000 training points in grey", png=path.read_bytes())


# --- HTML -------------------------------------------------------------------------------------------

def header(cards: list[dict]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M")
    text = f"<h1>{esc(report_title(cards))}</h1>\n<p class=\"note\">written {esc(when)} by genlab {esc(__version__)}"
    if len(cards) > 1:
        links = ", ".join(f'<a href="#run-{i}">{esc(Path(c["run_dir"]).name)}</a>' for i, c in enumerate(cards))
        text += f"; runs: {links}"
    return text + "</p>"


def run_section(c: dict, index: int, shown: list[Exhibit]) -> str:
    parts = [f'<section class="run" id="run-{index}" data-run="{esc(c["run_dir"])}">',
             f'<h2>{esc(title(c))} <span class="status {esc(c["status"])}">{esc(c["status"])}</span></h2>',
             rows_table("card", facts(c))]
    settings = [(group, pairs(values, setting)) for group, values in c["settings"].items() if values]
    parts += ["<h3>settings</h3>", rows_table("settings", settings)]
    log = c["last_log"]
    if log:
        logged = [(k, figure(v)) for k, v in log["values"].items()]
        logged += [("warning", log["warning"])] if log["warning"] else []
        parts += [f"<h3>last logged, step {esc(log['step'])}</h3>", rows_table("logged", logged)]
    if c["quality"]:
        parts += ["<h3>held-out quality when training ended</h3>",
                  rows_table("quality", [(k, figure(v)) for k, v in c["quality"].items()])]
    if c["eval"]:
        parts += [f"<h3>genlab eval <span class=\"note\">{esc(eval_heading(c))}</span></h3>", eval_table(c["eval"])]
    if shown:
        parts.append('<div class="exhibits">' + "\n".join(map(exhibit_html, shown)) + "</div>")
    parts += ["<h3>files</h3>", rows_table("files", [(f["name"], file_text(f)) for f in c["files"]])]
    return "\n".join(parts) + "\n</section>"


def rows_table(css: str, rows) -> str:
    body = "\n".join(f"<tr><th>{esc(label)}</th><td>{esc(text)}</td></tr>" for label, text in rows)
    return f'<table class="{css}">\n{body}\n</table>'


def figure_cell(score: str, value, css: str = "figure", extra: str = "", best: bool = False) -> str:
    """A score as a cell: the printed figure, the exact value in ``data-value``."""
    css += " best" if best else ""
    mark = f'<span class="mark"> {MARK}</span>' if best else ""
    return (f'<td class="{css}" data-score="{esc(score)}" data-value="{esc(json.dumps(value))}">'
            f'<span class="value">{esc(figure(value))}</span>{mark}{extra}</td>')


def way(score: str) -> str:
    from .evaluation import better

    return {"lower": " \N{DOWNWARDS ARROW}", "higher": " \N{UPWARDS ARROW}"}.get(better(score), "")


def eval_table(result: dict) -> str:
    head = "<tr><th>metric</th><th>model</th><th>real vs real</th></tr>"
    rows = [f"<tr><th>{esc(key)}{way(key)}</th>{figure_cell(key, s['model'])}"
            + ("<td></td>" if s.get("real") is None else figure_cell(key, s["real"], "real")) + "</tr>"
            for key, s in result["scores"].items()]
    return '<table class="eval">\n' + head + "\n" + "\n".join(rows) + "\n</table>"


def exhibit_html(e: Exhibit) -> str:
    if e.png is not None:
        from PIL import Image

        width = Image.open(io.BytesIO(e.png)).size[0] * e.zoom
        native = f' class="native" width="{width}"' if e.zoom > 1 else ""
        src = "data:image/png;base64," + base64.b64encode(e.png).decode("ascii")
        return (f'<figure><img src="{src}" alt="{esc(e.caption)}"{native}>'
                f"<figcaption>{esc(e.caption)}</figcaption></figure>")
    if e.text is not None:
        return f"<figure><pre>{esc(e.text)}</pre><figcaption>{esc(e.caption)}</figcaption></figure>"
    return f'<p class="note missing">{esc(e.caption)}</p>'


def comparison(cards: list[dict]) -> str:
    """One table per dataset: a row per run, a column per eval score, the best marked."""
    groups: dict[str, list[tuple[int, dict]]] = {}
    for i, c in enumerate(cards):
        groups.setdefault(c["data"]["spec"], []).append((i, c))
    return "<section id=\"comparison\">\n<h2>side by side</h2>\n" + "\n".join(
        compare_table(spec, members) for spec, members in groups.items()) + "\n</section>"


def compare_table(spec: str, members: list[tuple[int, dict]]) -> str:
    """The runs on one dataset. A real-vs-real figure that every run shares (runs scored
    alike) sits once, in the last row; where the runs differ, in each cell."""
    scored = [(i, c, c["eval"]["scores"] if c["eval"] else {}) for i, c in members]
    keys = list(dict.fromkeys(k for _, _, scores in scored for k in scores))
    best = {k: best_of([scores.get(k, {}).get("model") for _, _, scores in scored], k) for k in keys}
    reals = {k: [scores[k].get("real") for _, _, scores in scored if k in scores] for k in keys}
    shared = {k: r[0] for k, r in reals.items() if r[0] is not None and len({json.dumps(v) for v in r}) == 1}
    rows = []
    for row, (i, c, scores) in enumerate(scored):
        cells = [f'<th><a href="#run-{i}">{esc(Path(c["run_dir"]).name)}</a></th>', f"<td>{esc(c['model'])}</td>",
                 f"<td>{esc(c['steps'] if c['status'] == 'complete' else c['status'])}</td>",
                 f"<td>{esc(c['eval']['protocol'].get('n') if c['eval'] else 'not evaluated')}</td>"]
        for k in keys:
            real = scores[k].get("real") if k in scores else None
            extra = "" if real is None or k in shared else f'<span class="real">real {esc(figure(real))}</span>'
            cells.append(figure_cell(k, scores[k]["model"], extra=extra, best=row in best[k]) if k in scores
                         else "<td></td>")
        rows.append(f'<tr data-run="{esc(c["run_dir"])}">' + "".join(cells) + "</tr>")
    if shared:
        real_cells = (figure_cell(k, shared[k], "real") if k in shared else "<td></td>" for k in keys)
        rows.append('<tr class="real"><th colspan="4">real vs real</th>' + "".join(real_cells) + "</tr>")
    ns = sorted({c["eval"]["protocol"].get("n") for _, c in members if c["eval"]}, key=str)
    warn = (f'<p class="note">scored at different N ({esc(", ".join(map(str, ns)))}): figures such as the '
            f"Frechet distance depend on N, so compare runs scored alike</p>" if len(ns) > 1 else "")
    head = "".join(f'<th data-score="{esc(k)}">{esc(k).replace("_", "_<wbr>")}{way(k)}</th>' for k in keys)
    return (f'<h3>{esc(spec)}</h3>\n{warn}<div class="wide"><table class="compare" data-data="{esc(spec)}">\n'
            f"<tr><th>run</th><th>model</th><th>steps</th><th>N</th>{head}</tr>\n" + "\n".join(rows)
            + "\n</table></div>")


def best_of(values: list, score: str) -> set[int]:
    """The rows holding the best of ``values`` (ties all), when ``score`` has a better way
    and at least two rows have a figure."""
    from .evaluation import better, rank_value

    direction = better(score)
    finite = [(i, rank_value(score, v)) for i, v in enumerate(values) if is_number(v) and math.isfinite(v)]
    if direction is None or len(finite) < 2:
        return set()
    target = (min if direction == "lower" else max)(v for _, v in finite)
    return {i for i, v in finite if v == target}


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; margin: .3em 0 1em; }
th, td { padding: .2em .6em; border: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: normal; white-space: nowrap; }
.wide { overflow-x: auto; }
td.figure, td.real { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.compare { font-size: .85em; }
table.compare th, table.compare td { padding: .2em .35em; }
table.compare th[data-score] { white-space: normal; }
td.real, span.real { color: #777; }
span.real { display: block; font-size: .8em; }
td.best { font-weight: bold; background: #fff3c4; }
.mark { color: #b8860b; }
.status { font-size: .6em; padding: .1em .5em; border-radius: .3em; background: #ddd; vertical-align: middle; }
.status.complete { background: #d4edda; } .status.failed { background: #f8d7da; }
.status.running { background: #fff3cd; }
.note { color: #666; font-size: .9em; }
.missing { color: #a33; }
.exhibits { display: flex; flex-wrap: wrap; gap: 1em 2em; align-items: flex-start; }
figure { margin: 1em 0; max-width: 100%; }
figcaption { max-width: 40em; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
img.native { image-rendering: pixelated; }
pre { background: #f8f8f8; padding: .5em; white-space: pre-wrap; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{header}
{comparison}
{runs}
</body>
</html>
"""
