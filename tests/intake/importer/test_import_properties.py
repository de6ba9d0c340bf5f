"""Whatever a history file holds, each row loads or is rejected with its column and reason,
and a file that cannot be read at all is refused naming the file or its encoding: never an
exception the import did not foresee (which would stop a run of a million rows midway).
Property-based over mappings, rows of every built-in mapping, raw file bytes and whole
imports on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from jiesu.errors import BadInput
from jiesu.intake.importer.mapping import FIELDS, builtin_names, load_mapping, parse_mapping
from jiesu.intake.importer.readers import read_rows
from jiesu.intake.importer.rows import RowError, RowReader, SourceRow
from jiesu.intake.importer.service import import_file
from jiesu.intake.schemas import MAX_TEXT, RequestIn
from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.transitions import STATUSES

from factories import make_world

MAPPINGS = {name: load_mapping(name) for name in builtin_names()}

# What a cell can hold once a reader has it: CSV gives text, XLSX numbers, dates and
# booleans, JSON anything at all.
texts = st.text(max_size=40) | st.sampled_from(["", " ", "\x00", "Open", "Closed", "0", "nan"])
times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
time_texts = times.map(lambda t: t.strftime("%Y-%m-%d %H:%M:%S")) | times.map(datetime.isoformat)
scalars = (
    texts
    | time_texts
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.none()
    | times
    | st.dates()
    | st.times()
)
cells = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
long_texts = st.sampled_from(["x" * (MAX_TEXT + 1), "长" * 300, "9" * 250])


@st.composite
def rows_for(draw: st.DrawFn, mapping_name: str) -> dict[str, Any]:
    columns = sorted(MAPPINGS[mapping_name].source_columns())
    row = draw(st.dictionaries(st.sampled_from(columns), cells | long_texts, max_size=12))
    # Most rows carry an id and a time, so the later checks are reached too.
    if draw(st.booleans()):
        mapping = MAPPINGS[mapping_name]
        row.setdefault(mapping.columns["id"][0], draw(texts | st.integers()))
        row.setdefault(mapping.columns["received_at"][0], draw(time_texts))
    return row


def _check(src: SourceRow) -> None:
    assert src.id and src.text and len(src.text) <= MAX_TEXT
    assert src.received_at.tzinfo is not None and src.status in STATUSES
    assert (src.lat is None) == (src.lon is None)
    for value, limit in ((src.lat, 90), (src.lon, 180)):
        assert value is None or (math.isfinite(value) and -limit <= value <= limit)


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_any_row_reads_or_names_its_column(name: str) -> None:
    reader = RowReader(MAPPINGS[name])
    known = MAPPINGS[name].source_columns() | {"line", "text"}

    @given(rows_for(name))
    @settings(max_examples=150, deadline=None)
    def read(row: dict[str, Any]) -> None:
        try:
            src = reader.read(row)
        except RowError as exc:
            assert exc.column in known and exc.reason, (exc.column, exc.reason)
        else:
            _check(src)

    read()


mapping_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
mapping_fields = st.sampled_from([*FIELDS, "bogus"]) | st.integers()
OPTIONAL = (
    "name", "timezone", "time_format", "status_map", "channel_map", "category_map", "unit_map",
    "keep", "channel", "status_default", "status_when_replied", "closed_at_only_when_closed",
    "description",
)  # fmt: skip
raw_mappings = st.fixed_dictionaries(
    {"columns": st.dictionaries(mapping_fields, mapping_values | st.text(max_size=8))},
    optional={
        key: mapping_values | st.sampled_from(["UTC", "Asia/Shanghai", "", "closed", "bogus"])
        for key in OPTIONAL
    },
)


@given(raw_mappings | mapping_values)
@example({"columns": {"id": "a", "received_at": "b", "text": "c"}, "status_map": ["Open"]})
@example({"columns": {"id": "a", "received_at": "b", "text": "c"}, "keep": 3})
@example({"columns": {1: "a"}})
@example({"columns": {"id": "a", "received_at": "b", "text": "c"}, "status_default": "bogus"})
@settings(max_examples=300, deadline=None)
def test_any_mapping_parses_or_is_refused_naming_it(raw: Any) -> None:
    try:
        m = parse_mapping(raw, "city-x.yaml")
    except BadInput as exc:
        assert exc.fields[0]["field"] == "mapping" and "city-x.yaml" in exc.message
    else:
        assert {"id", "received_at"} <= set(m.columns) and set(m.columns) <= set(FIELDS)
        assert m.status_default in STATUSES and set(m.status_map.values()) <= set(STATUSES)
        assert m.status_when_replied is None or m.status_when_replied in STATUSES


SUFFIXES = [".csv", ".tsv", ".csv.gz", ".jsonl", ".json", ".xlsx"]
contents = (
    st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | st.text(max_size=100).map(lambda t: t.encode("gb18030", errors="replace"))
    | st.lists(st.dictionaries(st.text(max_size=5), cells, max_size=3), max_size=4).map(
        lambda rows: "\n".join(json.dumps(r, default=str) for r in rows).encode()
    )
    | st.integers(min_value=1, max_value=5000).map(lambda n: b"[" * n)
    | st.integers(min_value=1, max_value=3).map(lambda n: b'id,"' + b"x" * (200_000 * n) + b'"\n')
)


@given(st.sampled_from(SUFFIXES), contents)
@example(".json", b"[1, 2")
@example(".jsonl", b"\xff\xfe{}")
@example(".json", b"[" * 5000)
@example(".csv", b'a,b\n"' + b"x" * 200_000 + b'"\n')
@example(".xlsx", b"not a zip")
@example(".csv.gz", b"not gzip")
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_file_gives_rows_or_is_refused_naming_it(
    tmp_path: Path, suffix: str, content: bytes
) -> None:
    path = tmp_path / f"history{suffix}"
    path.write_bytes(content)
    try:
        for line, row in read_rows(path):
            assert isinstance(line, int) and isinstance(row, dict)
    except BadInput as exc:
        assert exc.fields[0]["field"] in ("file", "encoding") and path.name in exc.message


@pytest.fixture
def sessions(session: Session, db_engine: Engine, clock: FixedClock) -> sessionmaker[Session]:
    make_world(session, clock.now())
    session.commit()
    return sessionmaker(db_engine, expire_on_commit=False)


MAPPING = parse_mapping(
    {
        "name": "city-x",
        "timezone": "Asia/Shanghai",
        "columns": {"id": "id", "received_at": "at", "text": "text", "lat": "lat", "lon": "lon"},
    },
    "city-x.yaml",
)
import_rows = st.lists(
    st.fixed_dictionaries(
        {"id": texts | long_texts, "at": time_texts | texts},
        optional={"text": texts | long_texts, "lat": cells, "lon": cells},
    ),
    min_size=1,
    max_size=5,
)


def test_an_import_of_any_rows_loads_or_rejects_each_and_never_stops(
    sessions: sessionmaker[Session], clock: FixedClock, tmp_path: Path
) -> None:
    @given(import_rows)
    @example([{"id": "a\x00b", "at": "2026-03-01T09:00:00", "text": "nul \x00 in the text"}])
    @example([{"id": "9" * 250, "at": "2026-03-01T09:00:00", "text": "a very long source id"}])
    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    def run(rows: list[dict[str, Any]]) -> None:
        path = tmp_path / "history.jsonl"
        path.write_text("\n".join(json.dumps(r, default=str) for r in rows), encoding="utf-8")
        with sessions() as s:
            before = s.scalar(select(func.count()).select_from(ServiceRequest))
        report = import_file(
            sessions, path, MAPPING, clock=clock, rejects_path=tmp_path / "rejects.csv"
        )
        assert report.read == len(rows)
        assert report.loaded + report.present + report.rejected == report.read
        with sessions() as s:
            after = s.scalar(select(func.count()).select_from(ServiceRequest))
        assert after == before + report.loaded

    run()


def test_a_loaded_row_is_a_valid_request() -> None:
    # What the reader accepts, submit_request accepts: no row fails later on a field check.
    reader = RowReader(MAPPING)

    @given(import_rows.map(lambda rows: rows[0]))
    @settings(max_examples=200, deadline=None)
    def build(row: dict[str, Any]) -> None:
        try:
            src = reader.read(row)
        except RowError:
            return
        RequestIn(
            channel=src.channel, text=src.text, title=src.title, address=src.address,
            lat=src.lat, lon=src.lon, received_at=src.received_at,
            source_key=f"import:{MAPPING.name}:{src.id}",
        )  # fmt: skip

    build()
