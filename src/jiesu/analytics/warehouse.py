"""The warehouse: requests and events copied to Parquet, one file per local month, read with
DuckDB.

Refresh is incremental. Every change to a request goes through its event chain, which stamps
``updated_at``; a refresh copies the rows changed since the previous refresh began (less a
safety margin, so that a transaction that was still open then is not missed) and merges them
into their month's file by id. Merging is idempotent, so an interrupted refresh is simply run
again: each month's file is replaced atomically (write beside it, then rename), and the
watermark moves only when every month is written. A month whose file is missing or unreadable
is rebuilt from the operational database, not trusted and not fatal.

A request stays in the month it was received in (``received_at`` never changes after intake).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.analytics import schema
from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.city.service import city_context
from jiesu.errors import Conflict
from jiesu.workflow.models import Event, ServiceRequest

# Longer than any write transaction runs: rows stamped before the previous refresh began but
# committed after it are still picked up, at the cost of copying a few rows twice.
SAFETY = timedelta(minutes=10)
BATCH = 20_000
TABLES = ("requests", "events")
Progress = Callable[[str, int, int], None]


@dataclass
class RefreshResult:
    full: bool
    requests: int = 0
    events: int = 0
    months: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "requests": self.requests,
            "events": self.events,
            "months": self.months,
            "rebuilt": self.rebuilt,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    y, m = (int(x) for x in month.split("-"))
    start = datetime(y, m, 1, tzinfo=tz)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


class Ancestors:
    """Each area's district/street/community/grid and each category's levels 1–3, by id."""

    AREA_LEVELS = ("district", "street", "community", "grid")

    def __init__(self, session: Session) -> None:
        areas = session.execute(select(Area.id, Area.code, Area.level, Area.path)).all()
        by_code = {code: (aid, level) for aid, code, level, _ in areas}
        self.area: dict[int, dict[str, int]] = {}
        for aid, _, _, path in areas:
            levels: dict[str, int] = {}
            for code in path.strip("/").split("/"):
                if code in by_code:
                    levels[by_code[code][1]] = by_code[code][0]
            self.area[aid] = levels
        cats = session.execute(select(Category.id, Category.code, Category.path)).all()
        cat_by_code = {code: cid for cid, code, _ in cats}
        self.category: dict[int, list[int]] = {
            cid: [cat_by_code[c] for c in path.strip("/").split("/") if c in cat_by_code]
            for cid, _, path in cats
        }

    def area_levels(self, area_id: int | None) -> list[int | None]:
        levels = self.area.get(area_id, {}) if area_id is not None else {}
        return [levels.get(level) for level in self.AREA_LEVELS]

    def category_levels(self, category_id: int | None) -> list[int | None]:
        path = self.category.get(category_id, []) if category_id is not None else []
        return [path[i] if i < len(path) else None for i in range(3)]


R = ServiceRequest
REQUEST_COLUMNS = (
    R.id,
    R.ticket,
    R.channel,
    R.received_at,
    R.area_id,
    R.category_id,
    R.category_confirmed,
    R.urgency,
    R.urgency_score,
    R.status,
    R.lead_unit_id,
    R.duplicate_of_id,
    R.heat,
    R.dispatched_at,
    R.response_due,
    R.handling_due,
    R.accepted_at,
    R.replied_at,
    R.closed_at,
    R.response_overdue,
    R.handling_overdue,
    R.return_count,
    R.reopen_count,
    R.solved,
    R.satisfaction,
    R.resolution,
    R.synthetic,
    R.lat,
    R.lon,
    R.updated_at,
)
EVENT_COLUMNS = (Event.id, Event.request_id, Event.seq, Event.kind, Event.from_status,
                 Event.to_status, Event.at)  # fmt: skip


class Warehouse:
    """Parquet files under ``root`` and the DuckDB views over them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self, data: dict[str, Any]) -> None:
        _atomic_bytes(self.state_path, json.dumps(data, indent=2).encode())

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict("another analytics refresh is running on this data dir") from None
            yield

    def partition(self, table: str, month: str) -> Path:
        return self.root / table / f"month={month}" / "data.parquet"

    def months(self, table: str) -> list[str]:
        base = self.root / table
        if not base.is_dir():
            return []
        return sorted(p.name.removeprefix("month=") for p in base.glob("month=*"))

    # --- refresh -------------------------------------------------------------------------

    def refresh(
        self,
        session: Session,
        *,
        now: datetime,
        full: bool = False,
        progress: Progress | None = None,
    ) -> RefreshResult:
        started = time.perf_counter()
        with self._lock():
            state = self.state()
            if state.get("schema") != schema.SCHEMA_VERSION:
                full = True
            result = RefreshResult(full=full)
            tz = city_context(session).tz
            anc = Ancestors(session)
            self._write_dimensions(session)
            for table in TABLES:
                since = None if full else _parse_ts(state.get(f"{table}_since"))
                if full:
                    self._clear(table)
                # Damaged months first: merging changes into a lost file would keep only them.
                for month in self._damaged(table, state) if not full else []:
                    self._rebuild_month(session, table, month, tz, anc)
                    result.rebuilt.append(f"{table}/{month}")
                written = self._copy_changed(session, table, since, tz, anc, result, progress)
                setattr(result, table, written)
            counts = {t: {m: self._rows(t, m) for m in self.months(t)} for t in TABLES}
            self._write_state(
                {
                    "schema": schema.SCHEMA_VERSION,
                    "requests_since": (now - SAFETY).isoformat(),
                    "events_since": (now - SAFETY).isoformat(),
                    "refreshed_at": now.isoformat(),
                    # Bumped by every refresh: a key for answers computed from this content.
                    "refresh_no": int(state.get("refresh_no") or 0) + 1,
                    "rows": counts,
                }
            )
        result.months = sorted(set(result.months))
        result.elapsed_s = time.perf_counter() - started
        return result

    def _rows(self, table: str, month: str) -> int:
        try:
            return int(pq.read_metadata(self.partition(table, month)).num_rows)
        except (OSError, pa.ArrowException):
            return -1

    def _damaged(self, table: str, state: dict[str, Any]) -> list[str]:
        """Months the last refresh wrote whose file is now missing or unreadable."""
        known = (state.get("rows") or {}).get(table) or {}
        return sorted(m for m in known if self._rows(table, m) < 0)

    def _clear(self, table: str) -> None:
        for month in self.months(table):
            self.partition(table, month).unlink(missing_ok=True)

    def _query(self, table: str) -> Any:
        if table == "requests":
            return select(*REQUEST_COLUMNS).order_by(R.received_at, R.id)
        return select(*EVENT_COLUMNS).order_by(Event.at, Event.id)

    def _stamp(self, table: str) -> Any:
        return R.updated_at if table == "requests" else Event.at

    def _time(self, table: str) -> Any:
        return R.received_at if table == "requests" else Event.at

    def _copy_changed(
        self,
        session: Session,
        table: str,
        since: datetime | None,
        tz: ZoneInfo,
        anc: Ancestors,
        result: RefreshResult,
        progress: Progress | None,
    ) -> int:
        q = self._query(table)
        count_q = select(func.count()).select_from(R if table == "requests" else Event)
        if since is not None:
            q = q.where(self._stamp(table) >= since)
            count_q = count_q.where(self._stamp(table) >= since)
        total = int(session.scalar(count_q) or 0)
        done, month, buf = 0, "", _Columns(table)
        for row in session.execute(q.execution_options(yield_per=BATCH)):
            row_month = month_of(row[3 if table == "requests" else 6].astimezone(tz).date())
            if row_month != month and len(buf):
                self._flush(session, table, month, buf, since is None, tz, anc, result)
                buf = _Columns(table)
            month = row_month
            buf.add(row, tz, anc)
            done += 1
            if progress is not None and done % BATCH == 0:
                progress(table, done, total)
        if len(buf):
            self._flush(session, table, month, buf, since is None, tz, anc, result)
        if progress is not None:
            progress(table, done, total)
        return done

    def _flush(
        self,
        session: Session,
        table: str,
        month: str,
        buf: _Columns,
        replace: bool,
        tz: ZoneInfo,
        anc: Ancestors,
        result: RefreshResult,
    ) -> None:
        result.months.append(month)
        if not self._merge(table, month, buf.table(), replace=replace):
            # The month's file could not be read: rebuild all of it, these rows included.
            self._rebuild_month(session, table, month, tz, anc)
            result.rebuilt.append(f"{table}/{month}")

    def _rebuild_month(
        self, session: Session, table: str, month: str, tz: ZoneInfo, anc: Ancestors
    ) -> None:
        start, end = month_bounds(month, tz)
        col = self._time(table)
        buf = _Columns(table)
        q = self._query(table).where(col >= start, col < end)
        for row in session.execute(q.execution_options(yield_per=BATCH)):
            buf.add(row, tz, anc)
        self._merge(table, month, buf.table(), replace=True)

    def _merge(self, table: str, month: str, new: pa.Table, *, replace: bool) -> bool:
        """Write ``new`` into the month by id; False (nothing written) if the month's file
        exists but cannot be read."""
        path = self.partition(table, month)
        if not replace and path.exists():
            try:
                old = pq.read_table(path, schema=new.schema)
            except (OSError, pa.ArrowException):
                return False
            keep = old.filter(pc.invert(pc.is_in(old["id"], value_set=new["id"])))
            new = pa.concat_tables([keep, new]).sort_by("id")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".data.{os.getpid()}.tmp")
        pq.write_table(new, tmp, compression="zstd")
        os.replace(tmp, path)
        return True

    def _write_dimensions(self, session: Session) -> None:
        a = session.execute(
            select(
                Area.id,
                Area.code,
                Area.name,
                Area.level,
                Area.parent_id,
                Area.path,
                Area.lat,
                Area.lon,
            )
        ).all()
        c = session.execute(
            select(
                Category.id,
                Category.code,
                Category.name,
                Category.level,
                Category.parent_id,
                Category.path,
            )
        ).all()
        u = session.execute(
            select(
                HandlingUnit.id,
                HandlingUnit.code,
                HandlingUnit.name,
                HandlingUnit.kind,
                HandlingUnit.parent_id,
            )
        ).all()
        for name, rows, sch in (
            ("areas", a, schema.AREAS),
            ("categories", c, schema.CATEGORIES),
            ("units", u, schema.UNITS),
        ):
            cols: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in sch.names]
            tbl = pa.table({n: list(v) for n, v in zip(sch.names, cols, strict=True)}, schema=sch)
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".{name}.{os.getpid()}.tmp"
            pq.write_table(tbl, tmp)
            os.replace(tmp, self.root / f"{name}.parquet")

    # --- reading -------------------------------------------------------------------------

    def connect(self, *, within: str | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB with views ``requests``, ``events``, ``areas``, ``categories``,
        ``units``; an empty warehouse gives empty tables of the right columns. With
        ``within`` (an area path) ``requests`` holds only the requests placed in that area and
        ``events`` only theirs: every query over the connection is the district's."""
        con = duckdb.connect(":memory:")
        for table, sch in (("requests", schema.REQUESTS), ("events", schema.EVENTS)):
            files = [self.partition(table, m) for m in self.months(table)]
            files = [f for f in files if f.exists()]
            if files:
                source = f"read_parquet({_paths(files)})"
            else:
                con.register(f"_{table}_empty", sch.empty_table())
                source = f"_{table}_empty"
            con.execute(f"CREATE VIEW _{table}_all AS SELECT * FROM {source}")
        for name, sch in (
            ("areas", schema.AREAS),
            ("categories", schema.CATEGORIES),
            ("units", schema.UNITS),
        ):
            path = self.root / f"{name}.parquet"
            if path.exists():
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_paths([path])})")
            else:
                con.register(f"_{name}_empty", sch.empty_table())
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}_empty")
        if within is None:
            con.execute("CREATE VIEW requests AS SELECT * FROM _requests_all")
            con.execute("CREATE VIEW events AS SELECT * FROM _events_all")
            return con
        quoted = within.replace("'", "''")  # a view cannot take a parameter: quoted by hand
        con.execute(
            "CREATE VIEW requests AS SELECT * FROM _requests_all WHERE area_id IN "
            f"(SELECT id FROM areas WHERE starts_with(path, '{quoted}'))"
        )
        con.execute(
            "CREATE VIEW events AS SELECT * FROM _events_all "
            "WHERE request_id IN (SELECT id FROM requests)"
        )
        return con


