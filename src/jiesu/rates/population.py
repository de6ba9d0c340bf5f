"""The scoring population: which requests a period's rates are computed from, and how.

Each rate has the population whose outcome the period decides:

- **response (响应率)**: requests whose response deadline (``response_due``) falls in the
  period. Responded in time = accepted (签收) at or before that deadline; not accepted and the
  deadline passed (before ``as_of``) = late; not accepted and not yet due = pending, left out.
- **resolution (解决率) and satisfaction (满意率)**: requests *assessed* in the period — closed
  (办结) in it, or called back (回访) in it and not yet closed. Beijing ranks a month on the
  cases closed that month, and so do we: an open case has no verdict yet.

Requests merged into another count once, as the original (their callers are in its ``heat``);
invalid requests (spam, confirmed unreasonable) are not scored. The lead unit is accountable
for all three rates: it accepts, replies, and the call-back asks about its answer.

Two hooks let later records change the population without touching the arithmetic:
``ScoringHooks.excluded`` (不合理诉求 approved for exclusion: counted apart, never scored) and
``ScoringHooks.unreachable`` (call-backs that never reached the caller: counted apart, left
out of the resolution and satisfaction denominators). ``RECORDED`` reads both from the loop's
tables (``jiesu.loop``) and is what queries use; ``NO_HOOKS`` excludes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.loop.callbacks import unreachable_requests
from jiesu.loop.exclusions import excluded_requests
from jiesu.rates.definitions import Definitions
from jiesu.workflow.models import Event, ServiceRequest

# A proposal to mark a request invalid is not a verdict: until a supervisor confirms it the
# request still counts, or proposing would be a way out of a late response.
NOT_SCORED = ("merged", "invalid", "answered")
ResponseOutcome = Literal["in_time", "late", "pending"]
CHUNK = 500
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


class ScoringHooks(Protocol):
    """Records that take requests out of the scoring (see the module docstring)."""

    def excluded(self, session: Session, ids: Sequence[int]) -> Mapping[int, str]:
        """Request id → reason, for requests approved for exclusion from scoring."""
        ...

    def unreachable(self, session: Session, ids: Sequence[int]) -> set[int]:
        """Ids of requests whose call-back never reached the caller."""
        ...


class _NoHooks:
    def excluded(self, session: Session, ids: Sequence[int]) -> Mapping[int, str]:
        return {}

    def unreachable(self, session: Session, ids: Sequence[int]) -> set[int]:
        return set()


NO_HOOKS: ScoringHooks = _NoHooks()


class _Recorded:
    """Approved exclusions and unreachable call-backs, as the loop recorded them."""

    def excluded(self, session: Session, ids: Sequence[int]) -> Mapping[int, str]:
        return excluded_requests(session, ids)

    def unreachable(self, session: Session, ids: Sequence[int]) -> set[int]:
        return unreachable_requests(session, ids)


RECORDED: ScoringHooks = _Recorded()


@dataclass(frozen=True)
class Window:
    """The period as UTC instants [start, end) and the moment outcomes are judged at."""

    start: datetime
    end: datetime
    as_of: datetime

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


@dataclass(frozen=True)
class Scope:
    """Which requests to look at, before the period: a unit, a subtree, a kind of unit."""

    unit_id: int | None = None
    unit_kind: str | None = None
    area_path: str | None = None
    category_path: str | None = None

    def apply(self, stmt: S) -> S:
        r = ServiceRequest
        if self.unit_id is not None:
            stmt = stmt.where(r.lead_unit_id == self.unit_id)
        if self.unit_kind is not None:
            kind = select(HandlingUnit.id).where(HandlingUnit.kind == self.unit_kind)
            stmt = stmt.where(r.lead_unit_id.in_(kind))
        if self.area_path is not None:
            areas = select(Area.id).where(Area.path.startswith(self.area_path, autoescape=True))
            stmt = stmt.where(r.area_id.in_(areas))
        if self.category_path is not None:
            cats = select(Category.id).where(
                Category.path.startswith(self.category_path, autoescape=True)
            )
            stmt = stmt.where(r.category_id.in_(cats))
        return stmt


@dataclass(slots=True)  # not frozen: built by the hundred thousand, and frozen init is slow
class Scored:
    """One request as the rates see it in one period."""

    id: int
    unit_id: int | None
    area_id: int | None
    category_id: int | None
    response: ResponseOutcome | None  # None: no response deadline in the period
    assessed: bool  # closed, or called back, in the period
    solved: bool | None
    satisfaction: str | None
    reopen_count: int
    heat: int
    synthetic: bool
    excluded: str | None = None  # reason, when taken out of scoring
    unreachable: bool = False
    resolution: str | None = None  # the graded answer (solved | partly | unsolved), when given


def response_outcome(window: Window) -> ColumnElement[str | None]:
    """The response rate's verdict on a request, in SQL: "in_time", "late", "pending", or NULL
    when its response deadline is not in the period (requests never dispatched have none).
    Judged in the database so that a year of a large city is not shipped row by row."""
    r = ServiceRequest
    outside = or_(
        r.response_due.is_(None), r.response_due < window.start, r.response_due >= window.end
    )
    return case(
        (outside, null()),
        (r.accepted_at <= r.response_due, literal("in_time")),
        (r.accepted_at.is_not(None), literal("late")),
        (r.response_due < window.as_of, literal("late")),
        else_=literal("pending"),
    )


def _called_back_at(session: Session, ids: Sequence[int]) -> dict[int, datetime]:
    """When each of these (called back, not yet closed) requests was last called back."""
    out: dict[int, datetime] = {}
    for batch in chunks(ids):
        rows = session.execute(
            select(Event.request_id, func.max(Event.at))
            .where(Event.kind == "call_back", Event.request_id.in_(batch))
            .group_by(Event.request_id)
        )
        out.update({rid: at for rid, at in rows})
    return out


def scoring_population(
    session: Session,
    window: Window,
    defs: Definitions,
    scope: Scope = Scope(),
    hooks: ScoringHooks = NO_HOOKS,
) -> list[Scored]:
    """Every request that counts in at least one rate of the period, once."""
    r = ServiceRequest
    closed_in_period = and_(
        r.status == "closed", r.closed_at >= window.start, r.closed_at < window.end
    )
    response = response_outcome(window).label("response")
    stmt = select(
        r.id,
        r.lead_unit_id,
        r.area_id,
        r.category_id,
        response,
        case((closed_in_period, true()), else_=false()).label("closed_in_period"),
        r.status,
        r.solved,
        r.satisfaction,
        r.reopen_count,
        r.heat,
        r.synthetic,
        r.resolution,
    ).where(
        r.status.not_in(NOT_SCORED),
        r.duplicate_of_id.is_(None),
        or_(
            and_(r.response_due >= window.start, r.response_due < window.end),
            closed_in_period,
            r.status == "called_back",
        ),
    )
    if not defs.include_synthetic:
        stmt = stmt.where(r.synthetic.is_(False))
    # Rows unpacked as tuples: attribute access on 100k result rows is what costs here.
    rows = session.execute(scope.apply(stmt)).all()
    # Called back and not closed yet: assessed in the period of the call-back.
    waiting = [row[0] for row in rows if row[6] == "called_back"]
    called_back = _called_back_at(session, waiting) if waiting else {}
    out: list[Scored] = []
    for (
        rid,
        unit,
        area,
        category,
        response,
        closed_in_period,
        status,
        solved,
        satisfaction,
        reopen_count,
        heat,
        synthetic,
        resolution,
    ) in rows:
        if status == "called_back":
            assessed = window.holds(called_back.get(rid))
        else:
            assessed = bool(closed_in_period)
        if response is None and not assessed:
            continue  # called back in another period
        out.append(
            Scored(
                rid,
                unit,
                area,
                category,
                response,
                assessed,
                solved if assessed else None,
                satisfaction if assessed else None,
                reopen_count,
                heat,
                synthetic,
                resolution=resolution if assessed else None,
            )
        )
    return _with_hooks(session, out, hooks)


def _with_hooks(session: Session, rows: list[Scored], hooks: ScoringHooks) -> list[Scored]:
    if hooks is NO_HOOKS or not rows:
        return rows
    ids = [s.id for s in rows]
    excluded = hooks.excluded(session, ids)
    unreachable = hooks.unreachable(session, ids)
    if not excluded and not unreachable:
        return rows
    return [
        replace(s, excluded=excluded.get(s.id), unreachable=s.id in unreachable)
        if s.id in excluded or s.id in unreachable
        else s
        for s in rows
    ]


def chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    batch: list[int] = []
    for i in ids:
        batch.append(i)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
