"""The heat map's data (诉求热力图): requests per area at one level of the tree, per time
bucket, optionally for one category (at any level of the taxonomy), from the warehouse; with
the points where requests carry coordinates, binned, for a density view.

Shares beside the counts (still open, late, solved and satisfied among the answered call-backs)
are plain proportions of the warehouse rows, labelled as such; the assessment's three rates,
with their definitions and exclusions, are on the rates pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import duckdb

from jiesu.errors import BadInput
from jiesu.workflow.transitions import OPEN_STATUSES

HeatLevel = Literal["district", "street", "community", "grid"]
LEVELS: tuple[HeatLevel, ...] = ("district", "street", "community", "grid")
Bucket = Literal["day", "week", "month"]
BUCKETS: tuple[Bucket, ...] = ("day", "week", "month")
# A long span in days would draw thousands of frames: the slider stays readable.
MAX_BUCKETS = 400
MAX_SPAN_DAYS = 3 * 366
# About 500 m at Beijing's latitude: fine enough to see a hot estate, coarse enough that no
# single caller's door can be read off the map.
BIN_DEGREES = 0.005
OPEN = tuple(sorted(OPEN_STATUSES))


@dataclass(frozen=True)
class HeatQuery:
    level: HeatLevel
    first: date
    last: date
    bucket: Bucket
    category: str | None = None  # a category code, any level
    within: str | None = None  # an area path: only requests placed at or below it


@dataclass
class HeatArea:
    code: str
    name: str
    lat: float | None
    lon: float | None
    n: int = 0
    open: int = 0
    late: int = 0
    answered: int = 0
    solved: int = 0
    satisfied: int = 0
    by_bucket: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def share(x: int, of: int) -> float | None:
            return round(x / of, 4) if of else None

        return {
            "code": self.code,
            "name": self.name,
            "lat": self.lat,
            "lon": self.lon,
            "n": self.n,
            "open": self.open,
            "late": self.late,
            "open_share": share(self.open, self.n),
            "late_share": share(self.late, self.n),
            "answered": self.answered,
            "solved_share": share(self.solved, self.answered),
            "satisfied_share": share(self.satisfied, self.answered),
            "by_bucket": self.by_bucket,
        }


@dataclass
class HeatData:
    query: HeatQuery
    buckets: list[str]
    areas: list[HeatArea]
    points: list[tuple[float, float, int]]
    unplaced: int  # requests with no area at this level (e.g. only a district known)

    def as_dict(self) -> dict[str, Any]:
        q = self.query
        return {
            "level": q.level,
            "from": q.first.isoformat(),
            "to": q.last.isoformat(),
            "bucket": q.bucket,
            "category": q.category,
            "buckets": self.buckets,
            "areas": [a.as_dict() for a in self.areas],
            "points": [{"lat": la, "lon": lo, "n": n} for la, lo, n in self.points],
            "unplaced": self.unplaced,
            "total": sum(a.n for a in self.areas) + self.unplaced,
        }


def check_query(
    level: str,
    first: date,
    last: date,
    bucket: str,
    category: str | None,
    within: str | None = None,
) -> HeatQuery:
    if level not in LEVELS:
        raise BadInput("level", f"{level!r} is not an area level; use one of {', '.join(LEVELS)}")
    if bucket not in BUCKETS:
        raise BadInput("bucket", f"{bucket!r} is not a bucket; use one of {', '.join(BUCKETS)}")
    if last < first:
        raise BadInput("to", "must be on or after from")
    if (last - first).days > MAX_SPAN_DAYS:
        raise BadInput("to", f"a heat map spans at most {MAX_SPAN_DAYS} days")
    buckets = len(bucket_labels(first, last, bucket))  # type: ignore[arg-type]
    if buckets > MAX_BUCKETS:
        raise BadInput(
            "bucket", f"{buckets} {bucket}s are too many to show; choose a longer bucket"
        )
    return HeatQuery(level, first, last, bucket, category or None, within)  # type: ignore[arg-type]


def bucket_start(d: date, bucket: Bucket) -> date:
    if bucket == "day":
        return d
    if bucket == "week":
        return d - timedelta(days=d.isoweekday() - 1)
    return d.replace(day=1)


def bucket_labels(first: date, last: date, bucket: Bucket) -> list[str]:
    out: list[str] = []
    d = bucket_start(first, bucket)
    while d <= last:
        out.append(d.isoformat())
        d = (
            (d + timedelta(days=32)).replace(day=1)
            if bucket == "month"
            else d + timedelta(days=1 if bucket == "day" else 7)
        )
    return out


def _category_filter(con: duckdb.DuckDBPyConnection, code: str | None) -> tuple[str, list[Any]]:
    if code is None:
        return "", []
    row = con.execute("SELECT id, level FROM categories WHERE code = ?", [code]).fetchone()
    if row is None:
        raise BadInput("category", f"no category with code {code!r}")
    cid, level = row
    column = {1: "cat1_id", 2: "cat2_id", 3: "cat3_id"}.get(int(level), "category_id")
    # A leaf deeper than three levels is matched on the request's own category.
    return f" AND (r.{column} = ? OR r.category_id = ?)", [cid, cid]


def heat(con: duckdb.DuckDBPyConnection, q: HeatQuery) -> HeatData:
    cat_sql, cat_params = _category_filter(con, q.category)
    col = f"r.{q.level}_id"
    where = f"r.day BETWEEN ? AND ?{cat_sql}"
    params: list[Any] = [q.first, q.last, *cat_params]
    if q.within is not None:
        # A district's desk: the same map over the requests placed in the district only.
        where += " AND r.area_id IN (SELECT id FROM areas WHERE starts_with(path, ?))"
        params.append(q.within)
    open_list = ", ".join(f"'{s}'" for s in OPEN)
    rows = con.execute(
        f"""SELECT a.code, a.name, a.lat, a.lon, count(*),
                   count(*) FILTER (WHERE r.status IN ({open_list})),
                   count(*) FILTER (WHERE r.response_overdue OR r.handling_overdue),
                   count(*) FILTER (WHERE r.resolution IS NOT NULL OR r.solved IS NOT NULL),
                   count(*) FILTER (WHERE r.resolution = 'solved'
                                    OR (r.resolution IS NULL AND r.solved)),
                   count(*) FILTER (WHERE r.satisfaction = 'satisfied')
            FROM requests r JOIN areas a ON a.id = {col}
            WHERE {where} GROUP BY ALL ORDER BY 5 DESC, 1""",
        params,
    ).fetchall()
    areas = {
        code: HeatArea(
            code, name, lat, lon, int(n), int(o), int(late), int(ans), int(sol), int(sat)
        )
        for code, name, lat, lon, n, o, late, ans, sol, sat in rows
    }
    trunc = {"day": "day", "week": "week", "month": "month"}[q.bucket]
    for code, start, n in con.execute(
        f"""SELECT a.code, CAST(date_trunc('{trunc}', r.day) AS DATE), count(*)
            FROM requests r JOIN areas a ON a.id = {col} WHERE {where} GROUP BY ALL""",
        params,
    ).fetchall():
        areas[code].by_bucket[start.isoformat()] = int(n)
    unplaced = con.execute(
        f"SELECT count(*) FROM requests r WHERE {where} AND {col} IS NULL",
        params,
    ).fetchone()
    points = con.execute(
        f"""SELECT round(r.lat / {BIN_DEGREES}) * {BIN_DEGREES},
                   round(r.lon / {BIN_DEGREES}) * {BIN_DEGREES}, count(*)
            FROM requests r WHERE {where} AND r.lat IS NOT NULL AND r.lon IS NOT NULL
            GROUP BY ALL ORDER BY 3 DESC LIMIT 5000""",
        params,
    ).fetchall()
    return HeatData(
        q,
        bucket_labels(q.first, q.last, q.bucket),
        list(areas.values()),
        [(round(float(a), 5), round(float(b), 5), int(n)) for a, b, n in points],
        int(unplaced[0]) if unplaced else 0,
    )
