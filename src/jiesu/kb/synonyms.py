"""The city's synonym groups: kept in the database, edited on the knowledge desk or with
`jiesu kb synonyms`, written and read as a text file (one group a line) so that a city can
keep its list in its pack. Until a city saves its own, the list shipped with Jiesu applies."""

from __future__ import annotations

import re
from datetime import datetime
from importlib import resources

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jiesu.errors import BadInput
from jiesu.kb.models import KbSynonym

_SPLIT = re.compile(r"[,，、;；\s]+")
MAX_GROUPS = 5_000
MAX_TERM = 50


def parse(text: str, field: str = "synonyms") -> list[list[str]]:
    """Groups from the file format; a bad line is refused with its number."""
    groups: list[list[str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        terms = list(dict.fromkeys(t for t in _SPLIT.split(line) if t))
        if len(terms) < 2:
            raise BadInput(field, f"line {n}: a group needs at least two words")
        long = [t for t in terms if len(t) > MAX_TERM]
        if long:
            raise BadInput(field, f"line {n}: '{long[0][:20]}…' is longer than {MAX_TERM}")
        groups.append(terms)
    if len(groups) > MAX_GROUPS:
        raise BadInput(field, f"at most {MAX_GROUPS} groups")
    return groups


def render(groups: list[list[str]]) -> str:
    return "".join(", ".join(g) + "\n" for g in groups)


def builtin() -> list[list[str]]:
    return parse(resources.files("jiesu.kb").joinpath("synonyms.txt").read_text("utf-8"))


def current(session: Session) -> list[list[str]]:
    rows = session.scalars(select(KbSynonym).order_by(KbSynonym.id)).all()
    if not rows:
        return builtin()
    # A city that wants none saves one empty group row (terms []): skipped here.
    return [list(r.terms) for r in rows if r.terms]


def replace(session: Session, groups: list[list[str]], *, actor: str, now: datetime) -> int:
    session.execute(delete(KbSynonym))
    for terms in groups or [[]]:
        session.add(KbSynonym(terms=terms, updated_at=now, updated_by=actor))
    session.flush()
    return len(groups)


def stamp(session: Session) -> tuple[object, ...]:
    return tuple(session.execute(select(func.count(), func.max(KbSynonym.updated_at))).one())
