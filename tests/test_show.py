"""``genlab show``: a run's card in the terminal.

Tiny runs of six models over points, images, text and two domains show every field; so do
an unfinished run, a failed run, and runs made before run.json recorded the versions. A
folder that is not a run is one line and exit status 2. The runs are trained once and
shared with test_report.py through :func:`made_runs`.
"""

import json
import platform
import shutil
from pathlib import Path

import pytest
import torch

import genlab
from genlab.cards import UNRECORDED_VERSIONS, card, setting, size
from genlab.cli import main
from genlab.runs import resolved_settings
from conftest import assert_one_line_error, assert_succeeded, run_main, tiny_sets

pytestmark = pytest.mark.usefixtures("one_thread")

OLD_RUNS = Path(__file__).parent / "fixtures" / "old_runs"
DATA = {"gmm": "ring8", "gan": "ring8", "ddpm": "ring8", "vae": "digits", "ngram": "text:{root}/tale.txt",
        "cyclegan": "digits-inverted"}
EVALUATED = ("gmm", "gan", "ddpm", "vae")
TALE = "\n\n".join(f"the {who} sat on the mat and the {who} ran to the door"
                   for who in ("cat", "dog", "bird", "fox", "cow", "hen") * 3)
_made: dict[str, Path] = {}


def made_runs(tmp_path_factory) -> dict[str, Path]:
    """The runs of DATA, 4 steps of tiny models, those of EVALUATED scored with N = 200;
    trained once per session, whichever test module asks first."""
    if not _made:
        root = tmp_path_factory.mktemp("shown")
        (root / "tale.txt").write_text(TALE, encoding="utf-8")
        for name, data in DATA.items():
            run = root / name
            assert main(["train", name, "--data", data.format(root=root), "--steps", "4", *tiny_sets(name),
                         "--set", "batch_size=16", "--set", "log_every=2", "--no-progress", "--out", str(run)]) == 0
            if name in EVALUATED:
                assert main(["eval", str(run), "--n", "200"]) == 0
            _made[name] = run
    return _made


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return made_runs(tmp_path_factory)


def shown(capsys, run) -> str:
    result = run_main(capsys, "show", run)
    assert_succeeded(result)
    return result.stdout


def labelled(text: str) -> dict[str, str]:
    """The card's one-line fields: ``label  text`` at the start of a line."""
    out = {}
    for line in text.splitlines():
        for label in ("run", "status", "model", "data", "split", "domains", "preset", "steps", "time", "device",
                      "versions", "git commit"):
            if line.startswith(label + "  "):
                out[label] = line[len(label):].strip()
    return out


@pytest.mark.parametrize("name", list(DATA))
def test_the_card_shows_every_field(name, runs, capsys):
    run = runs[name]
    record = json.loads((run / "run.json").read_text())
    text = shown(capsys, run)
    fields = labelled(text)
    assert text.splitlines()[0] == f"{name} on {record['data']['spec']}"
    assert fields["status"] == "complete" and fields["model"] == name and fields["run"] == str(run)
    train, test = record["data"]["train"], record["data"]["test"]
    assert fields["data"].startswith(record["data"]["spec"]) and train["source"] in fields["data"]
    assert fields["split"].startswith(f"{train['n']} train, {test['n']} test")
    if name == "cyclegan":
        assert fields["domains"].startswith(f"A digits ({train['domains']['n_a']} train")
    assert fields["steps"] == (str(record["steps"]) if record["steps"] else "none: fitted in closed form or by EM")
    assert fields["time"].endswith("s CPU") and " s wall" in fields["time"]
    assert fields["device"] == "cpu, precision fp32"
    versions = record["versions"]
    assert versions == {"genlab": genlab.__version__, "torch": torch.__version__,
                        "python": platform.python_version(), "git_commit": versions["git_commit"]}
    assert fields["versions"] == f"genlab {genlab.__version__}, torch {torch.__version__}, Python {versions['python']}"
    assert fields["git commit"] == (versions["git_commit"] or "none: genlab did not run from a git checkout")
    flat = " ".join(text.split())  # settings wrap over lines
    for key, value in resolved_settings(record).items():
        assert f"{key}={setting(value)}" in flat, key
    for key, value in record["quality"].items():
        assert f"{key}=" in text, key
    if (run / "metrics.jsonl").exists():
        last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        assert f"last logged, step {last['step']}:" in text
        assert all(f"{k}=" in text for k in last if k not in ("step", "seconds"))
    if name in EVALUATED:
        scores = json.loads((run / "eval.json").read_text())["scores"]
        assert "genlab eval (N = 200, seed 0):" in text
        assert all(key in text for key in scores)
    for path in run.iterdir():
        listed = path.name + ("/" if path.is_dir() else "")
        assert any(line.split()[:1] == [listed] for line in text.splitlines()), listed
    assert f"run.json{' ' * 2}" in text and size((run / "run.json").stat().st_size) in text


