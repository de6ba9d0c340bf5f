"""Queries over requests: the filtered, paged list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.workflow.models import ServiceRequest, request_assisting_units


@dataclass
class RequestFilter:
    status: list[str] | None = None
    category_path: str | None = None  # includes the subtree
    area_path: str | None = None  # includes the subtree
    unit_id: int | None = None  # lead or assisting
    channel: list[str] | None = None
    urgency: list[str] | None = None
    overdue: bool | None = None
    # Only one kind of lateness: "response" (not accepted in time) or "handling" (not done).
    late: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    q: str | None = None
    # False: the human-check queue (category suggested but not confirmed, or none applied).
    category_confirmed: bool | None = None
    min_heat: int | None = None


# Orders a list can take: newest first (default), most urgent first, most callers first.
SORTS = ("newest", "urgency", "heat")


def _where(stmt: Select, f: RequestFilter) -> Select:  # type: ignore[type-arg]
    R = ServiceRequest
    if f.status:
        stmt = stmt.where(R.status.in_(f.status))
    if f.channel:
        stmt = stmt.where(R.channel.in_(f.channel))
    if f.urgency:
        stmt = stmt.where(R.urgency.in_(f.urgency))
    if f.category_path:
        sub = select(Category.id).where(Category.path.startswith(f.category_path))
        stmt = stmt.where(R.category_id.in_(sub))
    if f.area_path:
        sub = select(Area.id).where(Area.path.startswith(f.area_path))
        stmt = stmt.where(R.area_id.in_(sub))
    if f.unit_id is not None:
        assisting = select(request_assisting_units.c.request_id).where(
            request_assisting_units.c.unit_id == f.unit_id
        )
        stmt = stmt.where(or_(R.lead_unit_id == f.unit_id, R.id.in_(assisting)))
    if f.overdue is not None:
        late = or_(R.response_overdue.is_(True), R.handling_overdue.is_(True))
        stmt = stmt.where(late if f.overdue else ~late)
    if f.late == "response":
        stmt = stmt.where(R.response_overdue.is_(True))
    elif f.late == "handling":
        stmt = stmt.where(R.handling_overdue.is_(True))
    if f.received_from is not None:
        stmt = stmt.where(R.received_at >= f.received_from)
    if f.received_to is not None:
        stmt = stmt.where(R.received_at < f.received_to)
    if f.category_confirmed is not None:
        stmt = stmt.where(R.category_confirmed.is_(f.category_confirmed))
    if f.min_heat is not None:
        stmt = stmt.where(R.heat >= f.min_heat)
    if f.q:
        # autoescape: a % or _ in the search is that character, not LIKE's wildcard.
        words = (R.title.contains(f.q, autoescape=True), R.text.contains(f.q, autoescape=True))
        stmt = stmt.where(or_(*words, R.ticket == f.q))
    return stmt


def list_requests(
    session: Session, f: RequestFilter, *, page: int, page_size: int, sort: str = "newest"
) -> tuple[list[ServiceRequest], int]:
    R = ServiceRequest
    newest = (R.received_at.desc(), R.id.desc())
    order = {
        "newest": newest,
        # Unscored requests (imported history) sort after scored ones.
        "urgency": (R.urgency_score.desc().nulls_last(), *newest),
        "heat": (R.heat.desc(), *newest),
    }[sort]
    total = session.scalar(_where(select(func.count(ServiceRequest.id)), f)) or 0
    stmt = (
        _where(select(ServiceRequest), f)
        .options(
            selectinload(ServiceRequest.area),
            selectinload(ServiceRequest.lead_unit),
            selectinload(ServiceRequest.category).selectinload(Category.parent),
        )
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(session.scalars(stmt)), total


def unit_by_code(session: Session, code: str) -> HandlingUnit | None:
    return session.scalar(select(HandlingUnit).where(HandlingUnit.code == code))