class _Columns:
    """Rows of one month gathered column by column, as Arrow wants them."""

    def __init__(self, table: str) -> None:
        self.schema = schema.REQUESTS if table == "requests" else schema.EVENTS
        self.cols: dict[str, list[Any]] = {n: [] for n in self.schema.names}
        self.table_name = table

    def __len__(self) -> int:
        return len(self.cols["id"])

    def add(self, row: Any, tz: ZoneInfo, anc: Ancestors) -> None:
        c = self.cols
        if self.table_name == "events":
            for name, value in zip(
                ("id", "request_id", "seq", "kind", "from_status", "to_status", "at"),
                row,
                strict=True,
            ):
                c[name].append(value)
            c["day"].append(row[6].astimezone(tz).date())
            return
        m = row._mapping
        for name in schema.REQUESTS.names:
            if name in m:
                c[name].append(m[name])
        c["day"].append(m["received_at"].astimezone(tz).date())
        for name, value in zip(
            ("district_id", "street_id", "community_id", "grid_id"),
            anc.area_levels(m["area_id"]),
            strict=True,
        ):
            c[name].append(value)
        for name, value in zip(
            ("cat1_id", "cat2_id", "cat3_id"), anc.category_levels(m["category_id"]), strict=True
        ):
            c[name].append(value)

    def table(self) -> pa.Table:
        return pa.table(self.cols, schema=self.schema)


def _paths(files: list[Path]) -> str:
    """A DuckDB list literal of file names (views cannot take parameters)."""
    quoted = ("'" + str(f).replace("'", "''") + "'" for f in files)
    return "[" + ", ".join(quoted) + "]"


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _atomic_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
