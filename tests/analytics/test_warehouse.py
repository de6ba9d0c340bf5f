"""The warehouse copies what the operational database holds, incrementally, and survives a
lost or damaged month and an interrupted refresh."""

from __future__ import annotations

import fcntl
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from analyticskit import History
from jiesu.analytics.warehouse import Warehouse
from jiesu.errors import Conflict
from jiesu.workflow.models import Event, ServiceRequest


def _counts(h: History) -> tuple[int, int]:
    with h.wh.connect() as con:
        reqs = con.execute("SELECT count(*), count(DISTINCT id) FROM requests").fetchone()
        evs = con.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    assert reqs is not None and evs is not None
    assert reqs[0] == reqs[1] and evs[0] == evs[1], "a row was copied twice"
    return int(reqs[0]), int(evs[0])


def _db_counts(h: History) -> tuple[int, int]:
    s = h.session
    return (
        int(s.scalar(select(func.count()).select_from(ServiceRequest)) or 0),
        int(s.scalar(select(func.count()).select_from(Event)) or 0),
    )


def test_refresh_copies_everything_with_places_and_categories_resolved(history: History) -> None:
    result = history.wh.refresh(history.session, now=history.clock.now())
    assert result.full and result.requests == 15
    assert result.months == ["2026-10", "2026-11"]
    assert _counts(history) == _db_counts(history)
    first = history.requests[0]
    with history.wh.connect() as con:
        row = con.execute(
            "SELECT r.day, d.name, s.name, c1.code, c3.code, r.channel FROM requests r "
            "JOIN areas d ON d.id = r.district_id JOIN areas s ON s.id = r.street_id "
            "JOIN categories c1 ON c1.id = r.cat1_id JOIN categories c3 ON c3.id = r.cat3_id "
            "WHERE r.id = ?",
            [first.id],
        ).fetchone()
        # A district-level request has no street.
        no_street = con.execute(
            "SELECT street_id, district_id IS NOT NULL FROM requests WHERE id = ?",
            [history.requests[4].id],
        ).fetchone()
    assert row is not None
    assert (str(row[0]), row[1], row[2], row[3], row[4], row[5]) == (
        "2026-10-05",
        "东城区",
        "东华门街道",
        "01",
        "010101",
        "phone",
    )
    assert no_street == (None, True)


def test_incremental_refresh_copies_only_what_changed(history: History) -> None:
    h = history
    h.wh.refresh(h.session, now=h.clock.now())
    # Later: one old request changes, one new one arrives.
    h.clock.advance(timedelta(hours=3))
    old = h.requests[1]
    h.act(old, "mark_invalid", "op", reason="重复来电")
    from factories import make_request

    make_request(h.session, h.world, h.clock.now(), text="新的噪音投诉", channel="web")
    h.session.commit()
    result = h.wh.refresh(h.session, now=h.clock.now())
    assert not result.full
    assert result.requests == 2
    assert result.months == ["2026-10", "2026-12"]
    assert _counts(h) == _db_counts(h)
    with h.wh.connect() as con:
        status = con.execute("SELECT status FROM requests WHERE id = ?", [old.id]).fetchone()
    assert status == ("invalid_pending",)
    # Rows changed within the safety margin before a refresh are copied once more (a writer
    # might still have been committing); after that, nothing changed means nothing is copied.
    margin = h.wh.refresh(h.session, now=h.clock.now() + timedelta(minutes=5))
    assert margin.requests == 2
    h.wh.refresh(h.session, now=h.clock.now() + timedelta(hours=1))
    again = h.wh.refresh(h.session, now=h.clock.now() + timedelta(hours=2))
    assert again.requests == 0 and again.events == 0
    assert _counts(h) == _db_counts(h)


def test_a_damaged_or_missing_month_is_rebuilt_from_the_database(history: History) -> None:
    h = history
    h.wh.refresh(h.session, now=h.clock.now())
    h.wh.partition("requests", "2026-10").write_bytes(b"not a parquet file")
    h.wh.partition("events", "2026-11").unlink()
    with pytest.raises(Exception):  # noqa: B017 - DuckDB's own error for a bad file
        _counts(h)
    result = h.wh.refresh(h.session, now=h.clock.now() + timedelta(hours=1))
    assert sorted(result.rebuilt) == ["events/2026-11", "requests/2026-10"]
    assert _counts(h) == _db_counts(h)


def test_an_interrupted_refresh_is_run_again_safely(history: History) -> None:
    h = history
    h.wh.refresh(h.session, now=h.clock.now())
    # A refresh that died before saving its watermark: the next one starts over from the
    # previous watermark (here: none) and merges by id, so nothing is doubled.
    h.wh.state_path.unlink()
    result = h.wh.refresh(h.session, now=h.clock.now())
    assert result.full
    assert _counts(h) == _db_counts(h)
    # Leftover temporary files from a crash are not read as data.
    (h.wh.partition("requests", "2026-10").parent / ".data.999.tmp").write_bytes(b"half")
    assert _counts(h) == _db_counts(h)


def test_two_refreshes_at_once_are_refused(history: History) -> None:
    h = history
    h.wh.root.mkdir(parents=True, exist_ok=True)
    with (h.wh.root / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(Conflict, match="another analytics refresh"):
            h.wh.refresh(h.session, now=h.clock.now())


def test_an_empty_warehouse_reads_as_empty_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Warehouse(tmp_path / "none").connect() as con:
        assert con.execute("SELECT count(*) FROM requests").fetchone() == (0,)
        assert "district_id" in [d[0] for d in con.execute("DESCRIBE requests").fetchall()]
