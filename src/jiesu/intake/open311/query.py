"""GET requests: the spec's filters over our requests, and the public record of each.

A record never carries contact data (it lives in another table and is not read here), and the
citizen's text has its personal data masked (``privacy.pii``) before it leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jiesu.city.models import Category
from jiesu.intake.open311.catalog import CHANNEL_DATA, service_notice
from jiesu.intake.open311.errors import Open311Error
from jiesu.intake.open311.formats import Value, w3c
from jiesu.intake.open311.history import latest_steps
from jiesu.intake.open311.params import (
    MAX_IDS,
    MAX_PAGE_SIZE,
    Paging,
    Window,
    csv,
    paging,
    window,
)
from jiesu.intake.open311.public import CLOSED_STATUSES, spec_status, statuses_for
from jiesu.privacy.pii import mask_text
from jiesu.workflow.models import ServiceRequest

SPEC_STATUSES = ("open", "closed")


@dataclass(frozen=True)
class RequestQuery:
    ids: list[str] | None = None
    service_codes: list[str] | None = None
    window: Window | None = None
    statuses: list[str] | None = None
    paging: Paging = field(default_factory=lambda: Paging(1, MAX_PAGE_SIZE))


def parse_query(args: Mapping[str, str | None], *, now: datetime) -> RequestQuery:
    """The arguments of GET requests; ``service_request_id`` overrides all the others, so
    they are not even read when it is given."""
    ids = csv(args.get("service_request_id"))
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise Open311Error.bad(f"service_request_id: at most {MAX_IDS} ids at once")
        return RequestQuery(ids=ids)
    statuses = csv(args.get("status"))
    if statuses is not None:
        bad = [s for s in statuses if s not in SPEC_STATUSES]
        if bad:
            raise Open311Error.bad(f"status: {bad[0]!r} is not open or closed")
    return RequestQuery(
        service_codes=csv(args.get("service_code")),
        window=window(args.get("start_date"), args.get("end_date"), now=now),
        statuses=statuses,
        paging=paging(args.get("page"), args.get("page_size")),
    )


# Each record names its category and lead unit: load them with the page, not one by one.
_RELATIONS = (selectinload(ServiceRequest.category), selectinload(ServiceRequest.lead_unit))


def find_requests(session: Session, q: RequestQuery) -> list[ServiceRequest]:
    R = ServiceRequest
    if q.ids is not None:
        rows = session.scalars(select(R).where(R.ticket.in_(q.ids)).options(*_RELATIONS)).all()
        by_ticket = {r.ticket: r for r in rows}
        return [by_ticket[t] for t in q.ids if t in by_ticket]  # in the order asked
    stmt = select(R)
    if q.window is not None:
        stmt = stmt.where(R.received_at >= q.window.start, R.received_at <= q.window.end)
    if q.service_codes:
        stmt = stmt.where(
            R.category_id.in_(select(Category.id).where(Category.code.in_(q.service_codes)))
        )
    if q.statuses:
        wanted = set().union(*(statuses_for(s) for s in q.statuses))
        stmt = stmt.where(R.status.in_(sorted(wanted)))
    stmt = (
        stmt.options(*_RELATIONS)
        .order_by(R.received_at.desc(), R.id.desc())
        .offset((q.paging.page - 1) * q.paging.page_size)
        .limit(q.paging.page_size)
    )
    return list(session.scalars(stmt))


def get_request(session: Session, ticket: str) -> ServiceRequest:
    req = session.scalar(
        select(ServiceRequest).where(ServiceRequest.ticket == ticket).options(*_RELATIONS)
    )
    if req is None:
        raise Open311Error.not_found(f"service_request_id {ticket!r} not found")
    return req


def records(
    session: Session, rows: Sequence[ServiceRequest], tz: ZoneInfo
) -> list[Mapping[str, Value]]:
    """The spec's service_request fields, in the spec's order."""
    notes = latest_steps(session, [r.id for r in rows])
    out: list[Mapping[str, Value]] = []
    for r in rows:
        cat, unit = r.category, r.lead_unit
        closed = r.status in CLOSED_STATUSES
        channel = (r.attributes or {}).get(CHANNEL_DATA) or {}
        step = notes.get(r.id)
        out.append(
            {
                "service_request_id": r.ticket,
                "status": spec_status(r.status),
                "status_notes": step.description if step else None,
                "service_name": cat.name if cat else None,
                "service_code": cat.code if cat else None,
                "description": mask_text(r.text),
                "agency_responsible": unit.name if unit else None,
                "service_notice": service_notice(cat) if cat else None,
                "requested_datetime": w3c(r.received_at, tz),
                "updated_datetime": w3c((r.closed_at if closed else None) or r.updated_at, tz),
                "expected_datetime": w3c(r.handling_due, tz),
                "address": mask_text(r.address) or None,
                "address_id": channel.get("address_id"),
                "zipcode": None,
                "lat": r.lat,
                "long": r.lon,
                "media_url": r.media_url or None,
            }
        )
    return out
