"""Return and dispute rates per rule and per unit, counted over assignments.

A rule whose dispatches come back often is a wrong rule; a unit that returns much more than
its peers either is sent the wrong work or pushes work away — both are for a supervisor to see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.dispatch.models import Assignment


def _rows(session: Session, key: Any, since: datetime | None, until: datetime | None) -> Any:
    q = select(
        key,
        func.count(),
        func.sum(case((Assignment.outcome == "returned", 1), else_=0)),
        func.sum(case((Assignment.outcome == "disputed", 1), else_=0)),
        func.sum(case((Assignment.outcome == "transferred", 1), else_=0)),
    ).group_by(key)
    if since is not None:
        q = q.where(Assignment.started_at >= since)
    if until is not None:
        q = q.where(Assignment.started_at < until)
    return q


def _figures(
    n: int, returned: int | None, disputed: int | None, moved: int | None
) -> dict[str, Any]:
    r, dsp, t = int(returned or 0), int(disputed or 0), int(moved or 0)
    return {
        "dispatched": n,
        "returned": r,
        "disputed": dsp,
        "transferred": t,
        "return_rate": round(r / n, 4) if n else None,
        "dispute_rate": round(dsp / n, 4) if n else None,
    }


def dispatch_stats(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    by_rule = [
        {"rule": rule, **_figures(n, r, d, t)}
        for rule, n, r, d, t in session.execute(
            _rows(session, Assignment.rule, since, until).where(Assignment.rule.is_not(None))
        )
    ]
    by_source = [
        {"source": src, **_figures(n, r, d, t)}
        for src, n, r, d, t in session.execute(_rows(session, Assignment.source, since, until))
    ]
    units = dict(session.execute(select(HandlingUnit.id, HandlingUnit.code)).all())
    names = dict(session.execute(select(HandlingUnit.code, HandlingUnit.name)).all())
    by_unit = [
        {"unit": units.get(uid), "name": names.get(units.get(uid, ""), ""), **_figures(n, r, d, t)}
        for uid, n, r, d, t in session.execute(_rows(session, Assignment.unit_id, since, until))
    ]
    total = sum(x["dispatched"] for x in by_source)
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "dispatched": total,
        "by_source": sorted(by_source, key=lambda x: -x["dispatched"]),
        "by_rule": sorted(by_rule, key=lambda x: (-(x["return_rate"] or 0), x["rule"])),
        "by_unit": sorted(by_unit, key=lambda x: (-(x["return_rate"] or 0), x["unit"] or "")),
    }
