"""Dispatch rules of the city: catalogue versions, the decision for a request, assignments.

Services take the session first and never commit; the request, command or job owns the
transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.city.service import CityContext
from jiesu.dispatch.catalogue import EMPTY, Catalogue, CatalogueError, read_catalogue
from jiesu.dispatch.directory import Directory, directory
from jiesu.dispatch.engine import Case, Decision, decide
from jiesu.dispatch.learning import router_for
from jiesu.dispatch.models import Assignment, DispatchCatalogue
from jiesu.dispatch.overlay import decide_with_overlay, event_catalogue
from jiesu.errors import Conflict, NotFound
from jiesu.kit.cache import PerDatabase
from jiesu.kit.timelimits import TimeLimit, due_at
from jiesu.logs import get_logger
from jiesu.surge.rules import active_overlay
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES

log = get_logger(__name__)
CATALOGUE_TTL_SECONDS = 30.0
# Sources that are not the engine's own decision: a person, or a sensor's fixed routing.
PEOPLE = ("manual", "sensor")
_active: PerDatabase[Catalogue] = PerDatabase(CATALOGUE_TTL_SECONDS)


# ---------------------------------------------------------------- catalogue versions
def _load_active(session: Session) -> Catalogue:
    row = session.scalar(select(DispatchCatalogue).where(DispatchCatalogue.active.is_(True)))
    if row is None:
        return EMPTY
    # Stored versions were checked when saved; units or areas deactivated since then are
    # reported by ``check`` but must not stop intake, so rules that no longer resolve are kept
    # and simply find no unit.
    try:
        return read_catalogue(
            {"settings": row.settings, "rules": row.rules}, directory(session), version=row.version
        )
    except CatalogueError as exc:
        log.warning("dispatch.catalogue.stale", version=row.version, problems=exc.problems[:5])
        return Catalogue(EMPTY.settings | row.settings, (), row.version)


def active_catalogue(session: Session) -> Catalogue:
    return _active.get(session, _load_active)


def forget_catalogue() -> None:
    _active.clear()


def save_catalogue(
    session: Session,
    raw: Any,
    *,
    by: str,
    source: str,
    now: datetime,
    note: str = "",
    activate: bool = True,
) -> DispatchCatalogue:
    """Check and store a new version; the same content as the active version is not stored
    twice (loading the same pack again changes nothing)."""
    catalogue = read_catalogue(raw, directory(session))
    digest = catalogue.digest()
    current = session.scalar(select(DispatchCatalogue).where(DispatchCatalogue.active.is_(True)))
    if current is not None and current.digest == digest:
        return current
    version = (session.scalar(select(func.max(DispatchCatalogue.version))) or 0) + 1
    data = catalogue.to_data()
    row = DispatchCatalogue(
        version=version,
        created_at=now,
        created_by=by,
        source=source,
        note=note,
        digest=digest,
        settings=data["settings"],
        rules=data["rules"],
        active=False,
    )
    session.add(row)
    session.flush()
    if activate:
        activate_version(session, version)
    return row


def activate_version(session: Session, version: int) -> DispatchCatalogue:
    row = session.scalar(select(DispatchCatalogue).where(DispatchCatalogue.version == version))
    if row is None:
        known = session.scalars(select(DispatchCatalogue.version)).all()
        raise NotFound(
            f"no dispatch catalogue version {version}; versions are {list(known) or 'none yet'}"
        )
    session.execute(update(DispatchCatalogue).values(active=False))
    row.active = True
    session.flush()
    forget_catalogue()
    return row


def versions(session: Session) -> list[DispatchCatalogue]:
    return list(session.scalars(select(DispatchCatalogue).order_by(DispatchCatalogue.version)))


def get_version(session: Session, version: int | None) -> DispatchCatalogue | None:
    if version is None:
        return session.scalar(select(DispatchCatalogue).where(DispatchCatalogue.active.is_(True)))
    return session.scalar(select(DispatchCatalogue).where(DispatchCatalogue.version == version))


# ---------------------------------------------------------------- decisions
def returned_by(session: Session, request: ServiceRequest) -> frozenset[str]:
    """Units that returned this request: new suggestions leave them out."""
    if request.id is None or not request.return_count:
        return frozenset()
    rows = session.scalars(
        select(Assignment.unit_id).where(
            Assignment.request_id == request.id, Assignment.outcome == "returned"
        )
    ).all()
    d = directory(session)
    return frozenset(d.unit_ids[u] for u in rows if u in d.unit_ids)


def case_of(session: Session, request: ServiceRequest, tz: ZoneInfo) -> Case:
    local = request.received_at
    if local is not None:
        local = local.astimezone(tz) if local.tzinfo else local.replace(tzinfo=UTC).astimezone(tz)
    return Case(
        text=f"{request.title}\n{request.text}",
        category=request.category.code if request.category else None,
        area=request.area.code if request.area else None,
        urgency=request.urgency,
        channel=request.channel,
        minute=local.hour * 60 + local.minute if local is not None else None,
        exclude=returned_by(session, request),
    )


def open_load(session: Session, d: Directory) -> Any:
    def load(units: tuple[str, ...]) -> dict[str, int]:
        ids = {d.units[u].id: u for u in units if u in d.units}
        rows = session.execute(
            select(ServiceRequest.lead_unit_id, func.count())
            .where(ServiceRequest.lead_unit_id.in_(ids), ServiceRequest.status.in_(OPEN_STATUSES))
            .group_by(ServiceRequest.lead_unit_id)
        ).all()
        return {ids[uid]: n for uid, n in rows if uid is not None}

    return load


def decide_for(
    session: Session,
    request: ServiceRequest,
    tz: ZoneInfo,
    *,
    catalogue: Catalogue | None = None,
    category: str | None = None,
    urgency: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """The decision for a request; ``category``/``urgency`` as a dispatcher is about to set them.
    A request of a lasting event gets the event's temporary rules first (dispatch/overlay.py)."""
    d = directory(session)
    cat = catalogue if catalogue is not None else active_catalogue(session)
    case = case_of(session, request, tz)
    if category is not None or urgency is not None:
        case = replace(case, category=category or case.category, urgency=urgency or case.urgency)
    router, load = router_for(session, d), open_load(session, d)
    overlay = active_overlay(session, request, now)
    if overlay is None:
        return decide(cat, d, case, router=router, load=load)
    try:
        temporary = event_catalogue(overlay.rules, d, event_id=overlay.event_id)
    except CatalogueError as exc:
        # Checked when declared; a unit or area retired since must not stop dispatch.
        log.warning("surge.rules.stale", event_id=overlay.event_id, problems=exc.problems[:5])
        temporary = EMPTY
    return decide_with_overlay(
        cat,
        temporary,
        d,
        case,
        event_name=overlay.name,
        limits=overlay.limits,
        router=router,
        load=load,
    )