def test_the_card_as_data(runs):
    c = card(runs["vae"])
    assert c["settings"]["training"]["steps"] == 4 and c["settings"]["model"]["hidden"] == 16
    assert c["eval"]["protocol"]["n"] == 200 and c["last_log"]["step"] == 4
    assert {f["name"] for f in c["files"]} >= {"run.json", "samples.png", "samples/", "eval.json"}


def test_a_run_made_before_versions_were_recorded_still_shows(runs, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(runs["gan"], old)
    record = json.loads((old / "run.json").read_text())
    for key in ("versions", "cpu_seconds", "device", "precision"):
        del record[key]
    (old / "run.json").write_text(json.dumps(record))
    fields = labelled(shown(capsys, old))
    assert fields["versions"] == UNRECORDED_VERSIONS
    assert fields["time"].endswith("CPU not recorded")
    assert fields["device"] == "not recorded (asked for auto)"
    assert "git commit" not in fields


@pytest.mark.parametrize("name", sorted(p.name for p in OLD_RUNS.iterdir() if p.is_dir()))
def test_runs_of_an_older_genlab_show(name, capsys):
    text = shown(capsys, OLD_RUNS / name)
    assert labelled(text)["versions"] == UNRECORDED_VERSIONS
    assert "settings (--set key=value):" in text and "files:" in text


def test_unfinished_and_failed_runs_say_so(runs, tmp_path, capsys):
    for status in ("running", "failed"):
        run = tmp_path / status
        shutil.copytree(runs["vae"], run)
        record = json.loads((run / "run.json").read_text())
        for key in ("steps", "seconds", "cpu_seconds", "device", "precision", "quality"):
            del record[key]
        record.update(status=status, **({"error": "vae_loss is nan at step 3"} if status == "failed" else {}))
        (run / "run.json").write_text(json.dumps(record))
        with open(run / "metrics.jsonl", "a") as f:
            f.write('{"step": 6, "vae_lo')  # a line cut short by a kill
        fields = labelled(shown(capsys, run))
        expected = ("failed: vae_loss is nan at step 3" if status == "failed"
                    else f"running, or stopped before it ended (`genlab train --resume {run}` continues it)")
        assert fields["status"] == expected
        assert fields["steps"] == "4 of 4 logged" and fields["time"] == "not recorded: the run did not end"


NOT_RUNS = {  # what the folder holds as run.json, the folder given, words of the error
    "empty folder": (None, "", ["no run.json"]),
    "no folder": (None, "missing", ["no such folder"]),
    "a file": ("{}", "run.json", ["is a file"]),
    "another record": ('{"format": "other"}', "", ["not a genlab run record"]),
    "damaged record": ("{not json", "", ["damaged run record"]),
}


@pytest.mark.parametrize("case", NOT_RUNS)
def test_a_folder_that_is_not_a_run_is_one_line(case, tmp_path, capsys):
    record, given, words = NOT_RUNS[case]
    if record is not None:
        (tmp_path / "run.json").write_text(record)
    assert_one_line_error(run_main(capsys, "show", tmp_path / given), *words)
