"""Early warning (未诉先办): find break-outs and recurring problems in the warehouse, keep them
as warnings, and let a supervisor turn one into a proactive work order in the normal loop.

Series are category (leaf) × street, plus each category city-wide (a cold wave raises heating
complaints everywhere at once). Only series whose judged day or week reaches the alert floor
are forecast at all — a series under the floor cannot fire — which keeps a scan over a
megacity's hundreds of thousands of series to the few hundred that matter.

Recurring problems: the same category at the same community (or street) reported in each of
the last three months, or reopened again and again (重办) in the last 90 days — the signs of a
problem that handling case by case does not solve.

The last complete local day is the last judged day: today's counts are still growing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import duckdb
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.forecast import DayTypes
from jiesu.analytics.models import EarlyWarning
from jiesu.analytics.surge import DEFAULT_MIN_COUNT, detect_surge
from jiesu.city.models import Area, Category
from jiesu.city.service import city_context
from jiesu.errors import BadInput, Conflict, Forbidden, NotFound
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.kit.calendar import WorkCalendar
from jiesu.notify.triggers import on_warning
from jiesu.people.service import Actor
from jiesu.workflow.access import area_ids_within
from jiesu.workflow.models import ServiceRequest

HISTORY_DAYS = 364  # 52 weeks: enough for weekday factors and the recent level
RECURRING_MONTHS = 3
RECURRING_PER_MONTH = 2
REOPEN_DAYS = 90
REOPENED_MIN = 3
CITY = None  # area of a city-wide series
DECIDERS = ("supervisor", "admin")


@dataclass
class Found:
    kind: str
    category_id: int
    area_id: int | None
    first_day: date
    last_day: date
    observed: int
    expected: float | None
    upper: float | None
    score: float
    reason_zh: str
    reason_en: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScanResult:
    judged_day: date
    series_forecast: int
    found: list[Found]
    created: int = 0
    updated: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "judged_day": self.judged_day.isoformat(),
            "series_forecast": self.series_forecast,
            "found": len(self.found),
            "created": self.created,
            "updated": self.updated,
        }


def like_weekday(calendar: WorkCalendar, first: date, last: date) -> dict[date, int]:
    """Holidays behave like Sundays and make-up working days like Mondays, for the forecaster
    (the Spring Festival week would otherwise look like a collapse, and the day after it like
    a surge)."""
    out: dict[date, int] = {}
    d = first
    while d <= last:
        try:
            work = calendar.is_workday(d)
        except ValueError:  # outside the calendar's known years: leave the day as it is
            work = d.weekday() < 5
        if not work and d.weekday() < 5:
            out[d] = 6
        elif work and d.weekday() >= 5:
            out[d] = 0
        d += timedelta(days=1)
    return out


def _series(
    con: duckdb.DuckDBPyConnection, start: date, judged: date, keys: list[tuple[int, int | None]]
) -> dict[tuple[int, int | None], np.ndarray]:
    """Dense daily counts from ``start`` to ``judged`` for the given (category, street) keys;
    a street of None is the category city-wide."""
    n_days = (judged - start).days + 1
    out = {k: np.zeros(n_days) for k in keys}
    if not keys:
        return out
    cats = sorted({c for c, _ in keys})
    rows = con.execute(
        "SELECT category_id, street_id, grouping(street_id), day, count(*) FROM requests "
        "WHERE day BETWEEN ? AND ? AND list_contains(?, category_id) "
        "GROUP BY GROUPING SETS ((category_id, street_id, day), (category_id, day))",
        [start, judged, cats],
    ).fetchall()
    for cat, street, city_wide, day, n in rows:
        if street is None and not city_wide:
            continue  # requests with no street: in the city-wide series only
        key = (cat, street)
        if key in out:
            out[key][(day - start).days] = n
    return out


def _candidates(
    con: duckdb.DuckDBPyConnection, judged: date, days: int, floor: int
) -> list[tuple[int, int | None]]:
    """Keys whose judged span reaches the floor: only these can fire."""
    rows = con.execute(
        "SELECT category_id, street_id, grouping(street_id) FROM requests "
        "WHERE day BETWEEN ? AND ? AND category_id IS NOT NULL "
        "GROUP BY GROUPING SETS ((category_id, street_id), (category_id)) HAVING count(*) >= ?",
        [judged - timedelta(days=days - 1), judged, floor],
    ).fetchall()
    # (category, NULL) is the city-wide series only when it comes from the second set.
    return [(c, s) for c, s, city_wide in rows if s is not None or city_wide]


def find_surges(
    con: duckdb.DuckDBPyConnection,
    judged: date,
    *,
    days_like: DayTypes | None = None,
    floor: int = DEFAULT_MIN_COUNT,
) -> tuple[list[Found], int]:
    start = judged - timedelta(days=HISTORY_DAYS - 1)
    found: list[Found] = []
    forecast = 0
    periods: tuple[tuple[Literal["day", "week"], int], ...] = (("day", 1), ("week", 7))
    for period, span in periods:
        keys = _candidates(con, judged, span, floor)
        series = _series(con, start, judged, keys)
        for (cat, street), counts in series.items():
            forecast += 1
            alert = detect_surge(
                f"{cat}:{street}", start, counts, period, min_count=floor, like_weekday=days_like
            )
            if alert is None:
                continue
            tail = [int(x) for x in counts[-28:]]
            found.append(
                Found(
                    kind=f"surge_{period}",
                    category_id=cat,
                    area_id=street,
                    first_day=alert.first_day,
                    last_day=alert.last_day,
                    observed=alert.observed,
                    expected=round(alert.expected, 2),
                    upper=float(alert.upper),
                    score=round((alert.observed - alert.upper) / max(alert.upper, 1) ** 0.5, 3),
                    reason_zh=alert.reason_zh,
                    reason_en=alert.reason_en,
                    details={"last_28_days": tail, "ratio": round(alert.ratio, 2)},
                )
            )
    return found, forecast


def find_recurring(con: duckdb.DuckDBPyConnection, judged: date) -> list[Found]:
    found: list[Found] = []
    month_starts = []
    m = judged.replace(day=1)
    for _ in range(RECURRING_MONTHS):
        m = (m - timedelta(days=1)).replace(day=1)
        month_starts.append(m)
    first = month_starts[-1]
    last = judged.replace(day=1) - timedelta(days=1)
    # Each of the last three complete months, at least twice, at the same community (or the
    # street where no community is known).
    rows = con.execute(
        f"""WITH per AS (
              SELECT category_id c, coalesce(community_id, street_id) a,
                     date_trunc('month', day) m, count(*) n
              FROM requests WHERE day BETWEEN ? AND ? AND category_id IS NOT NULL
                AND coalesce(community_id, street_id) IS NOT NULL
              GROUP BY ALL)
            SELECT c, a, count(*) AS n_months, sum(n) AS total, list(n ORDER BY m)
            FROM per WHERE n >= {RECURRING_PER_MONTH} GROUP BY ALL
            HAVING count(*) = {RECURRING_MONTHS} ORDER BY total DESC LIMIT 200""",
        [first, last],
    ).fetchall()
    for cat, area, _months, total, per_month in rows:
        found.append(
            Found(
                kind="recurring_reported",
                category_id=cat,
                area_id=area,
                first_day=first,
                last_day=last,
                observed=int(total),
                expected=None,
                upper=None,
                score=float(total),
                reason_zh=(
                    f"连续{RECURRING_MONTHS}个月每月都有同类诉求"
                    f"（{'、'.join(map(str, per_month))} 件）"
                ),
                reason_en=(
                    f"reported in each of the last {RECURRING_MONTHS} months "
                    f"({', '.join(map(str, per_month))})"
                ),
                details={"per_month": [int(x) for x in per_month]},
            )
        )
    since = judged - timedelta(days=REOPEN_DAYS - 1)
    rows = con.execute(
        """SELECT category_id, coalesce(community_id, street_id) a, count(*) reqs,
                  sum(reopen_count) reopens, list(ticket ORDER BY reopen_count DESC)[1:10]
           FROM requests WHERE day BETWEEN ? AND ? AND reopen_count > 0
             AND category_id IS NOT NULL AND coalesce(community_id, street_id) IS NOT NULL
           GROUP BY ALL HAVING sum(reopen_count) >= ? ORDER BY reopens DESC LIMIT 200""",
        [since, judged, REOPENED_MIN],
    ).fetchall()
    for cat, area, reqs, reopens, tickets in rows:
        found.append(
            Found(
                kind="recurring_reopened",
                category_id=cat,
                area_id=area,
                first_day=since,
                last_day=judged,
                observed=int(reopens),
                expected=None,
                upper=None,
                score=float(reopens),
                reason_zh=f"近{REOPEN_DAYS}天 {reqs} 件同类诉求被重办 {reopens} 次",
                reason_en=f"{reqs} requests reopened {reopens} times in {REOPEN_DAYS} days",
                details={"tickets": list(tickets)},
            )
        )
    return found


def scan(
    session: Session, con: duckdb.DuckDBPyConnection, *, now: datetime, floor: int = 5
) -> ScanResult:
    """Find warnings for the last complete day and keep them; a warning already open for the
    same kind, category and place within the last week is updated, not repeated."""
    ctx = city_context(session)
    judged = now.astimezone(ctx.tz).date() - timedelta(days=1)
    days_like = like_weekday(
        ctx.calendar, judged - timedelta(days=HISTORY_DAYS), judged + timedelta(days=7)
    )
    surges, forecast = find_surges(con, judged, days_like=days_like, floor=floor)
    result = ScanResult(judged, forecast, surges + find_recurring(con, judged))
    created = []
    for f in result.found:
        if (new := _keep(session, f, now)) is not None:
            created.append(new)
            result.created += 1
        else:
            result.updated += 1
    session.flush()
    for w in created:  # supervisors hear of each new one (after the flush: ids and names)
        on_warning(session, w, now)
    session.flush()
    return result


def _keep(session: Session, f: Found, now: datetime) -> EarlyWarning | None:
    """Store ``f``; the new warning, or None if it updated one already kept."""
    recent = session.scalars(
        select(EarlyWarning)
        .where(
            EarlyWarning.kind == f.kind,
            EarlyWarning.category_id == f.category_id,
            EarlyWarning.area_id.is_(None)
            if f.area_id is None
            else EarlyWarning.area_id == f.area_id,
            EarlyWarning.last_day >= f.first_day - timedelta(days=7),
        )
        .order_by(EarlyWarning.last_day.desc())
    ).first()
    if recent is not None:
        if recent.status == "open" and f.last_day >= recent.last_day:
            recent.last_day, recent.observed = f.last_day, f.observed
            recent.expected, recent.upper, recent.score = f.expected, f.upper, f.score
            recent.reason_zh, recent.reason_en, recent.details = f.reason_zh, f.reason_en, f.details
        return None
    area = "*" if f.area_id is None else str(f.area_id)
    warning = EarlyWarning(
        key=f"{f.kind}:{f.category_id}:{area}:{f.first_day.isoformat()}",
        kind=f.kind,
        category_id=f.category_id,
        area_id=f.area_id,
        first_day=f.first_day,
        last_day=f.last_day,
        observed=f.observed,
        expected=f.expected,
        upper=f.upper,
        score=f.score,
        reason_zh=f.reason_zh,
        reason_en=f.reason_en,
        details=f.details,
        status="open",
        created_at=now,
    )
    session.add(warning)
    return warning


def list_warnings(
    session: Session, *, status: str | None = "open", limit: int = 200, area_path: str | None = None
) -> list[EarlyWarning]:
    """The newest warnings first; with ``area_path`` only those about a place in that area (a
    warning about the whole city has no place and is the city's desks' to decide)."""
    q = select(EarlyWarning).order_by(EarlyWarning.last_day.desc(), EarlyWarning.score.desc())
    if status:
        q = q.where(EarlyWarning.status == status)
    if area_path is not None:
        q = q.where(EarlyWarning.area_id.in_(area_ids_within(area_path)))
    return list(session.scalars(q.limit(limit)))


def get_warning(session: Session, wid: int, *, area_path: str | None = None) -> EarlyWarning:
    w = session.get(EarlyWarning, wid)
    if w is None:
        raise NotFound(f"no early warning {wid}")
    if area_path is not None and (w.area is None or not w.area.path.startswith(area_path)):
        raise Forbidden(f"early warning {wid} is outside your area")
    return w


def proposed_text(w: EarlyWarning) -> str:
    place = w.area.name if w.area is not None else "全市"
    what = w.category.name if w.category is not None else "诉求"
    return f"【未诉先办】{place}·{what}：{w.reason_zh}。请主动排查、源头处置，并反馈结果。"


def accept(
    session: Session, w: EarlyWarning, *, actor: Actor, now: datetime, text: str | None = None
) -> ServiceRequest:
    """Open a proactive work order for the warning; it then follows the normal loop
    (dispatch by the catalogue, deadlines, reply, rates)."""
    if w.status != "open":
        raise Conflict(f"early warning {w.id} is already {w.status}")
    body = (text or "").strip() or proposed_text(w)
    category = session.get(Category, w.category_id) if w.category_id else None
    area = session.get(Area, w.area_id) if w.area_id else None
    data = RequestIn(
        text=body,
        channel="proactive",
        category=category.code if category else None,
        area=area.code if area else None,
        source_key=f"warning:{w.key}",
    )
    req, _ = submit_request(session, data, actor=actor, now=now, ctx=city_context(session))
    w.status, w.request = "accepted", req
    w.decided_at, w.decided_by, w.decision_note = now, actor.name, None
    return req


def dismiss(
    session: Session, w: EarlyWarning, *, actor: Actor, now: datetime, note: str
) -> EarlyWarning:
    if w.status != "open":
        raise Conflict(f"early warning {w.id} is already {w.status}")
    if not note.strip():
        raise BadInput("note", "say why the warning needs no work order")
    w.status, w.decided_at, w.decided_by, w.decision_note = (
        "dismissed",
        now,
        actor.name,
        note.strip(),
    )
    return w


def counts_by_kind(found: list[Found]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for f in found:
        out[f.kind] += 1
    return dict(out)
