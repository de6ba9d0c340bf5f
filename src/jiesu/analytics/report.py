"""What a daily bulletin, weekly summary or monthly analysis says, computed from data.

Volumes, channels, categories, places, emergencies, overdue and returned requests come from the
warehouse (DuckDB over Parquet), so a monthly analysis of a megacity does not load the
operational database. The three rates and the ranking come from the rates module itself, over
the operational database: one definition of a rate, whatever shows it.

Counting rule: every request received in the period counts once where it was received,
including duplicates later merged (each is a caller); "open" and "overdue" are as of the
warehouse's last refresh, which the report states.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.health import health_check
from jiesu.analytics.hot import hot_issues
from jiesu.analytics.models import EarlyWarning
from jiesu.analytics.periods import NAMES, ReportPeriod
from jiesu.analytics.topics import candidates
from jiesu.city.models import Area
from jiesu.rates.compute import rates_report
from jiesu.rates.query import build_query
from jiesu.rates.rankings import ranking
from jiesu.workflow.access import area_ids_within
from jiesu.workflow.transitions import OPEN_STATUSES

TOP = 10
EMERGENCY_LIST = 20
# A category "rises" only from a base worth talking about: 1 → 3 is noise, not news.
RISING_MIN = 3
OPEN = tuple(sorted(OPEN_STATUSES))


@dataclass
class Counted:
    code: str
    name: str
    n: int
    previous: int = 0

    @property
    def change(self) -> int:
        return self.n - self.previous


@dataclass
class Report:
    kind: str
    label: str
    title_zh: str
    title_en: str
    first: date
    last: date
    timezone: str
    generated_at: datetime
    refreshed_at: str | None
    total: int
    previous_total: int
    trend: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    categories: list[Counted]
    leaf_categories: list[Counted]
    rising: list[Counted]
    districts: list[Counted]
    streets: list[Counted]
    emergencies: int
    emergency_items: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    overdue: dict[str, int]
    returned: dict[str, int]
    rates: dict[str, Any] | None
    ranking: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    hot: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, Any]] = field(default_factory=list)
    health: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A district's (or street's) own report: its code and name; None for the city's.
    area: dict[str, str] | None = None

    @property
    def change_share(self) -> float | None:
        if not self.previous_total:
            return None
        return (self.total - self.previous_total) / self.previous_total

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["change_share"] = self.change_share
        for key in ("categories", "leaf_categories", "rising", "districts", "streets"):
            for row, c in zip(out[key], getattr(self, key), strict=True):
                row["change"] = c.change
        return out


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0] or 0) if row else 0


def _counted(
    con: duckdb.DuckDBPyConnection,
    key: str,
    dim: str,
    period: ReportPeriod,
    prev: ReportPeriod,
    limit: int | None,
    *,
    with_parent: bool = False,
) -> list[Counted]:
    """Counts per ``key`` (a dimension id column) in the period with the previous period's;
    ``with_parent`` names a row "parent / name" (two leaves may both be called 其他)."""
    name = "coalesce(up.name || ' / ', '') || d.name" if with_parent else "d.name"
    sql = f"""
        WITH cur AS (SELECT {key} AS k, count(*) AS n FROM requests
                     WHERE day BETWEEN ? AND ? AND {key} IS NOT NULL GROUP BY 1),
             old AS (SELECT {key} AS k, count(*) AS n FROM requests
                     WHERE day BETWEEN ? AND ? AND {key} IS NOT NULL GROUP BY 1)
        SELECT d.code, {name}, cur.n, coalesce(old.n, 0)
        FROM cur JOIN {dim} d ON d.id = cur.k LEFT JOIN old ON old.k = cur.k
        LEFT JOIN {dim} up ON up.id = d.parent_id
        ORDER BY cur.n DESC, d.code
    """
    params = [period.first, period.last, prev.first, prev.last]
    rows = con.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), params).fetchall()
    return [Counted(code, name, int(n), int(p)) for code, name, n, p in rows]


def _trend(
    con: duckdb.DuckDBPyConnection, period: ReportPeriod, tz: ZoneInfo
) -> list[dict[str, Any]]:
    if period.kind == "daily":
        rows = dict(
            con.execute(
                "SELECT hour(timezone(?, received_at)) h, count(*) FROM requests "
                "WHERE day = ? GROUP BY 1",
                [str(tz), period.first],
            ).fetchall()
        )
        return [{"at": f"{h:02d}:00", "n": int(rows.get(h, 0))} for h in range(24)]
    rows = dict(
        con.execute(
            "SELECT day, count(*) FROM requests WHERE day BETWEEN ? AND ? GROUP BY 1",
            [period.first, period.last],
        ).fetchall()
    )
    return [{"at": d.isoformat(), "n": int(rows.get(d, 0))} for d in period.day_list()]


def _table(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], names: list[str]
) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in con.execute(sql, params).fetchall()]


def warehouse_sections(
    con: duckdb.DuckDBPyConnection, period: ReportPeriod, tz: ZoneInfo
) -> dict[str, Any]:
    prev = period.previous()
    span = [period.first, period.last]
    in_period = "day BETWEEN ? AND ?"
    total = _one(con, f"SELECT count(*) FROM requests WHERE {in_period}", span)
    channels = _table(
        con,
        f"SELECT channel, count(*) n FROM requests WHERE {in_period} GROUP BY 1 ORDER BY 2 DESC, 1",
        span,
        ["channel", "n"],
    )
    for c in channels:
        c["share"] = c["n"] / total if total else None
    # The finest level the taxonomy has: level 3 where it exists, else the leaf itself.
    leaf = _counted(con, "category_id", "categories", period, prev, TOP, with_parent=True)
    cats = _counted(con, "cat1_id", "categories", period, prev, None)
    every_leaf = _counted(con, "category_id", "categories", period, prev, None, with_parent=True)
    rising = sorted(
        (c for c in every_leaf if c.n >= RISING_MIN and c.change > 0),
        key=lambda c: (-c.change, c.code),
    )[:5]
    emergencies = _one(
        con, f"SELECT count(*) FROM requests WHERE {in_period} AND urgency = 'emergency'", span
    )
    emergency_items = _table(
        con,
        f"""SELECT r.ticket, r.received_at, c.name, a.name, r.status
            FROM requests r LEFT JOIN categories c ON c.id = r.category_id
            LEFT JOIN areas a ON a.id = r.street_id
            WHERE {in_period.replace("day", "r.day")} AND r.urgency = 'emergency'
            ORDER BY r.received_at LIMIT {EMERGENCY_LIST}""",
        span,
        ["ticket", "received_at", "category", "street", "status"],
    )
    statuses = _table(
        con,
        f"SELECT status, count(*) n FROM requests WHERE {in_period} GROUP BY 1 ORDER BY 2 DESC, 1",
        span,
        ["status", "n"],
    )
    open_list = ", ".join(f"'{s}'" for s in OPEN)
    overdue = {
        "response_late": _one(
            con, f"SELECT count(*) FROM requests WHERE {in_period} AND response_overdue", span
        ),
        "handling_late": _one(
            con, f"SELECT count(*) FROM requests WHERE {in_period} AND handling_overdue", span
        ),
        "open_and_late": _one(
            con,
            f"SELECT count(*) FROM requests WHERE {in_period} AND status IN ({open_list}) "
            "AND (response_overdue OR handling_overdue)",
            span,
        ),
        "still_open": _one(
            con,
            f"SELECT count(*) FROM requests WHERE {in_period} AND status IN ({open_list})",
            span,
        ),
    }
    returned = {
        "returns": _one(
            con, f"SELECT count(*) FROM events WHERE {in_period} AND kind = 'return'", span
        ),
        "requests": _one(
            con,
            f"SELECT count(DISTINCT request_id) FROM events WHERE {in_period} AND kind = 'return'",
            span,
        ),
        "reopened": _one(
            con, f"SELECT count(*) FROM events WHERE {in_period} AND kind = 'reopen'", span
        ),
    }
    return {
        "total": total,
        "previous_total": _one(
            con, f"SELECT count(*) FROM requests WHERE {in_period}", [prev.first, prev.last]
        ),
        "trend": _trend(con, period, tz),
        "channels": channels,
        "categories": cats,
        "leaf_categories": leaf,
        "rising": rising,
        "districts": _counted(con, "district_id", "areas", period, prev, None),
        "streets": _counted(con, "street_id", "areas", period, prev, TOP),
        "emergencies": emergencies,
        "emergency_items": emergency_items,
        "statuses": statuses,
        "overdue": overdue,
        "returned": returned,
    }


def rate_sections(
    session: Session, period: ReportPeriod, *, as_of: datetime, area: str | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The city's (or the area's) three rates for the period and the street offices' ranking
    (by their requests in the area)."""
    query = build_query(session, as_of=as_of, period=period.rates_period, by="unit", area=area)
    report = rates_report(session, query, with_ontime=False)
    rank = ranking(session, query)
    units = [
        {
            "rank": u.rank,
            "code": u.code,
            "name": u.name,
            "score": u.rates.score,
            "response": u.rates.response,
            "resolution": u.rates.resolution,
            "satisfaction": u.rates.satisfaction,
            "rank_change": u.rank_change,
            "unranked_reason": u.unranked_reason,
        }
        for u in rank.units
    ]
    total = report.total
    return {"counts": total.counts, **total.rates.model_dump()}, units


