"""``genlab serve``: the playground, served for real and driven by a headless chromium.

A temporary runs folder holds tiny runs of gan (ring8), vae (digits), ngram (a text file),
a class-conditional ddpm (digits), cyclegan (digits-inverted), stylegan (digits) and dann
(moons-rotated). The server runs in a thread
of this process on a free loopback port; the browser opens each run, changes a control,
samples, and checks the page changed as it should. Bad requests (path traversal, uploads that
are not pictures or too large, absurd counts) are answered with one line and a 4xx status
while the server goes on answering.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from PIL import Image

from genlab.cli import build_parser, main
from genlab.playground import is_loopback, run_server
from genlab.playground.library import CACHE_SIZE, MAX_IMAGES, Library
from conftest import tiny_sets

pytestmark = pytest.mark.usefixtures("one_thread")

TALE = "\n\n".join(f"the {who} sat on the mat and the {who} ran to the door"
                   for who in ("cat", "dog", "bird", "fox", "cow", "hen") * 3)
RUNS = {"gan-ring8": ["gan", "--data", "ring8"], "vae-digits": ["vae", "--data", "digits"],
        "ngram-tale": ["ngram", "--data", "text:{root}/tale.txt"],
        "ddpm-digits": ["ddpm", "--data", "digits", "--set", "conditional=true"],
        "cyclegan": ["cyclegan", "--data", "digits-inverted"], "stylegan-digits": ["stylegan", "--data", "digits"],
        "dann-moons": ["dann", "--data", "moons-rotated"]}
SCREENSHOTS = os.environ.get("GENLAB_SCREENSHOTS")  # a folder to keep the browser test's screenshots in


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("served")
    (root / "tale.txt").write_text(TALE, encoding="utf-8")
    (root / "runs").mkdir()
    for name, argv in RUNS.items():
        model = argv[0]
        argv = [a.format(root=root) for a in argv]
        assert main(["train", *argv, "--steps", "4", *tiny_sets(model), "--set", "batch_size=16", "--set", "monitor=false",
                     "--no-progress",
                     "--out", str(root / "runs" / name)]) == 0
    (root / "runs" / "not-a-run").mkdir()              # ignored: no run.json
    (root / "secret.txt").write_text("outside the runs folder")
    return root / "runs"


class Served:
    """A live playground on a free loopback port, in a thread of this process."""

    def __init__(self, runs: Path):
        import uvicorn

        from genlab.playground.app import create_app

        self.library = Library(runs)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(create_app(self.library), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def request(self, path: str, body: bytes | dict | None = None, content_type: str = "application/json"):
        """(status, JSON answer) of a GET, or of a POST of ``body``."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        req = urllib.request.Request(self.url + path, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": content_type} if body is not None else {})
        try:
            with urllib.request.urlopen(req, timeout=120) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def served(root):
    s = Served(root)
    yield s
    s.stop()


def png_bytes(size=(20, 20), value=255) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, value).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(data_url: str) -> Image.Image:
    assert data_url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


# --- the interface --------------------------------------------------------------------------------

def test_the_run_list_holds_the_finished_runs_only(served):
    status, answer = served.request("/api/runs")
    assert status == 200
    assert sorted(r["name"] for r in answer["runs"]) == sorted(RUNS)
    gan = next(r for r in answer["runs"] if r["name"] == "gan-ring8")
    assert gan["model"] == "gan" and gan["data"] == "ring8" and gan["steps"] == 4
    assert next(r for r in answer["runs"] if r["name"] == "ngram-tale")["steps"] == "fitted"  # counted, not trained


def test_a_runs_controls_are_its_sampling_settings(served):
    status, ddpm = served.request("/api/run?name=ddpm-digits")
    assert status == 200
    controls = {c["name"]: c for c in ddpm["controls"]}
    assert set(controls) == {"sampler", "sampling_steps", "eta", "guidance"}
    assert controls["sampler"]["kind"] == "choice" and controls["sampler"]["choices"] == ["ddim", "ddpm"]
    assert controls["sampling_steps"]["kind"] == "integer" and controls["guidance"]["kind"] == "number"
    assert ddpm["abilities"]["conditional"] and ddpm["abilities"]["num_classes"] == 10 and ddpm["abilities"]["walks"]
    assert "samples.png" in ddpm["pictures"] and "curves.png" in ddpm["pictures"]
    _, ngram = served.request("/api/run?name=ngram-tale")
    assert {"temperature", "top_k", "top_p"} <= {c["name"] for c in ngram["controls"]}
    assert ngram["abilities"]["kind"] == "text" and not ngram["abilities"]["walks"]
    _, cyclegan = served.request("/api/run?name=cyclegan")
    assert cyclegan["abilities"]["translates"] and not cyclegan["abilities"]["samples"]


