"""MkDocs hook: the parts of genlab's pages that are generated from the code at build time.

Markers in the Markdown of ``docs/`` are expanded before the page is converted:

``[[genlab.models.vae.VAE.loss]]``
    a link to that object in the API reference, as an mkdocstrings cross-reference
    (``[`VAE.loss`][genlab.models.vae.VAE.loss]``), followed by the file that defines it.
    autorefs resolves the link against the objects the reference pages render; a target
    that no longer exists is a warning, so ``mkdocs build --strict`` fails and names it.
``[[settings gan]]``
    the table of a model's settings (name, type, default, meaning), read from its config
    dataclass the way ``genlab list gan`` reads it.
``[[presets gan]]``
    the per-dataset presets the model declares (``Model.presets``), or a line saying it has none.
``[[claims]]``
    the claims ``genlab explain`` measures, from ``genlab.explain.CLAIMS``: name, summary and
    a link to the function that measures each.

Only identifiers that start with ``genlab.`` are markers, and fenced code is left alone.

genlab's docstrings name objects the Sphinx way (``:class:`Phase```), which Markdown shows as
a literal ":class:" before the code; the rendered pages drop that prefix and keep the code.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.genlab_pages")  # under "mkdocs": its warnings fail --strict

CODE = re.compile(r"\[\[(genlab(?:\.\w+)+)\]\]")
SETTINGS = re.compile(r"\[\[settings ([\w-]+)\]\]")
PRESETS = re.compile(r"\[\[presets ([\w-]+)\]\]")
CLAIMS = re.compile(r"\[\[claims\]\]")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
SPHINX_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):(?=<code>)")

SRC: Path | None = None  # the src/ folder next to mkdocs.yml


def on_config(config, **_):
    global SRC
    SRC = Path(config.config_file_path).resolve().parent / "src"
    return config


def source_file(identifier: str) -> tuple[str, str] | None:
    """(the path of the module that defines ``identifier``, relative to the repository, and
    the object's path inside it), found on disk without importing anything."""
    parts = identifier.split(".")
    for i in range(len(parts), 0, -1):
        base = SRC.joinpath(*parts[:i])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate.relative_to(SRC.parent).as_posix(), ".".join(parts[i:])
    return None


def code_link(identifier: str, where: str) -> str:
    found = source_file(identifier)
    if found is None:
        log.warning("%s: no module under src/ defines %s", where, identifier)
        return f"`{identifier}`"
    path, inside = found
    title = inside or identifier
    return f"[`{title}`][{identifier}] in `{path}`"


def settings_table(name: str, where: str) -> str:
    from genlab.config import describe, notes
    from genlab.models import MODELS

    if name not in MODELS:
        log.warning("%s: [[settings %s]] names no model", where, name)
        return ""
    cls = MODELS[name]
    meaning = notes(cls.Config)
    rows = ["| setting | type | default | meaning |", "|---|---|---|---|"]
    for field, kind, default in describe(cls.Config):
        cells = [f"`{field}`", kind, f"`{default}`", meaning.get(field, "")]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    path = source_file(f"{cls.__module__}.{cls.Config.__name__}")[0]
    intro = (f"Every setting of `{name}` (`--set KEY=VALUE` on the command line, a keyword of "
             f"`genlab.create`), read from [`{cls.Config.__name__}`][{cls.__module__}.{cls.Config.__name__}] "
             f"in `{path}` when this page was built; `genlab list {name}` prints the same.")
    return intro + "\n\n" + "\n".join(rows) + "\n"


def presets_line(name: str, where: str) -> str:
    from genlab.models import MODELS

    if name not in MODELS:
        log.warning("%s: [[presets %s]] names no model", where, name)
        return ""
    presets = MODELS[name].presets
    if not presets:
        return f"`{name}` has no dataset presets: its defaults are the papers' settings."
    lines = [f"Presets of `{name}` (`genlab train {name} --data NAME` starts from them; `--set` overrides):", ""]
    for data, values in presets.items():
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        lines.append(f"- `{data}`: {shown}")
    return "\n".join(lines) + "\n"


def claims_table(where: str) -> str:
    from genlab.explain import CLAIMS

    rows = ["| claim | what it shows | measured by |", "|---|---|---|"]
    for name, (summary, target) in sorted(CLAIMS.items()):
        module, function = target.split(":")
        link = code_link(f"genlab.explain.{module}.{function}", where)
        rows.append(f"| `genlab explain {name}` | {summary.replace('|', chr(92) + '|')} | {link} |")
    return f"{len(CLAIMS)} claims when this page was built.\n\n" + "\n".join(rows) + "\n"


def expand(markdown: str, where: str) -> str:
    def outside_fences(text: str) -> str:
        text = CODE.sub(lambda m: code_link(m.group(1), where), text)
        text = SETTINGS.sub(lambda m: settings_table(m.group(1), where), text)
        text = PRESETS.sub(lambda m: presets_line(m.group(1), where), text)
        return CLAIMS.sub(lambda m: claims_table(where), text)

    out, last = [], 0
    for m in FENCE.finditer(markdown):
        out += [outside_fences(markdown[last:m.start()]), m.group(0)]
        last = m.end()
    return "".join(out + [outside_fences(markdown[last:])])


def on_page_markdown(markdown: str, page, **_) -> str:
    return expand(markdown, page.file.src_uri)


def on_page_content(content: str, **_) -> str:
    return SPHINX_ROLE.sub("", content)
