"""Helpers of the backup, restore and crash tests: a small city with a history, row counts,
the data dir's own files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from jiesu.db.engine import make_engine
from jiesu.db.migrate import upgrade
from jiesu.ops.backup import count_rows, jiesu_tables
from jiesu.privacy.audit import make_digests
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import make_request, make_world

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


def populate(url: str, requests: int = 12) -> list[str]:
    """A small city with a history: requests with contacts, dispatched ones, notes, digests."""
    Path(make_url(url).database or ".").parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        world = make_world(s, NOW)
        tickets = []
        for i in range(requests):
            at = NOW + timedelta(minutes=i)
            contact = {"name": f"市民{i}", "phone": f"1380000{i:04d}"} if i % 2 else None
            req = make_request(s, world, at, text=f"路灯不亮第{i}天", contact=contact)
            if i % 3 == 0:
                apply_action(
                    s,
                    req,
                    "dispatch",
                    actor=world.actor("disp"),
                    now=at,
                    ctx=world.ctx,
                    params={"unit": "ST-110101001"},
                )
            tickets.append(req.ticket)
        make_digests(s, now=NOW + timedelta(days=3), tz=world.ctx.tz)
        s.commit()
    engine.dispose()
    return tickets


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return count_rows(conn, jiesu_tables(conn))
    finally:
        engine.dispose()


def request_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count(ServiceRequest.id))) or 0)
    finally:
        engine.dispose()


def data_files(data_dir: Path) -> None:
    """The data dir's own files, as the platform writes them (and a warehouse to drop)."""
    files = {
        "models/category/20261101T000000-abc/model.json": '{"labels": ["010101"]}',
        "reports/daily/2026-11-01/report.json": '{"total": 12}',
        "imports/history.csv.rejects.csv": "line,column,reason\n3,area,unknown\n",
        "rates.yaml": "weights: {responded: 0.2, solved: 0.4, satisfied: 0.4}\n",
        "warehouse/state.json": '{"schema": 1}',
    }
    for name, body in files.items():
        (data_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / name).write_text(body, encoding="utf-8")


def tree(data_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(data_dir).as_posix(): p.read_bytes()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and not p.name.startswith("jiesu.db")
    }