def test_samples_follow_the_seed_the_label_and_the_settings(served):
    def image(body):
        status, answer = served.request("/api/act/sample?name=ddpm-digits", body)
        assert status == 200, answer
        assert answer["seconds"] >= 0
        return decoded(answer["image"]).tobytes()

    first = image({"seed": 0, "n": 4, "label": 3})
    assert image({"seed": 0, "n": 4, "label": 3}) == first
    assert image({"seed": 1, "n": 4, "label": 3}) != first
    assert image({"seed": 0, "n": 4, "label": 3, "settings": {"guidance": 3}}) != first


def test_a_walk_goes_from_one_seeds_sample_to_the_others(served):
    """The ends of a walk are the samples of its two seeds (vae: the decoder's means)."""
    status, answer = served.request("/api/act/walk?name=vae-digits", {"seed_a": 5, "seed_b": 9, "steps": 4})
    assert status == 200, answer
    model, _ = served.library.model(served.library.run("vae-digits"))
    with torch.no_grad():
        ends = [model.sample(1, generator=torch.Generator().manual_seed(s)) for s in (5, 9)]
    from genlab.plot import image_grid

    expected = image_grid(torch.cat([ends[0], ends[0], ends[1], ends[1]]), 4)
    got = decoded(answer["image"])
    assert got.size == expected.size
    tile = got.size[0] // 4
    crop = lambda im, i: im.crop((i * tile, 0, (i + 1) * tile, got.size[1])).tobytes()  # noqa: E731
    assert crop(got, 0) == crop(expected, 0) and crop(got, 3) == crop(expected, 3)
    assert crop(got, 1) != crop(got, 0)


def test_text_follows_the_prompt(served):
    status, answer = served.request("/api/act/sample?name=ngram-tale", {"n": 3, "prompt": "the fox",
                                                                         "settings": {"temperature": 0.5}})
    assert status == 200, answer
    assert len(answer["texts"]) == 3 and all(t.startswith("the fox") for t in answer["texts"])


def test_an_uploaded_picture_is_translated(served):
    status, answer = served.request("/api/act/translate?name=cyclegan&direction=b2a", png_bytes((40, 30)),
                                    "image/png")
    assert status == 200, answer
    assert decoded(answer["image"]).size[0] > decoded(answer["image"]).size[1]  # input, translation, back: a row


def test_a_ddpm_walk_is_deterministic(served):
    body = {"seed_a": 1, "seed_b": 2, "steps": 3, "label": 4, "settings": {"guidance": 1}}
    first, second = (served.request("/api/act/walk?name=ddpm-digits", body) for _ in range(2))
    assert first[0] == 200 and first[1]["image"] == second[1]["image"]


def test_stylegan_mixes_styles_in_a_grid(served):
    status, answer = served.request("/api/act/mix?name=stylegan-digits", {"rows": 2, "cols": 3, "seed": 1})
    assert status == 200, answer
    width, height = decoded(answer["image"]).size
    assert abs(width / height - 4 / 3) < 0.1                       # (1 + cols) x (1 + rows) tiles
    status, answer = served.request("/api/act/mix?name=stylegan-digits", {"crossover": 99})
    assert status == 400 and "crossover must lie in 1.." in answer["error"]


def test_dann_predicts_a_points_class(served):
    status, answer = served.request("/api/act/predict?name=dann-moons", {"point": [0.5, 0.2]})
    assert status == 200, answer
    assert abs(sum(answer["probabilities"]) - 1) < 1e-3 and answer["predicted"] in (0, 1)
    status, answer = served.request("/api/act/predict?name=dann-moons", {"point": [0.5, "x"]})
    assert status == 400 and "point must be a list of 2 finite numbers" in answer["error"]


