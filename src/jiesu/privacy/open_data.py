"""Open data (政务数据开放): what the city's requests say in aggregate, safe to publish.

The published tables count the requests **received** in each period (day or month) per
coarsened place (district, or street — never community, grid or coordinates), category (top
level by default) and channel, with the totals per place, per category, per channel and per
period beside them. Each row carries, for the requests it counts:

- the three rates, with the assessment's rules and points (``rates.tally.Tally``, the city's
  ``rates.yaml``): responded in time, solved and satisfied; merged, invalid and answered
  requests, approved exclusions and unreachable call-backs are left out as the rates leave
  them out. They are *cohort* rates — of the requests received in the period, as known at the
  warehouse's refresh — whereas the assessment groups a month by when its verdicts came, so
  the two differ for the same month;
- the median handling time: hours from receipt to close (办结) of its closed requests.

Counts come from the warehouse (no contact and no free text are in it); exclusions and
unreachable call-backs from the database, as the rates read them. Small cells are suppressed
by ``privacy.suppression`` over the relations a reader knows (each total is the sum of its
rows), one period at a time, since no total across periods is published. A rate is published
only where its own denominator reaches ``min_cell``, the median only where that many
requests were closed.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from jiesu.errors import BadInput
from jiesu.privacy.suppression import Relation, suppress
from jiesu.rates.definitions import Definitions
from jiesu.rates.population import NOT_SCORED, RECORDED, Scored, ScoringHooks
from jiesu.rates.tally import Tally

LEVELS = ("district", "street")
PERIODS = ("month", "day")
CATEGORY_LEVELS = (1, 2, 3)
DEFAULT_MIN_CELL = 10
# Below this nothing would be suppressed (every listed cell holds at least one request).
MIN_CELL_FLOOR = 2
TABLES = ("requests", "totals_place", "totals_category", "totals_channel", "totals")
BATCH = 50_000
Key = tuple[str, int | None, int | None, str | None]  # period, place, category, channel


@dataclass(frozen=True)
class OpenDataSpec:
    first: date
    last: date
    period: str = "month"
    level: str = "district"
    category_level: int = 1
    min_cell: int = DEFAULT_MIN_CELL

    def label(self, day: date) -> str:
        return day.isoformat() if self.period == "day" else day.isoformat()[:7]

    def partial_periods(self) -> list[str]:
        """Months at the edges of the window that it covers only in part (a month published
        in part can be subtracted from the same month published whole)."""
        if self.period == "day":
            return []
        out = []
        if self.first.day != 1:
            out.append(self.label(self.first))
        if (self.last + timedelta(days=1)).day != 1 and self.label(self.last) not in out:
            out.append(self.label(self.last))
        return out


def check_options(*, period: str, level: str, category_level: int, min_cell: int) -> None:
    """Refuse bad options before any work, naming the option."""
    if period not in PERIODS:
        raise BadInput("period", f"{period!r} is not a period; use one of {', '.join(PERIODS)}")
    if level not in LEVELS:
        raise BadInput(
            "level",
            f"{level!r} is not a level open data may show; use one of {', '.join(LEVELS)} "
            "(communities, grids and coordinates are never published)",
        )
    if category_level not in CATEGORY_LEVELS:
        raise BadInput("category_level", f"{category_level} is not 1, 2 or 3")
    if min_cell < MIN_CELL_FLOOR:
        raise BadInput(
            "min_cell",
            f"must be at least {MIN_CELL_FLOOR}, not {min_cell}: with 1 nothing is suppressed",
        )


def parse_day(name: str, value: str | None) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(name, f"{value!r} is not a date; write YYYY-MM-DD") from None


def make_spec(
    con: duckdb.DuckDBPyConnection,
    *,
    first: date | None,
    last: date | None,
    today: date,
    **options: Any,
) -> OpenDataSpec:
    """The window defaults to the warehouse's first day through yesterday (a day still going
    on would change after publication)."""
    check_options(**options)
    if first is None:
        row = con.execute("SELECT min(day) FROM requests").fetchone()
        first = row[0] if row and row[0] is not None else today - timedelta(days=1)
    if last is None:
        last = today - timedelta(days=1)
    if first > last:
        raise BadInput("to", f"{last.isoformat()} is before --from {first.isoformat()}")
    return OpenDataSpec(first, last, **options)


@dataclass
class Aggregate:
    """One published row's requests, before it is published."""

    requests: int = 0
    tally: Tally = field(default_factory=Tally)
    hours: list[float] = field(default_factory=list)

    def merge(self, other: Aggregate) -> None:
        self.requests += other.requests
        self.tally.merge(other.tally)
        self.hours.extend(other.hours)

    def measures(self, min_cell: int) -> dict[str, float | None]:
        t = self.tally
        out: dict[str, float | None] = {}
        for rate in ("response", "resolution", "satisfaction"):
            value = t.rate(rate) if t.denominator(rate) >= min_cell else None
            out[f"{rate}_rate"] = None if value is None else round(value, 3)
        hours = statistics.median(self.hours) if len(self.hours) >= min_cell else None
        out["median_handling_hours"] = None if hours is None else round(hours, 1)
        return out


