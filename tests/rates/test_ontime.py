"""On-time statistics: the rule, imported-history rows, and the check against a file's labels."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jiesu.intake.importer.mapping import parse_mapping
from jiesu.intake.importer.service import import_file
from jiesu.kit.clock import FixedClock
from jiesu.rates.check import compare
from jiesu.rates.compute import rates_report
from jiesu.rates.ontime import ontime_status
from jiesu.rates.query import build_query

from factories import make_world

DUE = datetime(2026, 3, 5, 10, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("due", "done", "as_of", "status"),
    [
        (None, None, DUE, "no_target"),
        (None, DUE + H, DUE, "no_target"),
        (DUE, DUE, DUE + H, "done_on_time"),  # on the deadline is on time
        (DUE, DUE + H, DUE, "done_late"),
        (DUE, None, DUE + H, "open_overdue"),
        (DUE, None, DUE, "open_not_due"),  # due this very moment: not yet overdue
    ],
)
def test_status_rule(
    due: datetime | None, done: datetime | None, as_of: datetime, status: str
) -> None:
    assert ontime_status(due, done, as_of) == status


HEADER = ["id", "opened", "title", "dept", "state", "due", "closed", "label"]
# Times are Beijing local. The latest historical time in the file is P2's close, 03-10 10:00:
# that is the export's snapshot, the moment open rows are judged at.
ROWS = [
    ["P1", "2026-03-01 09:00:00", "a", "Public Works", "Closed", "2026-03-05 18:00:00",
     "2026-03-02 10:00:00", "ONTIME"],   # done before the target
    ["P2", "2026-03-01 09:00:00", "b", "Public Works", "Closed", "2026-03-05 18:00:00",
     "2026-03-10 10:00:00", "OVERDUE"],  # done after it
    ["P3", "2026-03-02 09:00:00", "c", "Public Works", "Closed", "", "2026-03-03 10:00:00",
     "ONTIME"],                          # no target
    ["P4", "2026-03-04 09:00:00", "d", "Public Works", "Open", "2026-03-08 18:00:00", "",
     "OVERDUE"],                         # open, target before the snapshot
    ["P5", "2026-03-09 09:00:00", "e", "Public Works", "Open", "2026-03-20 18:00:00", "",
     "ONTIME"],                          # open, target after the snapshot (not after today)
    ["P6", "2026-03-09 09:00:00", "f", "Public Works", "Open", "", "", "ONTIME"],
    ["P7", "2026-03-03 09:00:00", "g", "Parks", "Closed", "2026-03-04 18:00:00",
     "2026-03-06 10:00:00", ""],         # late, but the file gives no label
    ["P8", "2026-02-27 09:00:00", "h", "Parks", "Closed", "2026-03-04 18:00:00",
     "2026-03-06 10:00:00", "OVERDUE"],  # received in February: outside the period
]  # fmt: skip
MAPPING = {
    "name": "city-x",
    "timezone": "Asia/Shanghai",
    "time_format": "%Y-%m-%d %H:%M:%S",
    "columns": {"id": "id", "received_at": "opened", "title": "title", "text": "title",
                "unit": "dept", "status": "state", "handling_due": "due", "closed_at": "closed"},
    "status_map": {"Open": "dispatched", "Closed": "closed"},
    "keep": ["label"],
}  # fmt: skip


@pytest.fixture
def imported(session: Session, db_engine: Engine, clock: FixedClock, tmp_path: Path) -> Path:
    make_world(session, clock.now())
    session.commit()
    path = tmp_path / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(ROWS)
    report = import_file(
        sessionmaker(db_engine, expire_on_commit=False),
        path,
        parse_mapping(MAPPING, "test"),
        clock=clock,
        rejects_path=tmp_path / "rejects.csv",
    )
    assert report.loaded == len(ROWS)
    return path


def test_imported_history_on_time_shares(
    imported: Path, session: Session, clock: FixedClock
) -> None:
    # Judged in November 2026: without the snapshot rule P5 would count as overdue.
    q = build_query(session, as_of=clock.now(), period="2026-03", by="department")
    r = rates_report(session, q)
    works = next(x for x in r.rows if x.name == "Public Works").ontime
    assert works is not None
    # P1, P3, P5, P6 on time; P2 done late; P4 open past its target: 4 / 6.
    assert (works.n, works.on_time, works.no_target) == (6, 4, 2)
    assert (works.done_on_time, works.done_late, works.open_overdue, works.open_not_due) == (
        1,
        1,
        1,
        1,
    )
    assert works.share == pytest.approx(4 / 6, abs=1e-6)
    assert works.closed_share == 0.5  # strict reading: P1 of P1, P2
    assert r.import_snapshots == {"city-x": datetime(2026, 3, 10, 2, tzinfo=UTC)}
    parks = next(x for x in r.rows if x.name == "Parks").ontime
    assert parks is not None and (parks.n, parks.share) == (1, 0.0)  # P8 is February's
    # Imported history has no call-backs: no resolution, satisfaction or score.
    assert r.total.rates.score is None and r.total.counts["assessed"] == 5


def test_check_against_the_files_own_labels(
    imported: Path, session: Session, clock: FixedClock
) -> None:
    q = build_query(session, as_of=clock.now(), period="2026-03", by="unit")
    result = compare(
        session,
        imported,
        parse_mapping(MAPPING, "test"),
        q,
        column="label",
        on_time="ONTIME",
        late="OVERDUE",
    )
    rows = {r.source_unit: r for r in result.rows}
    works, parks = rows["Public Works"], rows["Parks"]
    assert (works.file_labelled, works.file_share, works.difference_pp) == (6, 0.666667, 0.0)
    # Parks' only March row has no label in the file: nothing to compare, and it says so.
    assert (parks.file_labelled, parks.file_unlabelled, parks.difference_pp) == (0, 1, None)
    assert result.rows_in_period == 7 and result.within_tolerance
    assert result.max_abs_difference_pp == 0.0
