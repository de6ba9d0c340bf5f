"""The on-time arithmetic on real data: a sample of Boston's 2015 export against its own labels.

The full comparison (all 121,145 rows, 0.205 pp at most) is in docs/rates.md; this imports
every 50th row so that it runs in seconds, and checks the accounting exactly: per department
Jiesu counts the same requests, agrees with every labelled row but at most one judged at a
slightly different moment, and calls every unlabelled row overdue.
"""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jiesu.intake.importer.mapping import load_mapping
from jiesu.intake.importer.service import import_file
from jiesu.kit.clock import FixedClock
from jiesu.rates.check import compare
from jiesu.rates.query import build_query

from factories import make_world

BOSTON = Path(os.environ.get("JIESU_SHARED", "/work/shared")) / "data" / "boston311_2015.csv.gz"
EVERY = 50

pytestmark = pytest.mark.skipif(
    not BOSTON.exists(), reason=f"shared Boston 311 export not available ({BOSTON})"
)


def sample(path: Path) -> Path:
    with gzip.open(BOSTON, "rt", encoding="utf-8", newline="") as src:
        reader = csv.DictReader(src)
        assert reader.fieldnames is not None
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
            writer.writeheader()
            for i, row in enumerate(reader):
                if i % EVERY == 0:
                    writer.writerow(row)
    return path


def test_boston_sample_on_time_matches_its_labels(
    session: Session, db_engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    make_world(session, clock.now())
    session.commit()
    path = sample(tmp_path / "boston-sample.csv")
    mapping = load_mapping("boston311")
    report = import_file(
        sessionmaker(db_engine, expire_on_commit=False),
        path,
        mapping,
        clock=clock,
        rejects_path=tmp_path / "rejects.csv",
    )
    assert report.rejected == 0
    q = build_query(session, as_of=clock.now(), period="2015", by="department")
    result = compare(
        session, path, mapping, q, column="OnTime_Status", on_time="ONTIME", late="OVERDUE"
    )
    assert result.rows_in_period > 2000
    for r in result.rows:
        assert r.jiesu_n == r.file_labelled + r.file_unlabelled, r
        file_late = r.file_labelled - r.file_on_time
        jiesu_late = r.jiesu_n - r.jiesu_on_time
        assert 0 <= jiesu_late - file_late - r.file_unlabelled <= 1, r
        if r.file_labelled >= 200:
            assert r.difference_pp is not None and abs(r.difference_pp) <= 0.5, r
