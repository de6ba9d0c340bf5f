"""Dry run (试运行): replay a catalogue over history before it is put in force.

For every request received in the period the catalogue decides afresh (as at first dispatch:
no returns yet) and the result is compared with the unit that actually handled the request and
with what the active catalogue decides. Rules that never fire are listed: they are either dead
or shadowed by a more specific rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.city.service import CityContext
from jiesu.dispatch.catalogue import Catalogue
from jiesu.dispatch.directory import directory
from jiesu.dispatch.engine import Case, decide
from jiesu.workflow.models import ServiceRequest

BATCH = 2_000
TOP_MOVES = 20


def _cases(session: Session, since: datetime | None, ctx: CityContext) -> Any:
    lead = aliased(HandlingUnit)
    q = (
        select(
            ServiceRequest.title,
            ServiceRequest.text,
            Category.code,
            Area.code,
            ServiceRequest.urgency,
            ServiceRequest.channel,
            ServiceRequest.received_at,
            lead.code,
        )
        .outerjoin(Category, Category.id == ServiceRequest.category_id)
        .outerjoin(Area, Area.id == ServiceRequest.area_id)
        .outerjoin(lead, lead.id == ServiceRequest.lead_unit_id)
        .where(ServiceRequest.status.not_in(("merged", "invalid", "answered")))
        .order_by(ServiceRequest.id)
        .execution_options(yield_per=BATCH)
    )
    if since is not None:
        q = q.where(ServiceRequest.received_at >= since)
    for title, text, cat, area, urgency, channel, at, unit in session.execute(q):
        local = at.astimezone(ctx.tz) if at.tzinfo else at
        yield (
            Case(f"{title}\n{text}", cat, area, urgency, channel, local.hour * 60 + local.minute),
            unit,
        )


def replay(
    session: Session,
    catalogue: Catalogue,
    active: Catalogue,
    ctx: CityContext,
    *,
    since: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    d = directory(session)
    fired: Counter[str] = Counter()
    moves: Counter[tuple[str, str, str]] = Counter()
    counts: Counter[str] = Counter()
    for i, (case, actual) in enumerate(_cases(session, since, ctx), start=1):
        new = decide(catalogue, d, case)
        old = decide(active, d, case)
        counts["n"] += 1
        if new.unit is None:
            counts["undecided"] += 1
        else:
            counts["decided"] += 1
            counts["fallback"] += new.source == "fallback"
            if new.rule:
                fired[new.rule] += 1
        counts["changed_vs_active"] += new.unit != old.unit
        if actual is None:
            counts["never_dispatched"] += 1
        elif new.unit == actual:
            counts["same_as_actual"] += 1
        elif new.unit is not None:
            counts["elsewhere_than_actual"] += 1
            moves[(actual, new.unit, new.rule or "")] += 1
        if progress is not None and i % 500 == 0:
            progress(i)
    return {
        "since": since.isoformat() if since else None,
        "catalogue_rules": len(catalogue.rules),
        **{
            k: counts[k]
            for k in (
                "n",
                "decided",
                "undecided",
                "fallback",
                "same_as_actual",
                "elsewhere_than_actual",
                "never_dispatched",
                "changed_vs_active",
            )
        },
        "moves": [
            {
                "from": a,
                "from_name": d.unit_name(a),
                "to": b,
                "to_name": d.unit_name(b),
                "rule": r or None,
                "count": n,
            }
            for (a, b, r), n in moves.most_common(TOP_MOVES)
        ],
        "rules": [{"id": r.id, "name": r.name, "fired": fired[r.id]} for r in catalogue.rules],
        "never_fired": [r.id for r in catalogue.rules if not fired[r.id]],
    }