def test_a_model_is_loaded_once_and_kept(root, monkeypatch):
    import genlab.api

    loads = []
    real = genlab.api.load
    monkeypatch.setattr(genlab.api, "load", lambda *a, **k: loads.append(a) or real(*a, **k))
    library = Library(root)
    for _ in range(3):
        library.act("gan-ring8", "sample", {"n": 10})
    assert len(loads) == 1
    for name in RUNS:
        library.model(library.run(name))
    assert len(library.models) == CACHE_SIZE


# --- bad requests ---------------------------------------------------------------------------------

BAD = [
    ("GET", "/api/run?name=../secret.txt", None, None, 404, "no finished run"),
    ("GET", "/api/run?name=%2Fetc%2Fpasswd", None, None, 404, "no finished run"),
    ("GET", "/api/run?name=not-a-run", None, None, 404, "no finished run"),
    ("GET", "/api/picture?name=gan-ring8&file=..%2Frun.json", None, None, 404, "no picture"),
    ("GET", "/api/picture?name=gan-ring8&file=%2Fetc%2Fpasswd", None, None, 404, "no picture"),
    ("POST", "/api/act/translate?name=cyclegan", b"%PDF-1.4 not a picture", "application/pdf", 400, "not a picture"),
    ("POST", "/api/act/translate?name=cyclegan", b"\0" * (50 * 2**20), "image/png", 413, "at most 2 MB"),
    ("POST", "/api/act/sample?name=vae-digits", {"n": 10**6}, None, 400, f"n must lie in 1..{MAX_IMAGES}"),
    ("POST", "/api/act/sample?name=vae-digits", {"n": "many"}, None, 400, "n must be a whole number"),
    ("POST", "/api/act/sample?name=ddpm-digits", {"settings": {"guidance": -1}}, None, 400, "guidance must be >= 0"),
    ("POST", "/api/act/sample?name=ddpm-digits", {"settings": {"steps": 3}}, None, 400, "unknown sampling setting"),
    ("POST", "/api/act/sample?name=vae-digits", {"label": 3}, None, 400, "not class-conditional"),
    ("POST", "/api/act/sample?name=vae-digits", b"{not json", None, 400, "not JSON"),
    ("POST", "/api/act/sample?name=cyclegan", {}, None, 400, "does not sample"),
    ("POST", "/api/act/explode?name=vae-digits", {}, None, 404, "no action"),
    ("GET", "/api/explain/distance?d=nan", None, None, 400, "d must lie in"),
]


@pytest.mark.parametrize("method, path, body, content_type, status, says", BAD,
                         ids=[f"{b[0]} {b[1][:40]} {b[5]}" for b in BAD])
def test_a_bad_request_is_one_line_and_4xx_and_the_server_goes_on(served, method, path, body, content_type,
                                                                    status, says):
    got, answer = served.request(path, body if method == "POST" else None, content_type or "application/json")
    assert got == status and says in answer["error"] and "\n" not in answer["error"], (got, answer)
    assert "Traceback" not in answer["error"]
    assert served.request("/api/runs")[0] == 200


def test_the_default_address_is_loopback_and_another_is_warned_of(monkeypatch, capsys):
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and is_loopback(args.host) and args.runs_dir == "runs"
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    import genlab.playground.app as app

    called = []
    monkeypatch.setattr(app, "serve", lambda *a: called.append(a))
    run_server("runs", host="0.0.0.0", port=8123, say=print)
    assert called and "warning: listening on 0.0.0.0" in capsys.readouterr().out
    run_server("runs", host="127.0.0.1", port=8123, say=print)
    assert "warning" not in capsys.readouterr().out


