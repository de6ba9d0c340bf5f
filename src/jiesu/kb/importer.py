"""`jiesu kb import`: articles from Markdown, HTML or plain-text files.

A file may start with a YAML front matter block (``---`` … ``---``) naming ``title``,
``owner_unit``, ``categories``, ``areas``, ``valid_from``, ``valid_until`` and ``status``;
without one, the title is the first heading (``#``, ``<h1>`` or ``<title>``) or the first
line, and the article is a draft. Each file is read, checked and written on its own (a
savepoint): a bad file is reported with its problem and the others still load. Importing a
file again updates its article (a new version when anything changed), found by its path.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.errors import JiesuError
from jiesu.kb.models import KbArticle
from jiesu.kb.service import ArticleFields, create_article, update_article
from jiesu.people.service import Actor

FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
}
MAX_BYTES = 1_000_000
META_KEYS = {
    "title", "owner_unit", "categories", "areas", "valid_from", "valid_until", "status",
}  # fmt: skip
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_MD_TITLE = re.compile(r"^#{1,2}[ \t]+(.+?)[ \t#]*$", re.M)
# An unclosed <h1> (broken markup) ends at the next tag.
_HTML_TITLE = re.compile(r"<(title|h1)\b[^>]*>([^<]*)", re.I)


class FileProblem(Exception):
    pass


@dataclass(frozen=True)
class FileResult:
    path: str
    outcome: str  # created | updated | unchanged | failed
    article_id: int | None = None
    version: int | None = None
    problem: str = ""


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for encoding in ("utf-8", "gb18030"):  # the files of Chinese offices are often GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem("not UTF-8 or GB18030 text")


def _date(meta: dict[str, Any], key: str) -> date | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FileProblem(f"{key}: '{value}' is not a date (YYYY-MM-DD)") from None


def _codes(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key)
    if value is None:
        return []
    if isinstance(value, str | int):
        return [s.strip() for s in re.split(r"[,，、\s]+", str(value)) if s.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise FileProblem(f"{key}: give a list of codes")


def _title(body: str, body_format: str, fallback: str) -> str:
    if body_format == "markdown":
        m = _MD_TITLE.search(body)
        if m:
            return m.group(1).strip()
    if body_format == "html":
        m = _HTML_TITLE.search(body)
        if m:
            text = html.unescape(m.group(2)).strip()
            if text:
                return text
    for line in body.splitlines():
        line = re.sub(r"<[^>]*>", "", line).strip(" #\t")
        if line:
            return line[:200]
    return fallback


def read_article_file(path: Path) -> ArticleFields:
    """One file → the fields of its article; ``FileProblem`` says what is wrong."""
    body_format = FORMATS.get(path.suffix.lower())
    if body_format is None:
        raise FileProblem(f"unknown kind of file '{path.suffix}'; use {', '.join(FORMATS)}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise FileProblem(f"{size} bytes; at most {MAX_BYTES}")
    text = _decode(path.read_bytes())
    if "\x00" in text:
        raise FileProblem("contains NUL bytes: not a text file")
    meta: dict[str, Any] = {}
    m = _FRONT.match(text)
    if m:
        try:
            # Every value as written: YAML would read the code 010102 as the octal 4162.
            loaded = yaml.load(m.group(1), Loader=yaml.BaseLoader)
        except yaml.YAMLError as exc:
            raise FileProblem(f"front matter is not valid YAML: {exc}".splitlines()[0]) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise FileProblem("front matter must be 'key: value' lines")
        meta = loaded or {}
        unknown = sorted(set(map(str, meta)) - META_KEYS)
        if unknown:
            raise FileProblem(f"unknown front matter key '{unknown[0]}'")
        text = text[m.end() :]
    if not text.strip():
        raise FileProblem("the file has no text")
    status = str(meta.get("status") or "draft")
    if status not in ("draft", "published"):
        raise FileProblem(f"status: '{status}' must be draft or published")
    title = str(meta.get("title") or _title(text, body_format, path.stem)).strip()[:200]
    owner = meta.get("owner_unit")
    return ArticleFields(
        title=title,
        body=text,
        body_format=body_format,
        owner_unit=str(owner).strip() if owner else None,
        categories=_codes(meta, "categories"),
        areas=_codes(meta, "areas"),
        valid_from=_date(meta, "valid_from"),
        valid_until=_date(meta, "valid_until"),
        status=status,
        note=f"imported from {path.name}",
    )


def import_file(
    session: Session,
    path: Path,
    *,
    actor: Actor,
    now: datetime,
    today: date,
    source: str | None = None,
    shown_as: str | None = None,
) -> FileResult:
    """One file; ``source`` identifies it across imports (default: its full path), and
    ``shown_as`` is the name reported (an uploaded file's own name, not the temporary one)."""
    source = (source or str(path.resolve()))[:500]
    name = shown_as or str(path)
    try:
        fields = read_article_file(path)
    except (FileProblem, OSError) as exc:
        return FileResult(name, "failed", problem=str(exc))
    existing = session.scalar(select(KbArticle).where(KbArticle.source == source))
    try:
        with session.begin_nested():
            if existing is None:
                a = create_article(session, fields, actor=actor, now=now, today=today,
                                   source=source)  # fmt: skip
                return FileResult(name, "created", a.id, a.version)
            before = existing.version
            a = update_article(session, existing, fields, actor=actor, now=now, today=today)
            outcome = "updated" if a.version != before else "unchanged"
            return FileResult(name, outcome, a.id, a.version)
    except JiesuError as exc:
        return FileResult(name, "failed", problem=exc.message)


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, and the article files inside any folder given (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in FORMATS))
        else:
            out.append(p)
    return out


def import_files(
    session: Session, paths: list[Path], *, actor: Actor, now: datetime, today: date
) -> list[FileResult]:
    return [import_file(session, p, actor=actor, now=now, today=today) for p in expand(paths)]
