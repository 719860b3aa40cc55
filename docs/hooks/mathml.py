"""MkDocs hook: TeX formulas become MathML when the site is built.

``pymdownx.arithmatex`` in its generic mode leaves every formula of a page as
``<span class="arithmatex">\\(...\\)</span>`` (inline) or ``<div class="arithmatex">\\[...\\]</div>``
(display). This hook converts each to MathML with the pure-Python ``latex2mathml``, so the
built pages carry their formulas as markup that browsers render natively (Chromium since
version 109, Firefox, Safari): no MathJax or KaTeX script, no font download, nothing fetched
when the site is built or read.

What MathML Core leaves out is repaired or refused here, never shipped broken:

- ``\\sim`` comes out of latex2mathml as the identifier "~"; it becomes the operator U+223C;
- ``mathvariant`` values other than ``normal`` (bold, double-struck on digits) are not
  rendered by Chromium, so their letters are mapped to Unicode's mathematical alphanumerics;
- a formula that latex2mathml cannot convert, that it converts with a TeX command left
  over as text (``\\big\\lVert``), or whose MathML is not well-formed XML (an ``aligned``
  environment's ``&``), is a warning naming the page and the TeX, which fails
  ``mkdocs build --strict``.
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

log = logging.getLogger("mkdocs.hooks.mathml")  # under "mkdocs": its warnings fail --strict

INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)
MATHVARIANT = re.compile(r'<(mi|mn)( mathvariant="([a-z-]+)")>([^<]+)</\1>')
SIM = '<mi>&#x0007E;</mi>'  # latex2mathml's \sim

# first code point of each alphabet in Unicode's Mathematical Alphanumeric Symbols block
ALPHABETS = {
    "bold": {"A": 0x1D400, "a": 0x1D41A, "0": 0x1D7CE},
    "bold-italic": {"A": 0x1D468, "a": 0x1D482},
    "double-struck": {"0": 0x1D7D8},
    "italic": {"A": 0x1D434, "a": 0x1D44E},
}
EXCEPTIONS = {"italic": {"h": "\u210E"}}  # letters Unicode placed in the older Letterlike block


def styled(text: str, variant: str) -> str | None:
    """``text`` in the alphabet of ``variant``, or None where Unicode has no such letters."""
    starts, out = ALPHABETS.get(variant, {}), []
    for ch in html.unescape(text):
        if ch in EXCEPTIONS.get(variant, {}):
            out.append(EXCEPTIONS[variant][ch])
            continue
        for first, code in starts.items():
            span = 10 if first == "0" else 26
            if 0 <= ord(ch) - ord(first) < span:
                out.append(chr(code + ord(ch) - ord(first)))
                break
        else:
            return None
    return "".join(f"&#x{ord(c):05X};" for c in out)


def to_mathml(tex: str, display: str, where: str) -> str | None:
    """The MathML of one formula, or None (with a warning) when it cannot be shown right."""
    try:
        out = convert(tex, display=display)
    except Exception as err:  # latex2mathml raises its own types and plain ones
        log.warning("%s: latex2mathml cannot convert %r: %s", where, tex, err)
        return None
    out = out.replace(SIM, "<mo>&#x0223C;</mo>")

    def restyle(m: re.Match) -> str:
        tag, _, variant, text = m.groups()
        if variant == "normal":
            return m.group(0)
        mapped = styled(text, variant)
        if mapped is None:
            log.warning("%s: mathvariant=%r (on %r) does not render in Chromium: %r", where, variant, text, tex)
            return m.group(0)
        return f"<{tag}>{mapped}</{tag}>"

    out = MATHVARIANT.sub(restyle, out)
    if "\\" in out:  # a command latex2mathml did not know, left in the output as text
        log.warning("%s: latex2mathml left a TeX command as text in %r: %s", where, tex,
                    re.findall(r"\\[A-Za-z]+", out))
        return None
    try:
        ET.fromstring(out)
    except ET.ParseError as err:
        log.warning("%s: the MathML of %r is not well-formed (%s)", where, tex, err)
        return None
    return out


def on_page_content(content: str, page, **_) -> str:
    where = page.file.src_uri

    def replace(display: str):
        def sub(m: re.Match) -> str:
            tex = html.unescape(m.group(1)).strip()
            out = to_mathml(tex, display, where)
            if out is None:
                return m.group(0)
            # a display formula sits in a block that scrolls sideways when it is wider than
            # the page (docs/assets/stylesheets/mathml.css)
            return f'<div class="math-display">{out}</div>' if display == "block" else out
        return sub

    content = BLOCK.sub(replace("block"), content)
    return INLINE.sub(replace("inline"), content)
