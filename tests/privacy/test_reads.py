"""Every full view of a caller's contact is recorded, in a chain the digests anchor."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token
from jiesu.privacy.audit import make_digests, verify
from jiesu.privacy.models import PersonalDataRead
from jiesu.privacy.reads import Shown, record_reads
from jiesu.workflow.service import apply_action
from privacykit import with_caller

from apiclient import Api
from factories import World, make_world

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.fixture
def world(session: Session, clock: FixedClock) -> World:
    w = make_world(session, clock.now())
    session.commit()
    return w


@pytest.fixture
def client(world: World, db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api(session: Session, world: World, client: TestClient, clock: FixedClock) -> Api:
    tokens = {name: issue_token(session, u, now=clock.now()) for name, u in world.users.items()}
    session.commit()
    return Api(client, tokens, world)


def reads(session: Session) -> list[tuple[int, str, str, str, str, str]]:
    session.expire_all()
    rows = session.scalars(select(PersonalDataRead).order_by(PersonalDataRead.seq))
    return [(r.seq, r.actor, r.role, r.ticket, r.fields, r.purpose) for r in rows]


def test_full_views_in_the_api_are_reads_and_masked_views_are_not(
    api: Api, session: Session, world: World
) -> None:
    body = {"text": "楼下饭店夜里施工", "area": "110101001", "category": "010101"}
    body["contact"] = {"name": "王建国", "phone": "13800138000"}
    created = api.post("/api/v1/requests", "op", json=body)
    assert created.status_code == 201 and created.json()["contact"]["phone"] == "13800138000"
    ticket = created.json()["ticket"]
    assert reads(session) == []  # the answer to a submission only echoes what was sent
    full = api.get(f"/api/v1/requests/{ticket}", "op").json()["contact"]
    assert full["phone"] == "13800138000" and not full["masked"]
    masked = api.get(f"/api/v1/requests/{ticket}", "analyst").json()["contact"]
    assert masked["masked"] and masked["phone"] == "138****8000"
    dispatched = api.post(
        f"/api/v1/requests/{ticket}/dispatch", "disp", json={"unit": "ST-110101001"}
    )
    assert dispatched.json()["contact"]["name"] == "王建国"
    assert api.get(f"/api/v1/requests/{ticket}", "h1").json()["contact"]["masked"]
    assert reads(session) == [
        (1, "op", "operator", ticket, "name,phone", "api.request"),
        (2, "disp", "dispatcher", ticket, "name,phone", "api.action"),
    ]
    report = verify(session, tz=world.ctx.tz)
    assert report.ok and report.reads == 2


def _sign_in(client: TestClient, username: str) -> None:
    r = client.post(
        "/login", data={"username": username, "password": "password-123"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def test_the_request_page_and_the_call_desk_record_what_they_show(
    session: Session, world: World, client: TestClient, clock: FixedClock
) -> None:
    now, ctx = clock.now(), world.ctx
    req = with_caller(session, world, now, {"name": "李", "phone": "13700001111"})
    quiet = with_caller(session, world, now, {"phone": "13700002222"})
    for r in (req, quiet):
        apply_action(
            session,
            r,
            "dispatch",
            actor=world.actor("disp"),
            now=now,
            ctx=ctx,
            params={"unit": "ST-110101001"},
        )
        apply_action(session, r, "accept", actor=world.actor("h1"), now=now, ctx=ctx)
        apply_action(
            session,
            r,
            "reply",
            actor=world.actor("h1"),
            now=now,
            ctx=ctx,
            params={"text": "已责令施工方夜间停工。"},
        )
    session.commit()
    _sign_in(client, "op")
    page = client.get(f"/desk/requests/{req.ticket}")
    assert page.status_code == 200 and "13700001111" in page.text
    desk = client.get("/desk/callbacks")
    assert "13700001111" in desk.text and "13700002222" in desk.text
    got = reads(session)
    assert got[0] == (1, "op", "operator", req.ticket, "name,phone", "web.request")
    assert sorted(g[3:] for g in got[1:]) == sorted(
        [(req.ticket, "name,phone", "web.call_desk"), (quiet.ticket, "phone", "web.call_desk")]
    )
    client.post("/logout", data={"csrf": CSRF.search(desk.text).group(1)})  # type: ignore[union-attr]
    _sign_in(client, "h1")
    assert "13700001111" not in client.get(f"/desk/requests/{req.ticket}").text
    assert len(reads(session)) == 3  # the unit saw it masked: nothing to record


def _three_reads(session: Session, world: World, clock: FixedClock) -> None:
    req = with_caller(session, world, clock.now())
    for who in ("op", "disp", "sup"):
        record_reads(
            session,
            world.actor(who),
            [Shown(req.id, req.ticket, ("name", "phone"))],
            purpose="test",
            at=clock.advance(timedelta(hours=1)),
        )
    session.commit()


def _tamper(session: Session, stmt: object) -> None:
    session.execute(stmt, execution_options={"synchronize_session": False})  # type: ignore[call-overload]
    session.commit()
    session.expire_all()


def test_an_edited_or_deleted_read_breaks_the_chain(
    session: Session, world: World, clock: FixedClock
) -> None:
    _three_reads(session, world, clock)
    assert verify(session, tz=world.ctx.tz).ok
    _tamper(
        session,
        update(PersonalDataRead).where(PersonalDataRead.seq == 2).values(actor="somebody"),
    )
    first = verify(session, tz=world.ctx.tz).breaks[0]
    assert (
        str(first)
        == "personal-data read #2: content does not match its hash (the read was changed)"
    )
    _tamper(session, update(PersonalDataRead).where(PersonalDataRead.seq == 2).values(actor="disp"))
    assert verify(session, tz=world.ctx.tz).ok
    _tamper(session, delete(PersonalDataRead).where(PersonalDataRead.seq == 2))
    first = verify(session, tz=world.ctx.tz).breaks[0]
    assert first.log == "personal-data read" and "expected read #2 here, found #3" in first.problem


def test_the_daily_digest_anchors_the_reads_so_a_deleted_last_read_is_caught(
    session: Session, world: World, clock: FixedClock
) -> None:
    _three_reads(session, world, clock)
    digests = make_digests(session, now=clock.now() + timedelta(days=2), tz=world.ctx.tz)
    session.commit()
    assert digests and digests[-1].request_count == 1  # the read line is not a request
    assert verify(session, tz=world.ctx.tz).ok
    # Without the digest, removing the newest read leaves a consistent chain behind.
    _tamper(session, delete(PersonalDataRead).where(PersonalDataRead.seq == 3))
    report = verify(session, tz=world.ctx.tz)
    assert report.reads == 2 and [b.problem for b in report.breaks] == [
        "daily digest does not match the events of that day (history of that day was rewritten)"
    ]


def test_reads_recorded_at_the_same_moment_still_form_one_chain(
    session: Session, world: World, clock: FixedClock, db_engine: Engine
) -> None:
    """Eight clerks open contacts at once, each in their own transaction: the chain lock makes
    them queue instead of forking the chain (PostgreSQL; SQLite's writers queue in deps.write)."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the server queues them (deps.write)")
    req = with_caller(session, world, clock.now())
    session.commit()
    start = threading.Barrier(8)

    def clerk(who: str) -> None:
        with Session(db_engine) as s:
            start.wait()
            record_reads(
                s,
                world.actor(who),
                [Shown(req.id, req.ticket, ("phone",))],
                purpose="test",
                at=clock.now(),
            )
            time.sleep(0.05)  # hold the transaction open, as a page being rendered would
            s.commit()

    threads = [
        threading.Thread(target=clerk, args=(w,)) for w in ("op", "disp", "sup", "admin") * 2
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[0] for r in reads(session)] == list(range(1, 9))
    report = verify(session, tz=world.ctx.tz)
    assert report.ok and report.reads == 8


def test_the_reads_command_lists_who_saw_whom(
    session: Session,
    world: World,
    clock: FixedClock,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from jiesu.cli import app

    _three_reads(session, world, clock)
    ticket = session.scalars(select(PersonalDataRead.ticket)).first()
    session.close()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    listed = runner.invoke(app, ["privacy", "reads", "--ticket", str(ticket).lower()])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["#3", "#2", "#1"]  # newest first
    assert "sup (supervisor)" in lines[0] and f"{ticket}  name,phone  test" in lines[0]
    by_user = runner.invoke(app, ["privacy", "reads", "--user", "disp"])
    assert by_user.output.split()[0] == "#2" and len(by_user.output.strip().splitlines()) == 1
    none = runner.invoke(app, ["privacy", "reads", "--user", "nobody"])
    assert none.exit_code == 0 and "no reads recorded" in none.output
