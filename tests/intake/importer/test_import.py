"""Bulk import of history: formats, encodings, rejects, idempotency, resume, history events."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from jiesu.city.models import Category, HandlingUnit
from jiesu.errors import BadInput
from jiesu.intake.importer.mapping import load_mapping, parse_mapping
from jiesu.intake.importer.service import import_file
from jiesu.kit.clock import FixedClock
from jiesu.privacy.audit import verify
from jiesu.workflow.models import Event, ServiceRequest

from factories import make_world

HEADER = ["id", "opened", "title", "body", "type", "dept", "state", "due", "closed", "note"]
ROWS = [
    ["A1", "2026-03-01 09:00:00", "路灯不亮", "小区门口路灯坏了", "噪音扰民", "市城市管理委员会",
     "Closed", "2026-03-08 18:00:00", "2026-03-02 10:00:00", "已修复"],
    ["A2", "2026-03-02 10:30:00", "井盖缺失", "路口井盖丢了", "Sidewalk Repair", "Public Works",
     "Open", "2026-03-05 18:00:00", "", ""],
    ["A3", "not a time", "坏行", "x", "噪音扰民", "", "Closed", "", "", ""],
    ["", "2026-03-03 08:00:00", "无编号", "y", "噪音扰民", "", "Closed", "", "", ""],
    ["A5", "2026-03-04 08:00:00", "状态怪", "z", "噪音扰民", "", "Weird", "", "", ""],
]  # fmt: skip
MAPPING = {
    "name": "city-x",
    "timezone": "Asia/Shanghai",
    "time_format": "%Y-%m-%d %H:%M:%S",
    "columns": {
        "id": "id", "received_at": "opened", "title": "title", "text": ["body", "title"],
        "category": "type", "unit": "dept", "status": "state", "handling_due": "due",
        "closed_at": "closed", "close_note": "note",
    },
    "status_map": {"Open": "dispatched", "Closed": "closed"},
}  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def sessions(session: Session, db_engine: Engine, clock: FixedClock) -> sessionmaker[Session]:
    make_world(session, clock.now())
    session.commit()
    return sessionmaker(db_engine, expire_on_commit=False)


def run(sessions: sessionmaker[Session], path: Path, tmp_path: Path, clock: FixedClock, **kw):
    return import_file(
        sessions, path, parse_mapping(MAPPING, "test"), clock=clock,
        rejects_path=tmp_path / "rejects.csv", **kw,
    )  # fmt: skip


def count(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(ServiceRequest.id))) or 0


def test_csv_loads_good_rows_and_rejects_bad_ones(
    sessions: sessionmaker[Session], session: Session, tmp_path: Path, clock: FixedClock
) -> None:
    report = run(sessions, write_csv(tmp_path / "h.csv", ROWS), tmp_path, clock)
    assert (report.read, report.loaded, report.rejected) == (5, 2, 3)
    rejects = list(csv.DictReader((tmp_path / "rejects.csv").open(encoding="utf-8")))
    assert [(r["line"], r["column"]) for r in rejects] == [
        ("4", "opened"),
        ("5", "id"),
        ("6", "state"),
    ]
    assert "not a time" in rejects[0]["reason"] and "status_map" in rejects[2]["reason"]
    a1 = session.scalar(
        select(ServiceRequest).where(ServiceRequest.source_key == "import:city-x:A1")
    )
    assert a1 is not None and a1.status == "closed" and a1.category.code == "010101"
    assert a1.lead_unit.code == "CB-CGW" and a1.closed_at is not None
    kinds = [
        e.kind
        for e in session.scalars(select(Event).where(Event.request_id == a1.id).order_by(Event.seq))
    ]
    assert kinds == ["received", "history_dispatch", "history_close"]
    # Unknown category and unit from history are created, and the summary says so.
    assert any("Sidewalk Repair" in c for c in report.summary["created_categories"])
    assert any("Public Works" in u for u in report.summary["created_units"])
    a2 = session.scalar(
        select(ServiceRequest).where(ServiceRequest.source_key == "import:city-x:A2")
    )
    assert a2.status == "dispatched" and a2.lead_unit.name == "Public Works"
    assert verify(
        session, tz=a1.received_at.tzinfo and __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    ).ok


def test_rerun_adds_nothing(
    sessions: sessionmaker[Session], session: Session, tmp_path: Path, clock: FixedClock
) -> None:
    path = write_csv(tmp_path / "h.csv", ROWS)
    run(sessions, path, tmp_path, clock)
    before = count(session)
    again = run(sessions, path, tmp_path, clock)
    assert (again.loaded, again.present, count(session)) == (0, 2, before)
    categories = session.scalar(select(func.count(Category.id)))
    units = session.scalar(select(func.count(HandlingUnit.id)))
    run(sessions, path, tmp_path, clock)
    assert session.scalar(select(func.count(Category.id))) == categories
    assert session.scalar(select(func.count(HandlingUnit.id))) == units


def test_killed_midway_resumes_without_duplicates_or_loss(
    sessions: sessionmaker[Session], session: Session, tmp_path: Path, clock: FixedClock
) -> None:
    rows = [
        [f"K{i}", "2026-03-01 09:00:00", f"第{i}件", "内容", "噪音扰民", "", "Closed", "", "", ""]
        for i in range(1, 251)
    ]
    path = write_csv(tmp_path / "big.csv", rows)

    def die(done: int) -> None:
        if done >= 180:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(sessions, path, tmp_path, clock, batch=50, progress=die)
    partial = count(session)
    assert 0 < partial < 250  # whole batches landed, the open one was rolled back
    report = run(sessions, path, tmp_path, clock, batch=50)
    assert report.present == partial and report.loaded == 250 - partial
    assert count(session) == 250


def test_dry_run_loads_nothing(
    sessions: sessionmaker[Session], session: Session, tmp_path: Path, clock: FixedClock
) -> None:
    report = run(sessions, write_csv(tmp_path / "h.csv", ROWS), tmp_path, clock, dry_run=True)
    assert report.loaded == 2 and report.rejected == 3 and report.run_id is None
    assert count(session) == 0
    assert not session.scalar(select(HandlingUnit).where(HandlingUnit.name == "Public Works"))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_encodings_are_detected(
    sessions: sessionmaker[Session], tmp_path: Path, clock: FixedClock, encoding: str
) -> None:
    path = write_csv(tmp_path / "h.csv", ROWS[:2], encoding=encoding)
    report = run(sessions, path, tmp_path, clock)
    assert report.loaded == 2


def test_gzip_xlsx_and_jsonl(
    sessions: sessionmaker[Session], session: Session, tmp_path: Path, clock: FixedClock
) -> None:
    from openpyxl import Workbook

    plain = write_csv(tmp_path / "h.csv", ROWS[:1])
    gz = tmp_path / "g.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes().replace(b"A1", b"G1")))
    assert run(sessions, gz, tmp_path, clock).loaded == 1
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["X1", *ROWS[0][1:]])
    book.save(tmp_path / "h.xlsx")
    assert run(sessions, tmp_path / "h.xlsx", tmp_path, clock).loaded == 1
    lines = [json.dumps(dict(zip(HEADER, ["J1", *ROWS[0][1:]], strict=True)), ensure_ascii=False),
             "{not json", ""]  # fmt: skip
    (tmp_path / "h.jsonl").write_text("\n".join(lines), encoding="utf-8")
    report = run(sessions, tmp_path / "h.jsonl", tmp_path, clock)
    assert (report.loaded, report.rejected) == (1, 1)
    assert count(session) == 3


def test_builtin_mappings_parse() -> None:
    for name in ("boston311", "nyc311", "open311", "gov-messages"):
        assert load_mapping(name).name == name
    with pytest.raises(BadInput, match="neither a file nor a built-in"):
        load_mapping("nope")
    with pytest.raises(BadInput, match=r"columns\.received_at is required"):
        parse_mapping({"columns": {"id": "x", "text": "y"}}, "m.yaml")
    with pytest.raises(BadInput, match=r"status_map\.Open"):
        parse_mapping({**MAPPING, "status_map": {"Open": "flying"}}, "m.yaml")


def test_gov_messages_layout(
    sessions: sessionmaker[Session], session: Session, tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "msgs.csv"
    path.write_text(
        "留言编号,留言用户,留言主题,留言时间,留言详情,一级分类,答复意见,答复时间\n"
        '7,U1,楼下噪音,2019/4/25 9:32:09,"\n\t\t夜里施工噪音大\n\t",城乡建设,已责成整改,2019/5/9\n'
        "8,U2,咨询,2019-04-26 10:00:00,请问如何办理,城乡建设,,\n",
        encoding="utf-8",
    )
    report = import_file(sessions, path, load_mapping("gov-messages"), clock=clock,
                         rejects_path=tmp_path / "r.csv")  # fmt: skip
    assert (report.loaded, report.rejected) == (2, 0)
    seven = session.scalar(
        select(ServiceRequest).where(ServiceRequest.source_key == "import:gov-messages:7")
    )
    assert seven.status == "closed" and seven.text == "夜里施工噪音大"
    assert seven.category.code == "01" and seven.replied_at is not None
    assert seven.channel == "web"
    eight = session.scalar(
        select(ServiceRequest).where(ServiceRequest.source_key == "import:gov-messages:8")
    )
    assert eight.status == "received"


def test_a_former_unit_name_lands_on_todays_unit(
    sessions: sessionmaker[Session], session: Session, tmp_path: Path, clock: FixedClock
) -> None:
    water = session.scalar(select(HandlingUnit).where(HandlingUnit.code == "PS-WATER"))
    assert water is not None
    water.aliases = ["Public Works"]
    session.commit()
    report = run(sessions, write_csv(tmp_path / "h.csv", ROWS[:2]), tmp_path, clock)
    assert report.loaded == 2 and report.summary["created_units"] == []
    a2 = session.scalar(
        select(ServiceRequest).where(ServiceRequest.source_key == "import:city-x:A2")
    )
    assert a2 is not None and a2.lead_unit.code == "PS-WATER"
