"""``genlab report``: one self-contained HTML page of one run or of several.

The page is read as text (nothing outside it, every picture inlined, every text escaped)
and opened in a real headless chromium through Playwright: every picture decodes, the
figures in the tables are those of eval.json, and in the side-by-side table of three runs
the best figure of each column is the one marked. Without chromium the browser test skips,
saying why, unless GENLAB_REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from genlab.cards import figure
from genlab.evaluation import better
from genlab.report import MARK
from conftest import assert_one_line_error, assert_succeeded, run_main
from test_show import made_runs

pytestmark = pytest.mark.usefixtures("one_thread")

THREE = ("gmm", "gan", "ddpm")  # on ring8, each scored with N = 200

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return made_runs(tmp_path_factory)


@pytest.fixture(scope="module")
def pages(runs, tmp_path_factory):
    """The report of the vae run with 16 fresh samples, and of the three ring8 runs."""
    root = tmp_path_factory.mktemp("reports")
    one, three = root / "one.html", root / "three.html"
    assert run_report(runs["vae"], "--out", one, "--samples", "16") == 0
    assert run_report(*(runs[name] for name in THREE), "--out", three) == 0
    return {"one": one, "three": three}


def run_report(*args) -> int:
    from genlab.cli import main

    return main(["report", *map(str, args)])


def sources(page: str) -> list[str]:
    return re.findall(r'\b(?:src|href)="([^"]*)"', page)


def test_the_page_holds_everything_it_shows(pages, runs):
    page = pages["one"].read_text(encoding="utf-8")
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in sources(page)), sources(page)
    assert "<script" not in page and "<link" not in page and "url(" not in page and "@import" not in page
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", page)
    expected = ["losses and monitors against steps"] if (runs["vae"] / "curves.png").exists() else []
    expected += ["samples drawn when training ended",
                 "interpolation: each row decodes the line between the codes of two held-out images (at its ends)",
                 "16 samples, seed 0, at native pixel scale"]
    assert captions == expected
    assert "<h3>genlab eval <span" in page and "last logged, step 4" in page


def test_curves_and_extra_pictures_of_the_run_are_shown(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["gmm"], run)
    Image.new("RGB", (40, 30), "white").save(run / "curves.png")
    Image.new("L", (20, 10)).save(run / "mixing.png")
    assert run_report(run, "--out", tmp_path / "r.html") == 0
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", (tmp_path / "r.html").read_text())
    assert captions == ["losses and monitors against steps", "samples drawn when training ended",
                        "style mixing: coarse styles by row, fine styles by column"]


def test_text_points_and_translation_runs(runs, tmp_path):
    out = tmp_path / "r.html"
    assert run_report(runs["ngram"], runs["cyclegan"], runs["gmm"], "--out", out, "--samples", "3") == 0
    page = out.read_text()
    assert (runs["ngram"] / "samples.txt").read_text().splitlines()[0] in page
    assert "translations of held-out images: rows of 8 images of A" in page
    assert "no samples drawn: cyclegan maps one domain to another and draws none of its own" in page
    captions = re.findall(r"<figcaption>(3 samples[^<]*)</figcaption>", page)
    assert captions == ["3 samples, seed 0", "3 samples, seed 0, over 1,000 training points in grey"]
    specs = re.findall(r'<table class="compare" data-data="([^"]*)"', page)  # one table per dataset
    assert specs == [f"text:{runs['ngram'].parent}/tale.txt", "digits-inverted", "ring8"]


def test_every_text_is_escaped(runs, tmp_path):
    run = tmp_path / '<b>"odd" & run'
    shutil.copytree(runs["gmm"], run)
    record = json.loads((run / "run.json").read_text())
    record.update(status="failed", error="<script>alert(1)</script>")
    (run / "run.json").write_text(json.dumps(record))
    out = tmp_path / "r.html"
    assert run_report(run, runs["gan"], "--out", out) == 0
    page = out.read_text()
    assert "<b>" not in page and "<script>" not in page
    assert "&lt;b&gt;&quot;odd&quot; &amp; run" in page and "failed: &lt;script&gt;" in page


def test_unfinished_runs_are_shown_without_drawing(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["vae"], run)
    record = json.loads((run / "run.json").read_text())
    record["status"] = "running"
    (run / "run.json").write_text(json.dumps(record))
    assert run_report(run, "--out", tmp_path / "r.html", "--samples", "4") == 0
    page = (tmp_path / "r.html").read_text()
    assert 'class="status running"' in page and "interpolation" not in page and "4 samples" not in page


@pytest.mark.parametrize("args,words", [
    (["{run}", "--out", "{tmp}/r.htm"], ["--out", ".html", "r.htm"]),
    (["{tmp}", "--out", "{tmp}/r.html"], ["not a run directory", "no run.json"]),
    (["{run}", "{tmp}/nowhere", "--out", "{tmp}/r.html"], ["nowhere", "no such folder"]),
    (["{run}", "--out", "{tmp}/r.html", "--samples", "0"], ["--samples", "positive"]),
    (["{run}", "--out", "{tmp}/folder.html"], ["folder.html", "is a folder"]),
])
def test_bad_input_is_one_line_and_writes_nothing(args, words, runs, tmp_path, capsys):
    (tmp_path / "folder.html").mkdir()
    result = run_main(capsys, "report", *(a.format(run=runs["gmm"], tmp=tmp_path) for a in args))
    assert_one_line_error(result, *words)
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r.htm").exists()


def test_the_cli_says_where_the_report_went(runs, tmp_path, capsys):
    result = run_main(capsys, "report", runs["gmm"], runs["gan"], "--out", tmp_path / "r.html")
    assert_succeeded(result)
    assert result.stdout.strip() == f"report of 2 runs written to {tmp_path / 'r.html'}"


# --- in a browser ------------------------------------------------------------------------------

def opened(browser, path: Path):
    """The page at ``path``, loaded, and every URL it asked for."""
    page = browser.new_page()
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, asked


def cells(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(selector, """cells => cells.map(c => ({
        score: c.dataset.score, value: JSON.parse(c.dataset.value), best: c.classList.contains('best'),
        text: c.querySelector('.value').textContent, run: c.closest('tr').dataset.run,
        mark: c.querySelector('.mark') !== null, bold: parseInt(getComputedStyle(c).fontWeight) >= 700}))""")


def check_pictures(page, asked, path: Path) -> int:
    images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert images and all(done and w > 0 and h > 0 for done, w, h in images), images
    assert all(url == path.resolve().as_uri() or url.startswith("data:") for url in asked), asked
    return len(images)


def test_one_run_in_a_browser(browser, pages, runs):
    page, asked = opened(browser, pages["one"])
    expected = 3 + (runs["vae"] / "curves.png").exists()  # samples, interpolation, 16 fresh samples
    assert check_pictures(page, asked, pages["one"]) == expected
    scores = json.loads((runs["vae"] / "eval.json").read_text())["scores"]
    shown = {kind: {c["score"]: c for c in cells(page, f"table.eval td.{kind}")} for kind in ("figure", "real")}
    assert {k: c["value"] for k, c in shown["figure"].items()} == {k: s["model"] for k, s in scores.items()}
    assert {k: c["value"] for k, c in shown["real"].items()} == {k: s["real"] for k, s in scores.items()
                                                                 if s["real"] is not None}
    assert all(c["text"] == figure(c["value"]) for kind in shown.values() for c in kind.values())
    assert page.locator("table.compare").count() == 0  # one run: nothing side by side
    page.close()


def test_three_runs_side_by_side_in_a_browser(browser, pages, runs):
    page, asked = opened(browser, pages["three"])
    check_pictures(page, asked, pages["three"])
    evals = {str(runs[name]): json.loads((runs[name] / "eval.json").read_text())["scores"] for name in THREE}
    shown = cells(page, "table.compare tr[data-run] td[data-score]")
    columns = {c["score"] for c in shown}
    assert columns == {k for scores in evals.values() for k in scores}
    real = cells(page, "table.compare tr.real td[data-score]")  # the three were scored alike: one real row
    assert real and all(c["value"] == s[c["score"]]["real"] and c["text"] == figure(c["value"])
                        for c in real for s in evals.values())
    assert {c["score"] for c in real} == {k for k, s in evals[str(runs["gmm"])].items() if s["real"] is not None}
    for c in shown:
        assert c["value"] == evals[c["run"]][c["score"]]["model"] and c["text"] == figure(c["value"])
        assert c["mark"] == c["best"] == c["bold"]  # the best figure shows bold with a star
    for score in columns:
        figures = {run: s[score]["model"] for run, s in evals.items()
                   if score in s and isinstance(s[score]["model"], (int, float)) and math.isfinite(s[score]["model"])}
        way = better(score)
        if way is None or len(figures) < 2:
            expected = set()
        else:
            top = (min if way == "lower" else max)(figures.values())
            expected = {run for run, v in figures.items() if v == top}
        assert {c["run"] for c in shown if c["score"] == score and c["best"]} == expected, score
    gmm_w1 = [c for c in shown if c["run"] == str(runs["gmm"]) and c["score"] == "sliced_w1"]
    assert gmm_w1[0]["best"]  # the EM fit beats 4 steps of a GAN and a diffusion model
    assert MARK in page.inner_text("table.compare td.best")
    rows = page.eval_on_selector_all("table.compare tr[data-run]", "rows => rows.map(r => r.dataset.run)")
    assert rows == [str(runs[name]) for name in THREE]
    page.close()


def test_a_thousand_fresh_samples_stay_small(runs, pages, tmp_path):
    """--samples 1000 adds one grid at the images' own pixel size: for 8x8 digits a few tens of
    kB, well under the 0.3 MB per 1,000 samples the docs state for 28x28 mnist digits."""
    out = tmp_path / "thousand.html"
    assert run_report(runs["vae"], "--out", out, "--samples", "1000") == 0
    added = out.stat().st_size - pages["one"].stat().st_size
    assert 0 < added < 0.3 * 2**20, added
    assert "1,000 samples, seed 0, at native pixel scale" in out.read_text(encoding="utf-8")


def test_negative_kid_estimates_tie_for_best():
    from genlab.report import best_of

    assert best_of([-0.004, 0.02, -0.001], "kid") == {0, 2}
    assert best_of([-0.004, 0.02, -0.001], "frechet_distance") == {0}
