"""Versioned classifiers: saved under the data dir, recorded in the database, one active per kind.

A version is a directory ``<data_dir>/models/<kind>/<version>/`` written by
``TextClassifier.save`` (no pickle) and a ``classifier_versions`` row with what it was trained
on and how it scored. Intake reads the active row and loads the files once per process; a
version activated elsewhere (a ``jiesu nlp retrain`` beside a running server) is picked up
within the cache's time-to-live.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jiesu.city.models import Category
from jiesu.errors import BadInput, NotFound
from jiesu.kit.cache import PerDatabase
from jiesu.nlp.model import TextClassifier
from jiesu.nlp.tables import CLASSIFIER_KINDS, ClassifierVersion


@dataclass(frozen=True)
class Active:
    """The active classifier of a kind, with its version name for the record."""

    version: str
    model: TextClassifier
    # Model label → category code (models trained from files may use names or paths).
    codes: dict[str, str]


def models_dir(data_dir: Path, kind: str) -> Path:
    return data_dir / "models" / kind


def new_version(now: datetime, fingerprint: str) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{fingerprint[:8] or 'nodata'}"


def _check_kind(kind: str) -> None:
    if kind not in CLASSIFIER_KINDS:
        raise BadInput(
            "kind", f"unknown classifier kind {kind!r}; use {', '.join(CLASSIFIER_KINDS)}"
        )


def label_codes(session: Session, labels: list[str]) -> dict[str, str]:
    """Map a category model's labels onto the taxonomy: a label may be a category code, a
    unique category name, or a path of names ("城乡建设/住房/物业管理"). A model whose labels
    do not all map is refused: its suggestions would name categories the city does not have."""
    rows = session.execute(
        select(Category.code, Category.name, Category.level, Category.parent_id, Category.id).where(
            Category.active.is_(True)
        )
    ).all()
    by_code = {r.code: r.code for r in rows}
    names: dict[str, list[str]] = {}
    for r in rows:
        names.setdefault(r.name, []).append(r.code)
    by_id = {r.id: r for r in rows}

    def path_of(r: Any) -> str:
        parts = [r.name]
        while r.parent_id is not None and r.parent_id in by_id:
            r = by_id[r.parent_id]
            parts.append(r.name)
        return "/".join(reversed(parts))

    by_path = {path_of(r): r.code for r in rows}
    codes: dict[str, str] = {}
    unknown: list[str] = []
    for label in labels:
        if label in by_code:
            codes[label] = label
        elif label in by_path:
            codes[label] = by_path[label]
        elif len(names.get(label, [])) == 1:
            codes[label] = names[label][0]
        else:
            unknown.append(label)
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5])
        raise BadInput(
            "labels",
            f"{len(unknown)} of {len(labels)} labels of this model are not categories of the"
            f" loaded taxonomy (e.g. {shown}); train it on category codes, unique names or"
            " name paths, or load the matching city pack",
        )
    return codes


def register(
    session: Session,
    model: TextClassifier,
    *,
    kind: str,
    data_dir: Path,
    now: datetime,
    source: str,
    metrics: dict[str, Any] | None = None,
    actor: str = "",
    activate: bool = False,
) -> ClassifierVersion:
    """Save ``model`` as a new version and record it (activating it if asked)."""
    _check_kind(kind)
    if kind == "category":
        label_codes(session, model.labels)
    fingerprint = str(model.metadata.get("data_sha256", ""))
    version = new_version(now, fingerprint)
    taken = set(session.scalars(select(ClassifierVersion.version)))
    base, i = version, 1
    while version in taken:
        i += 1
        version = f"{base}-{i}"
    path = models_dir(data_dir, kind) / version
    model.save(path)
    row = ClassifierVersion(
        kind=kind,
        version=version,
        path=str(path.resolve()),
        source=source[:200],
        data_sha256=fingerprint,
        n=int(model.metadata.get("n", 0)),
        labels=list(model.labels),
        metrics=metrics or {},
        trained_at=now,
        active=False,
        created_by=actor[:100],
    )
    session.add(row)
    session.flush()
    if activate:
        activate_version(session, version, now=now)
    return row


def find_version(session: Session, version: str) -> ClassifierVersion:
    row = session.scalar(select(ClassifierVersion).where(ClassifierVersion.version == version))
    if row is None:
        known = session.scalars(
            select(ClassifierVersion.version).order_by(ClassifierVersion.id.desc()).limit(5)
        ).all()
        raise NotFound(
            f"no classifier version {version!r}; recent ones: {', '.join(known) or 'none'}"
        )
    return row


def activate_version(session: Session, version: str, *, now: datetime) -> ClassifierVersion:
    row = find_version(session, version)
    # Loading checks the files are there and readable before intake depends on them.
    model = TextClassifier.load(Path(row.path))
    if row.kind == "category":
        label_codes(session, model.labels)
    session.execute(
        update(ClassifierVersion)
        .where(ClassifierVersion.kind == row.kind, ClassifierVersion.id != row.id)
        .values(active=False)
    )
    row.active, row.activated_at = True, now
    session.flush()
    forget()
    return row


def deactivate(session: Session, kind: str) -> int:
    """Back to the cold-start keyword classifier (for category) or no router (for unit)."""
    _check_kind(kind)
    rows = list(
        session.scalars(
            select(ClassifierVersion).where(
                ClassifierVersion.kind == kind, ClassifierVersion.active.is_(True)
            )
        )
    )
    for row in rows:
        row.active = False
    session.flush()
    forget()
    return len(rows)


def versions(session: Session, kind: str | None = None) -> list[ClassifierVersion]:
    stmt = select(ClassifierVersion).order_by(ClassifierVersion.id.desc())
    if kind:
        stmt = stmt.where(ClassifierVersion.kind == kind)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- the active model, cached
_rows: PerDatabase[dict[str, tuple[str, str] | None]] = PerDatabase(ttl_seconds=30.0)
_loaded: dict[str, TextClassifier] = {}
_codes: dict[tuple[str, str], dict[str, str]] = {}
_lock = threading.Lock()
# One active model per kind, plus room for the one being replaced.
MAX_LOADED = 2 * len(CLASSIFIER_KINDS)


def forget() -> None:
    _rows.clear()
    _codes.clear()


def _active_rows(session: Session) -> dict[str, tuple[str, str] | None]:
    out: dict[str, tuple[str, str] | None] = dict.fromkeys(CLASSIFIER_KINDS)
    for kind, version, path in session.execute(
        select(ClassifierVersion.kind, ClassifierVersion.version, ClassifierVersion.path).where(
            ClassifierVersion.active.is_(True)
        )
    ):
        out[kind] = (version, path)
    return out


def active(session: Session, kind: str) -> Active | None:
    """The active classifier of ``kind``, or None when there is none (cold start)."""
    hit = _rows.get(session, _active_rows).get(kind)
    if hit is None:
        return None
    version, path = hit
    with _lock:
        model = _loaded.get(path)
        if model is None:
            # A model of tens of MB loads in about a second: once per process and version.
            model = TextClassifier.load(Path(path))
            if len(_loaded) >= MAX_LOADED:
                _loaded.pop(next(iter(_loaded)))
            _loaded[path] = model
    key = (str(session.get_bind().engine.url), version)
    codes = _codes.get(key)
    if codes is None:
        codes = label_codes(session, model.labels) if kind == "category" else {}
        _codes[key] = codes
    return Active(version=version, model=model, codes=codes)