@pytest.mark.parametrize("argv, says", [
    (["serve", "{missing}"], "does not exist"),
    (["serve", "{root}", "--port", "70000"], "--port must lie in 1..65535"),
])
def test_bad_serve_arguments_are_one_line(root, tmp_path, argv, says, capsys):
    argv = [a.format(missing=tmp_path / "nowhere", root=root) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_without_the_web_extra_serve_says_how_to_get_it(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'genlab[web]'" in err[0]


# --- in a browser ---------------------------------------------------------------------------------

def shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


SHOWN = "r => (r.querySelector('img') || {}).src || r.querySelector('pre').textContent"  # a result, as shown


def test_the_page_in_a_browser(served, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(120_000)
    page.goto(served.url + "/", wait_until="load")
    page.wait_for_selector("#runs-table tr.run")
    assert sorted(page.eval_on_selector_all("tr.run", "rows => rows.map(r => r.dataset.name)")) == sorted(RUNS)
    shot(page, "runs.png")

    def sample_twice(name: str, change) -> tuple[str, str]:
        """Open the run, sample, change a control, sample again: the two results."""
        page.click(f"tr.run[data-name='{name}'] a")
        page.wait_for_selector("#sample-button")
        assert page.text_content("#run-title") == name
        page.click("#sample-button")
        page.wait_for_selector("#sample-result[data-count='1']")
        first = page.eval_on_selector("#sample-result", SHOWN)
        change()
        page.click("#sample-button")
        page.wait_for_selector("#sample-result[data-count='2']")
        second = page.eval_on_selector("#sample-result", SHOWN)
        assert page.is_hidden("#error"), page.text_content("#error")
        assert "took" in page.text_content("#sample-result .took")
        return first, second

    for name in ("gan-ring8", "vae-digits"):
        first, second = sample_twice(name, lambda: page.fill("#seed", "7"))
        assert first.startswith("data:image/png") and second != first
        pictures = page.eval_on_selector_all(".pictures img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
        assert pictures and all(pictures)                      # the run's own PNGs loaded
        page.goto(served.url + "/#/", wait_until="load")
        page.wait_for_selector("#runs-table tr.run")

    first, second = sample_twice("ddpm-digits", lambda: (page.select_option("#label", "3"),
                                                         page.fill("#ctl-guidance", "3")))
    assert second != first
    shot(page, "ddpm.png")
    page.goto(served.url + "/#/", wait_until="load")
    page.wait_for_selector("#runs-table tr.run")

    def prompt():
        page.fill("#prompt", "the fox")
        page.fill("#n", "3")

    first, second = sample_twice("ngram-tale", prompt)
    lines = [line.split(". ", 1)[1] for line in second.strip().splitlines()]
    assert len(lines) == 3 and all(line.startswith("the fox") for line in lines), second
    shot(page, "ngram.png")

    # a bad value shows one line in the page, and the page still works
    page.fill("#ctl-temperature", "-1")
    page.click("#sample-button")
    page.wait_for_selector("#error:not([hidden])")
    assert "temperature" in page.text_content("#error")

    # cyclegan translates a picture drawn on the page
    page.goto(served.url + "/#/run/cyclegan", wait_until="load")
    page.wait_for_selector("#translate-canvas")
    box = page.locator("#translate-canvas").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 40)
    page.mouse.down()
    for dx, dy in ((90, 60), (100, 150), (60, 160)):
        page.mouse.move(box["x"] + dx, box["y"] + dy, steps=5)
    page.mouse.up()
    assert page.get_attribute("#translate-canvas", "data-drawn") == "yes"
    page.click("#translate-button")
    page.wait_for_selector("#translate-result[data-count='1'] img")
    assert page.is_hidden("#error"), page.text_content("#error")
    width = page.eval_on_selector("#translate-result img", "i => i.complete && i.naturalWidth")
    height = page.eval_on_selector("#translate-result img", "i => i.naturalHeight")
    assert width > 2 * height                                  # the drawing, its translation and back, in a row

    page.goto(served.url + "/#/claims", wait_until="load")
    page.wait_for_selector("#d-chart path")
    page.wait_for_function("document.querySelector('#s-figures').textContent.includes('reverse')")
    before = page.text_content("#d-figures")
    page.fill("#d-slider", "4")
    page.wait_for_function(f"document.querySelector('#d-figures').textContent !== {json.dumps(before)}")
    assert "W1 = 4.000" in page.text_content("#d-figures") and "disjoint" in page.text_content("#d-figures")
    page.close()


def test_a_run_is_found_by_name_exactly_as_the_listing_names_it(root):
    from genlab.playground.library import find_runs, run_named

    listed = find_runs(root)
    assert all(run_named(root, name).path == run.path for name, run in listed.items())
    for name in ("", ".", "..", "../runs/gan-ring8", "/etc/passwd", "gan-ring8/", "./gan-ring8", "not-a-run",
                 "gan-ring8/samples.png", "a/b/c"):
        assert run_named(root, name) is None, name