def dispatch_record(
    decision: Decision, source: str, routed_by: str | None = None
) -> dict[str, Any]:
    """What a dispatch event keeps about how the unit was chosen."""
    out: dict[str, Any] = {"source": source}
    if routed_by:
        out["reasons"] = [routed_by]
    if source in ("manual", "sensor"):
        if decision.unit is not None:
            out["suggested_unit"] = decision.unit
        return out
    out.update(
        rule=decision.rule,
        rule_name=decision.rule_name,
        confidence=decision.confidence,
        reasons=decision.reasons,
        mode=decision.mode,
        catalogue_version=decision.catalogue_version,
    )
    if decision.disagreement:
        out["disagreement"] = decision.disagreement
    return out


def return_deadline(session: Session, request: ServiceRequest, ctx: CityContext) -> datetime | None:
    """Until when the lead unit may still return the request (None: not dispatched)."""
    if request.dispatched_at is None:
        return None
    window = TimeLimit.parse(str(active_catalogue(session).settings["return_window"]))
    return due_at(request.dispatched_at, window, ctx.calendar, ctx.tz)


def check_return_window(
    session: Session, request: ServiceRequest, ctx: CityContext, now: datetime
) -> None:
    """A unit may return a request only within the catalogue's window after the dispatch;
    later it must handle it, or contest the dispatch with a supervisor."""
    deadline = return_deadline(session, request, ctx)
    if deadline is not None and now > deadline:
        window = active_catalogue(session).settings["return_window"]
        raise Conflict(
            f"the return window ({window}) of request {request.ticket} ended at "
            f"{deadline.isoformat()}; handle it, or contest the dispatch with a supervisor"
        )


