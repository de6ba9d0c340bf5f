"""Purging old personal data keeps the anonymised case, its rates and a valid audit chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.kit.clock import FixedClock
from jiesu.privacy import purge
from jiesu.privacy.audit import make_digests, verify
from jiesu.privacy.models import EventRedaction, PrivacyPurge
from jiesu.privacy.retention import parse_age
from jiesu.rates.compute import rates_report
from jiesu.rates.query import build_query
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.service import apply_action
from privacykit import raw_contacts, with_caller

from factories import World, make_request, make_world

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
LONG_AGO = datetime(2022, 3, 7, 1, 30, tzinfo=UTC)  # a Monday, four and a half years back
TEXT = "我是王建国，电话13800138000，东华门大街12号3单元501门口路灯坏了一周"
REPLY = "已联系王建国先生（138 0013 8000），路灯已修复，车牌京A12345的车辆已挪走"


@dataclass
class Cases:
    world: World
    old: ServiceRequest  # closed in 2022, with the caller's data everywhere
    nameless: ServiceRequest  # closed in 2022, the caller left no contact
    open_old: ServiceRequest  # received in 2022, still being handled
    recent: ServiceRequest  # answered last month

    def act(
        self,
        session: Session,
        req: ServiceRequest,
        action: str,
        who: str,
        at: datetime,
        **params: Any,
    ) -> None:
        apply_action(
            session,
            req,
            action,
            actor=self.world.actor(who),
            now=at,
            ctx=self.world.ctx,
            params=params,
        )


@pytest.fixture
def cases(session: Session) -> Cases:
    world = make_world(session, LONG_AGO)
    t = FixedClock(LONG_AGO)
    old = with_caller(
        session,
        world,
        t.now(),
        text=TEXT,
        address="东华门大街12号3单元501",
        lat=39.912345,
        lon=116.403219,
    )
    nameless = make_request(session, world, t.now(), text="路灯不亮")
    open_old = with_caller(session, world, t.now(), {"name": "赵六", "phone": "13600001111"})
    c = Cases(world, old, nameless, open_old, old)
    for req in (old, nameless):
        c.act(session, req, "dispatch", "disp", t.now(), unit="ST-110101001")
        c.act(session, req, "accept", "h1", t.advance(timedelta(hours=2)))
        c.act(session, req, "reply", "h1", t.advance(timedelta(days=1)), text=REPLY)
        c.act(session, req, "note", "op", t.advance(timedelta(hours=1)), text="王建国又来电")
        c.act(
            session,
            req,
            "call_back",
            "op",
            t.advance(timedelta(days=1)),
            solved=True,
            satisfaction="satisfied",
            note="回拨13800138000，王建国表示满意",
        )
        c.act(session, req, "close", "op", t.advance(timedelta(minutes=20)))
    c.act(session, open_old, "dispatch", "disp", t.now(), unit="ST-110101001")
    recent_at = NOW - timedelta(days=20)
    c.recent = with_caller(session, world, recent_at, {"name": "钱七", "phone": "13500002222"})
    c.act(session, c.recent, "answer", "op", recent_at, text="请拨打13500002222以外的热线")
    session.commit()
    make_digests(session, now=NOW, tz=world.ctx.tz)
    session.commit()
    assert verify(session, tz=world.ctx.tz).ok
    return c


def cutoff_3y(c: Cases) -> datetime:
    return parse_age("3y").cutoff(NOW, c.world.ctx.tz)


def run_purge(session: Session, c: Cases, *, batch: int = 1) -> PrivacyPurge:
    """As the command does it: a run recorded, batches committed one by one, then sealed."""
    run = purge.start(session, actor="cli:test", older_than="3y", cutoff=cutoff_3y(c), now=NOW)
    session.commit()
    last: int | None = 0
    while last is not None:
        last = purge.purge_batch(session, run, now=NOW, after_id=last, limit=batch)
        session.commit()
    purge.finish(session, run, now=NOW)
    session.commit()
    return run


def rates_of_2022(session: Session) -> dict[str, Any]:
    report = rates_report(session, build_query(session, as_of=NOW, period="2022"))
    return report.model_dump(mode="json")


def payloads(session: Session, req: ServiceRequest) -> str:
    rows = session.scalars(select(Event.payload).where(Event.request_id == req.id)).all()
    return json.dumps(rows, ensure_ascii=False)


def test_purge_removes_the_person_and_keeps_the_case(session: Session, cases: Cases) -> None:
    c, tz = cases, cases.world.ctx.tz
    before_rates = rates_of_2022(session)
    digests_before = verify(session, tz=tz).digests
    assert purge.plan(session, cutoff_3y(c)) == purge.Plan(requests=2, contacts=1)
    run = run_purge(session, c)
    # The old case: its reply, note and call-back note name the caller. The nameless one: the
    # masker still finds the number and the plate in its reply and call-back note.
    assert (run.requests, run.contacts, run.events) == (2, 1, 5)
    assert run.texts >= 2 and run.hash and not run.interrupted
    session.expire_all()
    kept = {r[0] for r in raw_contacts(session)}
    assert kept == {c.open_old.id, c.recent.id}  # open, or too recent: untouched
    old = session.get(ServiceRequest, c.old.id)
    assert old is not None and old.contact is None and old.purged_at == NOW
    for secret in ("王建国", "13800138000", "0013 8000", "京A12345"):
        assert secret not in old.text + old.title + old.address + payloads(session, old)
    assert "王**" in old.text and "138****8000" in old.text
    assert old.address == "东华门大街12号*单元***"
    assert (old.lat, old.lon) == (39.912, 116.403)
    assert "王**" in payloads(session, old) and "138****8000" in payloads(session, old)
    assert (old.status, old.satisfaction, old.solved) == ("closed", "satisfied", True)
    assert old.category is not None and old.area is not None and old.lead_unit is not None
    assert rates_of_2022(session) == before_rates
    recent = session.get(ServiceRequest, c.recent.id)
    assert recent is not None and "13500002222" in payloads(session, recent)
    report = verify(session, tz=tz)
    assert report.ok, [str(b) for b in report.breaks]
    assert (report.purges, report.redacted, report.digests) == (1, 5, digests_before)
    nameless = payloads(session, c.nameless)
    assert "13800138000" not in nameless and "京A12345" not in nameless
    # Messages about the old case keep no address and no name in what they were filled with.
    from jiesu.notify.models import Notification

    msgs = session.scalars(select(Notification).where(Notification.request_id == old.id)).all()
    assert msgs and all(n.address_masked == "" for n in msgs)
    said = json.dumps([[n.context, n.subject, n.body] for n in msgs], ensure_ascii=False)
    for secret in ("王建国", "13800138000", "京A12345"):
        assert secret not in said


def test_purge_is_idempotent_and_recorded_each_time(session: Session, cases: Cases) -> None:
    first = run_purge(session, cases, batch=50)
    second = run_purge(session, cases)
    assert (second.requests, second.contacts, second.events) == (0, 0, 0)
    assert purge.plan(session, cutoff_3y(cases)).requests == 0
    runs = session.scalars(select(PrivacyPurge).order_by(PrivacyPurge.id)).all()
    assert [(r.actor, r.older_than, r.requests) for r in runs] == [
        ("cli:test", "3y", 2),
        ("cli:test", "3y", 0),
    ]
    assert runs[1].prev_hash == first.hash
    assert verify(session, tz=cases.world.ctx.tz).ok


def test_an_interrupted_purge_is_sealed_by_the_next_and_finished_by_it(
    session: Session, cases: Cases
) -> None:
    tz = cases.world.ctx.tz
    run = purge.start(session, actor="cli:test", older_than="3y", cutoff=cutoff_3y(cases), now=NOW)
    purge.purge_batch(session, run, now=NOW, limit=1)
    session.commit()  # …and the process dies here
    report = verify(session, tz=tz)
    assert report.ok and report.unsealed_purges == [run.id]
    rest = run_purge(session, cases)
    session.expire_all()
    first = session.get(PrivacyPurge, run.id)
    assert first is not None and first.interrupted and first.requests == 1 and first.hash
    assert rest.requests == 1 and rest.prev_hash == first.hash
    report = verify(session, tz=tz)
    assert report.ok and report.unsealed_purges == [] and report.purges == 2
    assert {r[0] for r in raw_contacts(session)} == {cases.open_old.id, cases.recent.id}


def _tamper(session: Session, stmt: Any) -> None:
    session.execute(stmt, execution_options={"synchronize_session": False})
    session.commit()
    session.expire_all()


def test_a_redacted_event_changed_afterwards_is_caught(session: Session, cases: Cases) -> None:
    run_purge(session, cases)
    reply = session.scalar(
        select(Event).where(Event.request_id == cases.old.id, Event.kind == "reply")
    )
    assert reply is not None
    _tamper(session, update(Event).where(Event.id == reply.id).values(payload={"text": "改写"}))
    first = verify(session, tz=cases.world.ctx.tz).breaks[0]
    assert (first.ticket, first.seq) == (cases.old.ticket, reply.seq)
    assert "what the purge left" in first.problem


def test_a_removed_redaction_or_a_changed_seal_is_caught(session: Session, cases: Cases) -> None:
    run = run_purge(session, cases)
    tz, removed = cases.world.ctx.tz, run.contacts
    _tamper(session, update(PrivacyPurge).where(PrivacyPurge.id == run.id).values(contacts=9))
    problems = [str(b) for b in verify(session, tz=tz).breaks]
    assert problems == [
        f"purge #{run.id}: seal does not match the purge's record or its redactions (changed)"
    ]
    _tamper(session, update(PrivacyPurge).where(PrivacyPurge.id == run.id).values(contacts=removed))
    assert verify(session, tz=tz).ok
    redaction = session.scalars(select(EventRedaction)).first()
    assert redaction is not None
    _tamper(session, delete(EventRedaction).where(EventRedaction.event_id == redaction.event_id))
    problems = [b.problem for b in verify(session, tz=tz).breaks]
    assert "content does not match its hash (the event row was changed)" in problems
    assert any("seal does not match" in p for p in problems)


def test_the_purge_command(
    session: Session,
    cases: Cases,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    session.close()
    runner = CliRunner()

    def purge_cmd(*args: str, **kw: Any) -> Any:
        return runner.invoke(app, ["privacy", "purge", *args], **kw)

    def said(result: Any) -> str:
        return " ".join(result.output.split())  # the console wraps long lines

    bad = purge_cmd("--older-than", "abc")
    assert bad.exit_code == 1 and "--older-than: 'abc' is not an age" in said(bad)
    short = purge_cmd("--older-than", "30d")
    assert short.exit_code == 1
    assert "--older-than: 30d is shorter than the minimum retention of 1y" in said(short)
    dry = purge_cmd("--older-than", "3y", "--dry-run")
    assert dry.exit_code == 0 and "2 closed request(s)" in said(dry) and "dry run" in said(dry)
    refused = purge_cmd("--older-than", "3y", input="n\n")
    assert refused.exit_code == 1 and "nothing purged" in said(refused)
    assert len(raw_contacts(session)) == 3
    session.close()
    done = purge_cmd("--older-than", "3y", "--yes", "--batch", "1", "--by", "admin")
    assert done.exit_code == 0, said(done)
    assert "2 request(s), 1 contact(s) removed" in said(done)
    assert "5 event(s) redacted" in said(done)
    assert len(raw_contacts(session)) == 2
    session.close()
    again = purge_cmd("--older-than", "3y", "--yes")
    assert again.exit_code == 0 and "0 closed request(s)" in said(again)
    checked = runner.invoke(app, ["audit", "verify"])
    assert checked.exit_code == 0, said(checked)
    assert "2 purges (5 events redacted)" in said(checked)
    actors = session.scalars(select(PrivacyPurge.actor).order_by(PrivacyPurge.id)).all()
    assert actors[0] == "admin" and actors[1].startswith("cli:")
    low = runner.invoke(
        app,
        ["privacy", "purge", "--older-than", "30d", "--dry-run"],
        env={"JIESU_PRIVACY_MIN_RETENTION": "7d"},
    )
    assert low.exit_code == 0 and "closed request(s)" in said(low)
