"""The logical dump: every Jiesu table as JSON Lines, readable by any Jiesu on either backend.

It is what a PostgreSQL backup falls back to when pg_dump does not match the server (or when
asked with --logical), and it can carry an installation from SQLite to PostgreSQL.

One file per table: a header line (table, columns, and each column's kind) and one JSON array
per row. Values keep their exact form: times as ISO text of what is stored (naive UTC), JSON
columns as the JSON text the database holds (so an SQL NULL stays NULL and a JSON `null` stays
`null`). Loading creates the schema at the dump's revision with Alembic, inserts the tables
parents first — self-references (an area's parent, a duplicate's original) are filled in
after every row is in — and moves PostgreSQL's id sequences past the loaded ids.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Text,
    Time,
    bindparam,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

from jiesu.errors import JiesuError

BATCH = 2000
Advance = Callable[[int], None]


def _kind(column: Column[Any]) -> str:
    t = column.type
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Time):
        return "time"
    if isinstance(t, LargeBinary):
        return "bytes"
    if isinstance(t, Numeric) and not isinstance(t, Float):
        return "decimal"
    return "plain"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Decimal):
        return str(value)
    return value


DECODE: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "bytes": base64.b64decode,
    "decimal": Decimal,
}


def reflect(conn: Connection, tables: list[str]) -> MetaData:
    meta = MetaData()
    meta.reflect(conn, only=tables)
    return meta


def _readable(column: Column[Any]) -> ColumnElement[Any]:
    # JSON as its stored text: decoding and re-encoding would turn SQL NULL into JSON null.
    return cast(column, Text) if _kind(column) == "json" else column


def dump_table(conn: Connection, table: Table, out: Path, advance: Advance | None = None) -> int:
    columns = list(table.columns)
    header = {
        "table": table.name,
        "columns": [c.name for c in columns],
        "kinds": [_kind(c) for c in columns],
    }
    pk = list(table.primary_key.columns) or columns
    stmt = select(*(_readable(c) for c in columns)).order_by(*pk)
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        for row in conn.execution_options(yield_per=BATCH).execute(stmt):
            fh.write(json.dumps([_encode(v) for v in row], ensure_ascii=False) + "\n")
            n += 1
            if advance and n % BATCH == 0:
                advance(BATCH)
    if advance:
        advance(n % BATCH)
    return n


def _rows(path: Path) -> tuple[dict[str, Any], Iterator[list[Any]]]:
    fh = path.open(encoding="utf-8")
    header = json.loads(fh.readline())

    def rows() -> Iterator[list[Any]]:
        with fh:
            for line in fh:
                yield json.loads(line)

    return header, rows()


def load_table(conn: Connection, table: Table, path: Path, advance: Advance | None = None) -> int:
    """Insert a dumped table's rows into ``table`` (which must be empty)."""
    header, rows = _rows(path)
    names: list[str] = header["columns"]
    if set(names) != set(table.columns.keys()):
        raise JiesuError(
            f"table {table.name}: the dump has columns {sorted(names)}, the schema at this "
            f"revision has {sorted(table.columns.keys())}"
        )
    decoders = [DECODE.get(kind) for kind in header["kinds"]]
    postgres = conn.dialect.name == "postgresql"
    # A self-reference may point at a row not inserted yet: NULL first, set once all are in.
    later = [
        c.name
        for c in table.columns
        if any(fk.column.table.name == table.name for fk in c.foreign_keys)
    ]
    pk = [c.name for c in table.primary_key.columns]
    values: dict[str, Any] = {}
    for c in table.columns:
        if _kind(c) == "json":
            bind = bindparam(c.name, type_=Text)
            values[c.name] = cast(bind, c.type) if postgres else bind
        else:
            values[c.name] = bindparam(c.name, type_=c.type)
    insert = table.insert().values(values)
    pending: list[dict[str, Any]] = []
    deferred: list[dict[str, Any]] = []
    n = 0

    def flush() -> None:
        if pending:
            conn.execute(insert, pending)
            if advance:
                advance(len(pending))
            pending.clear()

    for raw in rows:
        row = {
            name: (decode(v) if decode is not None and v is not None else v)
            for name, v, decode in zip(names, raw, decoders, strict=True)
        }
        if later and any(row[c] is not None for c in later):
            deferred.append({f"k_{k}": row[k] for k in pk} | {f"v_{c}": row[c] for c in later})
            row.update({c: None for c in later})
        pending.append(row)
        n += 1
        if len(pending) >= BATCH:
            flush()
    flush()
    if deferred:
        update = (
            table.update()
            .where(*(table.c[k] == bindparam(f"k_{k}") for k in pk))
            .values({c: bindparam(f"v_{c}") for c in later})
        )
        conn.execute(update, deferred)
    return n


def reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Move each id sequence past the loaded ids (PostgreSQL; SQLite tracks them itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        seq = conn.scalar(
            text("SELECT pg_get_serial_sequence(:t, :c)"),
            {"t": f'"{table.name}"', "c": pk[0].name},
        )
        if seq is None:
            continue
        top = conn.scalar(select(func.max(pk[0])).select_from(table))
        conn.execute(
            text("SELECT setval(:seq, :value, :called)"),
            {"seq": seq, "value": top or 1, "called": top is not None},
        )
