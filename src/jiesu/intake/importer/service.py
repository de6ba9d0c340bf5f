"""`import_file`: load a history file through submit_request, row by row, resumably.

Each row's source id becomes the request's idempotency key (``import:<mapping>:<id>``), and rows
are committed in batches, so re-running a file adds nothing and a run killed midway resumes
where it stopped without duplicates or loss. Bad rows go to a rejects CSV (line, column, reason,
the row itself) while good rows load.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiesu.city.service import city_context
from jiesu.errors import JiesuError
from jiesu.intake.importer.mapping import Mapping
from jiesu.intake.importer.readers import read_rows
from jiesu.intake.importer.resolve import Resolver
from jiesu.intake.importer.rows import RowError, RowReader, SourceRow
from jiesu.intake.models import ImportRun
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.kit.clock import Clock
from jiesu.logs import get_logger
from jiesu.people.service import Actor
from jiesu.workflow.history import HistoricalFacts, record_history
from jiesu.workflow.models import ServiceRequest

log = get_logger(__name__)


@dataclass
class ImportReport:
    run_id: int | None
    read: int = 0
    loaded: int = 0
    present: int = 0
    rejected: int = 0
    rejects_path: str = ""
    seconds: float = 0.0
    dry_run: bool = False
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "read": self.read, "loaded": self.loaded,
            "present": self.present, "rejected": self.rejected,
            "rejects_path": self.rejects_path, "seconds": round(self.seconds, 2),
            "rows_per_s": round(self.rows_per_s, 1), "dry_run": self.dry_run, **self.summary,
        }  # fmt: skip


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Rejects:
    """The rejects file: opened on the first reject, one CSV row per bad source row."""

    def __init__(self, path: Path):
        self.path = path
        self._fh: TextIO | None = None
        self._writer: Any = None
        self.count = 0

    def add(self, line: int, column: str, reason: str, row: dict[str, Any]) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.path.open("w", encoding="utf-8", newline="")
            self._fh, self._writer = fh, csv.writer(fh)
            self._writer.writerow(["line", "column", "reason", "row"])
        self._writer.writerow(
            [line, column, reason, json.dumps(row, ensure_ascii=False, default=str)]
        )
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def _existing_keys(session: Session, prefix: str) -> set[str]:
    rows = session.scalars(
        select(ServiceRequest.source_key).where(ServiceRequest.source_key.startswith(prefix))
    )
    return {k for k in rows if k}


def _load_row(
    session: Session, src: SourceRow, key: str, resolver: Resolver, actor: Actor, now: datetime
) -> None:
    category = resolver.category(src.category, src.category_group) if src.category else None
    area = resolver.area(src.area) if src.area else None
    data = RequestIn(
        channel=src.channel,
        text=src.text,
        title=src.title,
        address=src.address,
        lat=src.lat,
        lon=src.lon,
        category=category.code if category else None,
        area=area.code if area else None,
        received_at=src.received_at,
        source_key=key,
    )
    req, _ = submit_request(session, data, actor=actor, now=now, ctx=resolver.ctx, live=False)
    facts = HistoricalFacts(
        status=src.status,
        unit=resolver.unit(src.unit) if src.unit else None,
        dispatched_at=src.dispatched_at,
        handling_due=src.handling_due,
        replied_at=src.replied_at,
        reply=src.reply,
        closed_at=src.closed_at,
        close_note=src.close_note,
        extra={"source_id": src.id, **src.kept} if src.kept else None,
    )
    record_history(session, req, facts, actor=actor, now=now)


def import_file(
    sessions: sessionmaker[Session],
    path: Path,
    mapping: Mapping,
    *,
    clock: Clock,
    rejects_path: Path,
    encoding: str | None = None,
    dry_run: bool = False,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    started = time.perf_counter()
    prefix = f"import:{mapping.name}:"
    rejects = Rejects(rejects_path)
    report = ImportReport(run_id=None, dry_run=dry_run, rejects_path=str(rejects_path))
    session = sessions()
    try:
        now = clock.now()
        ctx = city_context(session)
        run = ImportRun(
            source=str(path.resolve()),
            digest=file_digest(path),
            mapping=mapping.name,
            started_at=now,
            rejects_path=str(rejects_path),
            summary={},
        )
        if not dry_run:
            session.add(run)
            session.commit()  # a killed run is still visible in import_runs
            report.run_id = run.id
        existing = _existing_keys(session, prefix)
        resolver = Resolver(session, mapping, ctx, now)
        reader = RowReader(mapping)
        actor = Actor(None, f"import:{mapping.name}", "operator")
        pending = 0
        for line, row in read_rows(path, encoding=encoding):
            report.read += 1
            try:
                src = reader.read(row)
                key = prefix + src.id
                if key in existing:
                    report.present += 1
                    continue
                # Every check that can refuse a row runs before its first write (RowReader,
                # then the look-ups in submit_request), so a refused row leaves nothing behind.
                _load_row(session, src, key, resolver, actor, clock.now())
                existing.add(key)
                report.loaded += 1
                pending += 1
            except RowError as exc:
                rejects.add(line, exc.column, exc.reason, row)
            except (JiesuError, LookupError) as exc:
                message = exc.message if isinstance(exc, JiesuError) else str(exc)
                fields = getattr(exc, "fields", None) or [{"field": "row"}]
                rejects.add(line, fields[0]["field"], message, row)
            if pending >= batch:
                _end_batch(session, resolver, dry_run)
                pending = 0
            if progress and report.read % 100 == 0:
                progress(report.read)
        _end_batch(session, resolver, dry_run)
        report.rejected = rejects.count
        report.summary = resolver.summary()
        report.seconds = time.perf_counter() - started
        if not dry_run:
            run = session.merge(run)
            run.finished_at = clock.now()
            run.rows_read, run.rows_loaded = report.read, report.loaded
            run.rows_present, run.rows_rejected = report.present, report.rejected
            run.summary = report.summary
            session.commit()
        if progress:
            progress(report.read)
        log.info(
            "import.finished",
            mapping=mapping.name,
            **{k: v for k, v in report.as_dict().items() if not isinstance(v, (dict, list))},
        )
        return report
    finally:
        if dry_run:
            session.rollback()
        rejects.close()
        session.close()


def _end_batch(session: Session, resolver: Resolver, dry_run: bool) -> None:
    if dry_run:
        session.flush()
    else:
        session.commit()
    # Imports run to hundreds of thousands of rows: keep the identity map small.
    session.expunge_all()
    resolver.reattach()
