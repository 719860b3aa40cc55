"""The documentation site (mkdocs.yml, docs/): it builds with ``mkdocs build --strict``, every
family page carries its equations as MathML and a code link after each one, no page loads
anything from the network, every Python example in the pages runs, and a code link whose
target has been renamed, in the page or in the source, stops the build and names it."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FAMILIES = ["gmm", "ngram", "autoregressive", "autoencoders", "gans", "wgan", "conditional", "stylegan",
            "diffusion", "dann"]
MIN_EQUATIONS = 5  # display formulas per family page, each rendered as MathML
BUILD_TIMEOUT = 300

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                                reason="mkdocs is not installed: pip install -e '.[docs]' (the dev extra has it)")

DISPLAY = re.compile(r"^\$\$\n(.*?)^\$\$", re.S | re.M)          # a display formula of a page's Markdown
CODE_LINK = re.compile(r"\[\[(genlab(?:\.\w+)+)\]\]")           # docs/hooks/genlab_pages.py's marker
PYTHON_BLOCK = re.compile(r"^([ \t]*)```python\n(.*?)^\1```", re.S | re.M)
# pages whose Python blocks are fragments quoted to show something, compiled but not run
SYNTAX_ONLY = {"STYLE.md": "fragments of genlab's own source that show how it is written, not programs"}


def build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          capture_output=True, text=True, env=env, cwd=config.parent, timeout=BUILD_TIMEOUT)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return out


def markdown_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.relative_to(DOCS).parts)


# --- (a) the built site ---------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_page_shows_its_equations_as_mathml(site, family):
    page = site / "models" / f"{family}.html"
    assert page.is_file(), f"{family}: no page in the built site"
    html = page.read_text(encoding="utf-8")
    blocks = re.findall(r'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">', html)
    assert len(blocks) >= MIN_EQUATIONS, f"{family}: {len(blocks)} display formulas rendered as MathML"
    assert 'class="arithmatex"' not in html, f"{family}: a formula was left as TeX"
    assert len(re.findall(r'class="autorefs autorefs-internal"', html)) >= len(blocks)


def test_no_page_loads_anything_from_the_network(site):
    """No script, stylesheet, font, image or frame from another host: the site works offline,
    and nothing uses a CDN (MathJax, KaTeX, Google Fonts, unpkg)."""
    remote_tag = re.compile(r"<(script|link|img|iframe|source|embed)\b[^>]*\b(src|href)=[\"']?(https?:)?//", re.I)
    remote_css = re.compile(r"@import\s+(url\()?[\"']?(https?:)?//|url\([\"']?(https?:)?//", re.I)
    pages = list(site.rglob("*.html"))
    assert len(pages) > 15
    for path in pages:
        html = path.read_text(encoding="utf-8")
        tags = [m.group(0)[:120] for m in remote_tag.finditer(html)]
        assert not tags, f"{path.relative_to(site)} loads from the network: {tags}"
        assert not re.search(r"mathjax|katex", html, re.I), f"{path.relative_to(site)} mentions a maths script"
    for path in site.rglob("*.css"):
        found = remote_css.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(site)} loads from the network"


def test_the_claims_page_lists_every_claim_genlab_explain_has(site):
    from genlab.explain import CLAIMS

    html = (site / "claims.html").read_text(encoding="utf-8")
    for name in CLAIMS:
        assert f"genlab explain {name}" in html


@pytest.mark.parametrize("family", FAMILIES)
def test_every_equation_is_followed_by_a_link_to_its_code(family):
    text = (DOCS / "models" / f"{family}.md").read_text(encoding="utf-8")
    formulas = list(DISPLAY.finditer(text))
    assert formulas, f"{family}: no display formula"
    for this, following in zip(formulas, formulas[1:] + [None]):
        after = text[this.end():following.start() if following else len(text)]
        assert CODE_LINK.search(after), f"{family}: no code link after the formula {this.group(1)[:60]!r}"


def test_tests_and_benchmarks_the_pages_name_exist():
    named_tests, scripts = set(), set()
    for page in markdown_pages():
        text = page.read_text(encoding="utf-8")
        named_tests |= set(re.findall(r"(tests/test_\w+\.py)::(\w+)", text))
        scripts |= set(re.findall(r"\bpython (benchmarks/\w+\.py)", text))
    assert named_tests and scripts
    for path, name in sorted(named_tests):
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in defined, f"{path}::{name} is named in the docs but does not exist"
    for script in sorted(scripts):
        assert (ROOT / script).is_file(), f"{script} is named in the docs but does not exist"


# --- (b) the Python examples ------------------------------------------------------------------

def python_blocks() -> list:
    cases = []
    for page in markdown_pages():
        text = page.read_text(encoding="utf-8")
        for i, m in enumerate(PYTHON_BLOCK.finditer(text)):
            name = page.relative_to(DOCS).as_posix()
            first_line = text.count("\n", 0, m.start(2))  # so that a traceback names the page's own line
            cases.append(pytest.param(name, "\n" * first_line + textwrap.dedent(m.group(2)), id=f"{name}-{i}"))
    return cases


@pytest.mark.parametrize("page, code", python_blocks())
def test_python_examples_run(page, code, tmp_path, monkeypatch):
    compiled = compile(code, f"docs/{page}", "exec")
    if page in SYNTAX_ONLY:
        return
    import torch

    monkeypatch.chdir(tmp_path)  # whatever an example writes (my_gan/...) lands here
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exec(compiled, {"__name__": "__main__"})
    finally:
        torch.set_num_threads(threads)


# --- (c) a renamed target breaks the build ----------------------------------------------------

def test_a_code_link_to_a_renamed_object_fails_the_strict_build(tmp_path):
    """Two renames in a copy of the site and the package: a link's target changed in a page,
    and a function the pages link to renamed in the source. Both are named by the build."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    shutil.copytree(DOCS, copy / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))

    page = copy / "docs" / "models" / "gmm.md"
    target = CODE_LINK.search(page.read_text(encoding="utf-8")).group(1)
    page.write_text(page.read_text(encoding="utf-8").replace(f"[[{target}]]", f"[[{target}_renamed]]", 1),
                    encoding="utf-8")

    source = copy / "src" / "genlab" / "models" / "vae.py"
    assert "[[genlab.models.vae.gaussian_kl]]" in (DOCS / "models" / "autoencoders.md").read_text(encoding="utf-8")
    text = source.read_text(encoding="utf-8")
    source.write_text(re.sub(r"\bgaussian_kl\b", "gaussian_kl_divergence", text), encoding="utf-8")

    result = build(copy / "mkdocs.yml", tmp_path / "site")
    log = result.stdout + result.stderr
    assert result.returncode != 0, "the strict build passed with links to renamed objects"
    assert f"'{target}_renamed'" in log, log[-3000:]
    assert "'genlab.models.vae.gaussian_kl'" in log, log[-3000:]
    assert "Aborted" in log and "strict mode" in log
