"""On-time statistics the way a city's own system computes them.

The rule is Boston 311's ``OnTime_Status``, checked against all 121,145 cases of 2015 (see
docs/rates.md): every request received in the period gets one status —

- no target date (no handling deadline)                → on time (nothing to be late for);
- done (replied, else closed) at or before the target  → on time; after it → overdue;
- still open: overdue once the target has passed at the moment of judging, else on time.

    on-time share        = on-time requests / all requests received in the period
    closed on-time share = done on time / done with a target (the strict reading, also shown)

The moment of judging (``as_of``) is now for requests living in Jiesu. An imported request
that is still open was last seen in its source system's export: judging it against today
would call every open case of an old export overdue. Such a request is judged as of its
export's *snapshot* — the latest historical time found in the rows of the same import
mapping (received, dispatched, replied or closed).

The period counts requests by when they were received, as the exports do. Merged duplicates
and invalid requests are left out (their clock stopped without the work being done);
requests never dispatched have no unit and no target and are left out too.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.orm import Session

from jiesu.intake.models import ImportRun
from jiesu.rates.definitions import Definitions
from jiesu.rates.population import NOT_SCORED, Scope, Window
from jiesu.workflow.models import ServiceRequest

OnTimeStatus = Literal["no_target", "done_on_time", "done_late", "open_overdue", "open_not_due"]
IMPORT_PREFIX = "import:"


def ontime_status(due: datetime | None, done_at: datetime | None, as_of: datetime) -> OnTimeStatus:
    """One request's status; "no_target", "done_on_time" and "open_not_due" are on time."""
    if due is None:
        return "no_target"
    if done_at is not None:
        return "done_on_time" if done_at <= due else "done_late"
    return "open_overdue" if due < as_of else "open_not_due"


@dataclass(slots=True)  # not frozen: built by the hundred thousand, and frozen init is slow
class Timed:
    id: int
    unit_id: int | None
    area_id: int | None
    category_id: int | None
    status: OnTimeStatus


@dataclass
class OnTimeTally:
    n: int = 0
    no_target: int = 0
    done_on_time: int = 0
    done_late: int = 0
    open_overdue: int = 0
    open_not_due: int = 0

    def add(self, t: Timed) -> None:
        self.n += 1
        setattr(self, t.status, getattr(self, t.status) + 1)

    def merge(self, other: OnTimeTally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def on_time(self) -> int:
        return self.n - self.done_late - self.open_overdue

    @property
    def share(self) -> float | None:
        return self.on_time / self.n if self.n else None

    @property
    def closed_share(self) -> float | None:
        done = self.done_on_time + self.done_late
        return self.done_on_time / done if done else None

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"on_time": self.on_time}


def import_snapshots(session: Session) -> dict[str, datetime]:
    """Per import mapping, the latest historical time in its rows: when its export was taken,
    as near as the data can tell."""
    r = ServiceRequest
    out: dict[str, datetime] = {}
    names = session.scalars(select(ImportRun.mapping).distinct()).all()
    for name in names:
        times = session.execute(
            select(
                func.max(r.received_at),
                func.max(r.dispatched_at),
                func.max(r.replied_at),
                func.max(r.closed_at),
            ).where(r.source_key.startswith(f"{IMPORT_PREFIX}{name}:", autoescape=True))
        ).one()
        seen = [t for t in times if t is not None]
        if seen:
            out[name] = max(seen)
    return out


def _mapping_of(source_key: str | None) -> str | None:
    if not source_key or not source_key.startswith(IMPORT_PREFIX):
        return None
    return source_key[len(IMPORT_PREFIX) :].split(":", 1)[0]


@dataclass
class OnTimePopulation:
    rows: list[Timed]
    snapshots: dict[str, datetime]  # the as-of used for open imported requests, per mapping


def status_sql(as_of: datetime) -> ColumnElement[str]:
    """``ontime_status`` in SQL, so a year of requests is judged in the database."""
    r = ServiceRequest
    done_at = func.coalesce(r.replied_at, r.closed_at)
    return case(
        (r.handling_due.is_(None), literal("no_target")),
        (done_at <= r.handling_due, literal("done_on_time")),
        (done_at.is_not(None), literal("done_late")),
        (r.handling_due < as_of, literal("open_overdue")),
        else_=literal("open_not_due"),
    )


def ontime_population(
    session: Session, window: Window, defs: Definitions, scope: Scope = Scope()
) -> OnTimePopulation:
    r = ServiceRequest
    where = [
        r.received_at >= window.start,
        r.received_at < window.end,
        r.status.not_in(NOT_SCORED),
        r.duplicate_of_id.is_(None),
        or_(r.lead_unit_id.is_not(None), r.handling_due.is_not(None)),
    ]
    if not defs.include_synthetic:
        where.append(r.synthetic.is_(False))
    status = status_sql(window.as_of).label("status")
    stmt = select(r.id, r.lead_unit_id, r.area_id, r.category_id, status).where(*where)
    rows = session.execute(scope.apply(stmt)).all()
    # Open imported requests past their target now: judge them again at their export's
    # snapshot, which may be before the target.
    again = select(r.id, r.handling_due, r.source_key).where(
        *where,
        r.replied_at.is_(None),
        r.closed_at.is_(None),
        r.handling_due < window.as_of,
        r.source_key.startswith(IMPORT_PREFIX, autoescape=True),
    )
    retry = session.execute(scope.apply(again)).all()
    used: dict[str, datetime] = {}
    rejudged: dict[int, OnTimeStatus] = {}
    if retry:
        snapshots = import_snapshots(session)
        for rid, due, key in retry:
            mapping = _mapping_of(key)
            if mapping in snapshots:
                snap = min(window.as_of, snapshots[mapping])
                used[mapping] = snapshots[mapping]
                rejudged[rid] = ontime_status(due, None, snap)
    # Rows unpacked as tuples: attribute access on 100k result rows is what costs here.
    out = [
        Timed(rid, unit, area, category, rejudged.get(rid) or cast(OnTimeStatus, status))
        for rid, unit, area, category, status in rows
    ]
    return OnTimePopulation(out, used)