# ---------------------------------------------------------------- assignments
def current_assignment(session: Session, request: ServiceRequest) -> Assignment | None:
    if request.id is None:
        return None
    return session.scalar(
        select(Assignment)
        .where(Assignment.request_id == request.id, Assignment.ended_at.is_(None))
        .order_by(Assignment.id.desc())
        .limit(1)
    )


def assignment_history(session: Session, request: ServiceRequest) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment).where(Assignment.request_id == request.id).order_by(Assignment.id)
        )
    )


def end_assignment(session: Session, request: ServiceRequest, outcome: str, now: datetime) -> None:
    current = current_assignment(session, request)
    if current is not None:
        current.ended_at, current.outcome = now, outcome


def start_assignment(
    session: Session,
    request: ServiceRequest,
    *,
    unit_id: int,
    now: datetime,
    source: str,
    assisting: list[str] | None = None,
    decision: Decision | None = None,
    outcome_of_previous: str = "redispatched",
    reasons: list[str] | None = None,
) -> Assignment:
    end_assignment(session, request, outcome_of_previous, now)
    row = Assignment(
        request_id=request.id,
        unit_id=unit_id,
        assisting=assisting or [],
        started_at=now,
        source=source,
        rule=decision.rule if decision and source in ("rule", "fallback") else None,
        catalogue_version=decision.catalogue_version if decision else None,
        confidence=decision.confidence if decision and source not in PEOPLE else None,
        reasons=reasons or (decision.reasons if decision and source not in PEOPLE else []),
        mode=decision.mode if decision and source not in PEOPLE else "direct",
        suggested_unit=decision.unit if decision and source in PEOPLE else None,
    )
    session.add(row)
    return row


def hand_over(
    session: Session, request: ServiceRequest, unit: HandlingUnit, *, now: datetime, outcome: str
) -> None:
    """A person moves the request to another lead unit (transfer, re-dispatch, an upheld
    dispute): the new unit must accept afresh, the assisting units stay, the old spell ends
    with ``outcome`` and a new one starts."""
    request.lead_unit, request.accepted_at = unit, None
    start_assignment(
        session,
        request,
        unit_id=unit.id,
        now=now,
        source="manual",
        assisting=[u.code for u in request.assisting_units],
        outcome_of_previous=outcome,
    )


def mark_accepted(session: Session, request: ServiceRequest, now: datetime) -> None:
    current = current_assignment(session, request)
    if current is not None and current.accepted_at is None:
        current.accepted_at = now


WAITING = ("received", "returned")


def dispatch_queue(
    session: Session, tz: ZoneInfo, *, limit: int = 50, offset: int = 0
) -> list[tuple[ServiceRequest, Decision]]:
    """Requests waiting for a dispatcher, the most urgent and then the oldest first, each with
    what the catalogue (or router) decides now and its suggestions."""
    rows = session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.status.in_(WAITING))
        .order_by(
            ServiceRequest.urgency_score.desc().nulls_last(),
            ServiceRequest.received_at,
            ServiceRequest.id,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return [(r, decide_for(session, r, tz)) for r in rows]