def warning_section(
    session: Session, period: ReportPeriod, area_path: str | None = None
) -> list[dict[str, Any]]:
    """Early warnings whose span ends in the period, whatever was decided about them."""
    stmt = select(EarlyWarning).where(
        EarlyWarning.last_day >= period.first, EarlyWarning.last_day <= period.last
    )
    if area_path is not None:
        stmt = stmt.where(EarlyWarning.area_id.in_(area_ids_within(area_path)))
    rows = session.scalars(stmt.order_by(EarlyWarning.score.desc()).limit(20))
    return [
        {
            "id": w.id,
            "kind": w.kind,
            "place": w.area.name if w.area else "全市",
            "category": w.category.name if w.category else None,
            "reason_zh": w.reason_zh,
            "reason_en": w.reason_en,
            "status": w.status,
            "ticket": w.request.ticket if w.request else None,
        }
        for w in rows
    ]


def build_report(
    session: Session,
    con: duckdb.DuckDBPyConnection,
    period: ReportPeriod,
    *,
    tz: ZoneInfo,
    now: datetime,
    refreshed_at: str | None,
    area: Area | None = None,
) -> Report:
    """The report over ``con``; for an area's report ``con`` must be the warehouse connected
    ``within`` the area's path, and the operational sections are narrowed to it as well."""
    data = warehouse_sections(con, period, tz)
    path = area.path if area is not None else None
    rates, units = rate_sections(
        session, period, as_of=now, area=area.code if area is not None else None
    )
    # Hot issues need the texts (operational database): the period's last seven days at most.
    _, end = period.bounds(tz)
    hot = hot_issues(session, end=end, days=min(period.days, 7), top=5, area_path=path)["groups"]
    # The monthly analysis proposes next month's topic; shorter reports are too short for it.
    monthly = period.kind == "monthly"
    topics = [c.as_dict() for c in candidates(con, period.label, 5)] if monthly else []
    notes = []
    if not data["total"]:
        notes.append("no request was received in this period")
    if refreshed_at is None:
        notes.append("the warehouse has never been refreshed: run `jiesu analytics refresh`")
    zh, en = NAMES[period.kind]
    return Report(
        kind=period.kind,
        label=period.label,
        title_zh=zh,
        title_en=en,
        first=period.first,
        last=period.last,
        timezone=str(tz),
        generated_at=now,
        refreshed_at=refreshed_at,
        rates=rates,
        ranking=units,
        warnings=warning_section(session, period, path),
        hot=hot,
        topics=topics,
        health=[a.as_dict() for a in health_check(con, period.label)] if monthly else [],
        notes=notes,
        area={"code": area.code, "name": area.name} if area is not None else None,
        **data,
    )


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