@dataclass
class Row:
    table: str
    key: Key
    agg: Aggregate
    hidden: bool = False


@dataclass
class OpenData:
    spec: OpenDataSpec
    as_of: datetime | None
    rows: dict[str, list[Row]]
    suppressed_primary: int
    suppressed_complementary: int
    unaudited_periods: list[str]  # too many hidden rows for the whole-number audit
    synthetic: int
    include_synthetic: bool
    places: dict[int, tuple[str, str]]
    categories: dict[int, tuple[str, str]]

    def published_cells(self) -> set[Key]:
        return {r.key for r in self.rows["requests"] if not r.hidden}

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            t: {
                "rows": len(rows),
                "suppressed": sum(r.hidden for r in rows),
                "requests_published": sum(r.agg.requests for r in rows if not r.hidden),
            }
            for t, rows in self.rows.items()
        }


def window_filter(spec: OpenDataSpec, include_synthetic: bool) -> tuple[str, list[Any]]:
    sql = "day BETWEEN ? AND ?" + ("" if include_synthetic else " AND NOT synthetic")
    return sql, [spec.first, spec.last]


def _scored_ids(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[int]:
    not_scored = ", ".join(f"'{s}'" for s in NOT_SCORED)
    rows = con.execute(
        f"""SELECT id FROM requests WHERE {where}
            AND status NOT IN ({not_scored}) AND duplicate_of_id IS NULL""",
        params,
    ).fetchall()
    return [r[0] for r in rows]


def _request_rows(
    con: duckdb.DuckDBPyConnection, spec: OpenDataSpec, where: str, params: list[Any], as_of: Any
) -> Iterator[tuple[Any, ...]]:
    fmt = "%Y-%m-%d" if spec.period == "day" else "%Y-%m"
    # The response verdict is the rates' (rates.population.response_outcome), judged at the
    # refresh for the cohort instead of for deadlines falling in a period.
    cur = con.execute(
        f"""SELECT id, strftime(day, '{fmt}'), {spec.level}_id, cat{spec.category_level}_id,
                   channel, status, duplicate_of_id IS NOT NULL,
                   CASE WHEN response_due IS NULL THEN NULL
                        WHEN accepted_at <= response_due THEN 'in_time'
                        WHEN accepted_at IS NOT NULL THEN 'late'
                        WHEN response_due < ? THEN 'late'
                        ELSE 'pending' END,
                   solved, satisfaction, resolution, reopen_count, heat, synthetic,
                   CASE WHEN status = 'closed' AND closed_at IS NOT NULL
                        THEN date_diff('second', received_at, closed_at) / 3600.0 END
            FROM requests WHERE {where}""",
        [as_of, *params],
    )
    while batch := cur.fetchmany(BATCH):
        yield from batch


def aggregate_cells(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    spec: OpenDataSpec,
    *,
    as_of: datetime,
    defs: Definitions,
    hooks: ScoringHooks = RECORDED,
) -> tuple[dict[Key, Aggregate], int]:
    """Every non-empty cell of the window, and how many of its requests are synthetic."""
    where, params = window_filter(spec, defs.include_synthetic)
    ids = _scored_ids(con, where, params)
    excluded = hooks.excluded(session, ids)
    unreachable = hooks.unreachable(session, ids)
    cells: dict[Key, Aggregate] = {}
    synthetic = 0
    for (
        rid,
        period,
        place,
        category,
        channel,
        status,
        duplicate,
        response,
        solved,
        satisfaction,
        resolution,
        reopen_count,
        heat,
        is_synthetic,
        hours,
    ) in _request_rows(con, spec, where, params, as_of):
        key = (period, place, category, channel)
        agg = cells.get(key)
        if agg is None:
            agg = cells[key] = Aggregate()
        agg.requests += 1
        synthetic += bool(is_synthetic)
        if hours is not None:
            agg.hours.append(float(hours))
        if status in NOT_SCORED or duplicate:
            continue
        assessed = status in ("closed", "called_back")
        agg.tally.add(
            Scored(
                rid,
                None,
                None,
                None,
                response,
                assessed,
                solved if assessed else None,
                satisfaction if assessed else None,
                reopen_count or 0,
                heat or 0,
                bool(is_synthetic),
                excluded=excluded.get(rid),
                unreachable=rid in unreachable,
                resolution=resolution if assessed else None,
            ),
            defs,
        )
    return cells, synthetic


def _margins(cells: dict[Key, Aggregate]) -> dict[str, dict[Key, Aggregate]]:
    out: dict[str, dict[Key, Aggregate]] = {t: {} for t in TABLES[1:]}
    for (period, place, category, channel), agg in cells.items():
        for table, key in (
            ("totals_place", (period, place, None, None)),
            ("totals_category", (period, None, category, None)),
            ("totals_channel", (period, None, None, channel)),
            ("totals", (period, None, None, None)),
        ):
            out[table].setdefault(key, Aggregate()).merge(agg)
    return out


def _suppress_period(rows: list[Row], min_cell: int) -> tuple[int, int, bool]:
    """Hide the rows of one period (all five tables) that must not be published; the
    numbers hidden first and in complement, and whether the whole-number audit ran."""
    index = {(r.table, r.key): i for i, r in enumerate(rows)}
    parts: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        period, place, category, channel = r.key
        if r.table == "requests":
            ups = [
                ("totals_place", (period, place, None, None)),
                ("totals_category", (period, None, category, None)),
                ("totals_channel", (period, None, None, channel)),
            ]
        elif r.table == "totals":
            continue
        else:
            ups = [("totals", (period, None, None, None))]
        for up in ups:
            parts.setdefault(index[up], []).append(i)
    relations = []
    # A reader knows each listed row holds at least one request per cell listed under it.
    cells = sum(r.table == "requests" for r in rows)
    floors = [cells if r.table == "totals" else 1 for r in rows]
    for total, members in parts.items():
        if rows[total].table == "totals":
            # The period's total is the sum of each margin table on its own.
            for table in TABLES[1:4]:
                same = tuple(m for m in members if rows[m].table == table)
                relations.append(Relation(total, same))
        else:
            relations.append(Relation(total, tuple(members)))
            floors[total] = len(members)
    result = suppress([r.agg.requests for r in rows], relations, min_cell=min_cell, floors=floors)
    for i in result.hidden:
        rows[i].hidden = True
    return len(result.primary), len(result.complementary), result.audited


def build_open_data(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    spec: OpenDataSpec,
    *,
    as_of: datetime,
    defs: Definitions,
    hooks: ScoringHooks = RECORDED,
) -> OpenData:
    cells, synthetic = aggregate_cells(con, session, spec, as_of=as_of, defs=defs, hooks=hooks)
    margins = _margins(cells)
    tables = {"requests": cells, **margins}
    by_period: dict[str, list[Row]] = {}
    out: dict[str, list[Row]] = {t: [] for t in TABLES}
    for table in TABLES:
        for key in sorted(tables[table], key=_sort_key):
            row = Row(table, key, tables[table][key])
            out[table].append(row)
            by_period.setdefault(key[0], []).append(row)
    primary = complementary = 0
    unaudited = []
    for period, rows in sorted(by_period.items()):
        p, c, audited = _suppress_period(rows, spec.min_cell)
        primary += p
        complementary += c
        if not audited:
            unaudited.append(period)
    return OpenData(
        spec=spec,
        as_of=as_of,
        rows=out,
        suppressed_primary=primary,
        suppressed_complementary=complementary,
        unaudited_periods=unaudited,
        synthetic=synthetic,
        include_synthetic=defs.include_synthetic,
        places=_names(con, "areas"),
        categories=_names(con, "categories"),
    )


def _sort_key(key: Key) -> tuple[Any, ...]:
    period, place, category, channel = key
    return (period, place is None, place or 0, category is None, category or 0, channel or "")


def _names(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, tuple[str, str]]:
    return {i: (c, n) for i, c, n in con.execute(f"SELECT id, code, name FROM {table}").fetchall()}
