"""Rates per unit, area or category for a period, with the on-time statistics beside them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from jiesu.rates.groups import Grouper, grouper
from jiesu.rates.ontime import OnTimeTally, Timed, ontime_population
from jiesu.rates.population import Scored, scoring_population
from jiesu.rates.query import Query
from jiesu.rates.schemas import OnTimeFigures, PeriodOut, RateFigures, RateRow, RatesReport
from jiesu.rates.tally import Tally
from jiesu.workflow.models import ServiceRequest, request_assisting_units

BASIS = {
    "response": "requests whose response deadline falls in the period; in time = accepted "
    "(签收) at or before it; not accepted and not yet due = pending, left out",
    "resolution": "requests closed (or called back, not yet closed) in the period, lead unit; "
    "only the caller's answer at call-back counts",
    "satisfaction": "same requests as resolution",
    "ontime": "requests received in the period; on time unless done after the target date "
    "or still open past it (open imported requests judged at their export's snapshot)",
}


def tally_by(rows: Iterable[Scored], key: Grouper, query: Query) -> dict[int | None, Tally]:
    out: dict[int | None, Tally] = defaultdict(Tally)
    for s in rows:
        out[key.key(s)].add(s, query.defs)
    return out


def ontime_by(rows: Iterable[Timed], key: Grouper) -> dict[int | None, OnTimeTally]:
    out: dict[int | None, OnTimeTally] = defaultdict(OnTimeTally)
    for t in rows:
        out[key.key(t)].add(t)
    return out


def assisted_counts(session: Session, rows: list[Scored], query: Query) -> dict[int, int]:
    """Assessed requests each unit assisted on: shown beside its rates, never inside them —
    the caller is asked about the lead unit's answer, which is what the rates measure."""
    assessed = {s.id for s in rows if s.assessed and s.excluded is None}
    t, r, w = request_assisting_units, ServiceRequest, query.window
    # One query for the candidates (closed in the period, or awaiting close), then the exact
    # assessed set: cheaper than asking about a year's requests in batches.
    candidates = (
        select(t.c.request_id, t.c.unit_id)
        .join(r, r.id == t.c.request_id)
        .where(or_(and_(r.closed_at >= w.start, r.closed_at < w.end), r.status == "called_back"))
    )
    out: dict[int, int] = defaultdict(int)
    for request_id, unit_id in session.execute(candidates):
        if request_id in assessed:
            out[unit_id] += 1
    return out


def rate_row(
    key: Grouper, gid: int | None, t: Tally, ot: OnTimeTally | None, query: Query
) -> RateRow:
    g = key.describe(gid)
    return RateRow(
        code=g.code,
        name=g.name,
        kind=g.kind,
        parent=g.parent,
        counts=t.counts(),
        rates=RateFigures.of(t, t.score(query.defs)),
        ontime=OnTimeFigures.of(ot) if ot is not None else None,
    )


def rates_report(session: Session, query: Query, *, with_ontime: bool = True) -> RatesReport:
    key = grouper(session, query.by, query.level)
    scored = scoring_population(session, query.window, query.defs, query.scope, query.hooks)
    tallies = tally_by(scored, key, query)
    ontimes: dict[int | None, OnTimeTally] = {}
    snapshots = {}
    if with_ontime:
        timed = ontime_population(session, query.window, query.defs, query.scope)
        ontimes = ontime_by(timed.rows, key)
        snapshots = timed.snapshots
    assisted = assisted_counts(session, scored, query) if query.by in ("unit", "department") else {}
    total, total_ot = Tally(), OnTimeTally()
    rows: list[RateRow] = []
    for gid in sorted(set(tallies) | set(ontimes), key=lambda g: key.describe(g).code):
        t = tallies.get(gid) or Tally()
        ot = ontimes.get(gid) or (OnTimeTally() if with_ontime else None)
        total.merge(t)
        if ot is not None:
            total_ot.merge(ot)
        row = rate_row(key, gid, t, ot, query)
        if gid is not None and assisted:
            row.assisted = assisted.get(gid, 0)
        rows.append(row)
    totals = RateRow(
        code="*",
        name="all",
        kind="total",
        counts=total.counts(),
        rates=RateFigures.of(total, total.score(query.defs)),
        ontime=OnTimeFigures.of(total_ot) if with_ontime else None,
    )
    start, end = query.window.start, query.window.end
    return RatesReport(
        by=query.by,
        level=str(query.level) if query.level is not None else None,
        period=PeriodOut.of(query.period, start, end),
        as_of=query.window.as_of,
        filters=query.filters,
        definitions=query.defs.as_dict(),
        basis=BASIS if with_ontime else {k: v for k, v in BASIS.items() if k != "ontime"},
        import_snapshots=snapshots,
        total=totals,
        rows=rows,
    )
