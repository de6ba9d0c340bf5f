"""Notifications: who is told of what, quiet hours, retries with back-off and dead letters,
delivery through a real SMTP server, templates in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jiesu.analytics.models import EarlyWarning
from jiesu.config import Settings
from jiesu.errors import ConfigError
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.jobs import run_tick, send_due_notifications
from jiesu.kit.clock import FixedClock
from jiesu.notify.delivery import Policy, retry, send_due
from jiesu.notify.gateways import gateways_for
from jiesu.notify.models import DeliveryAttempt, Notification
from jiesu.notify.quiet import parse_quiet_hours
from jiesu.notify.templates import KINDS, LOCALES, render_message
from jiesu.notify.triggers import on_warning
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_world
from notifykit import SmtpServer

EMAIL = "zhang.san@example.cn"


def _request(
    session: Session, world: World, now: datetime, urgency: str | None = None, **contact: Any
) -> ServiceRequest:
    data = RequestIn(
        text="小区门口路灯坏了一个星期", category="010101", area="110101001",
        contact={"name": "张三", **contact}, urgency=urgency,
    )  # fmt: skip
    req, _ = submit_request(session, data, actor=world.actor("op"), now=now, ctx=world.ctx)
    return req


def _act(
    session: Session,
    world: World,
    req: ServiceRequest,
    action: str,
    who: str,
    now: datetime,
    **params: Any,
) -> None:
    apply_action(session, req, action, actor=world.actor(who), now=now, ctx=world.ctx,
                 params=params)  # fmt: skip


def _kinds(session: Session) -> list[tuple[str, str, str]]:
    rows = session.scalars(select(Notification).order_by(Notification.id))
    return [(n.kind, n.recipient_kind, n.recipient) for n in rows]


def test_the_main_events_are_in_the_outbox(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    world = make_world(session, now)
    req = _request(session, world, now, email=EMAIL, phone="13800138000")
    _act(session, world, req, "dispatch", "disp", now, unit="ST-110101001")
    _act(session, world, req, "accept", "h1", now)
    _act(session, world, req, "whistle", "h1", now, units=["PS-WATER"], reason="需要供水协助")
    _act(session, world, req, "reply", "h1", now, text="已更换路灯，恢复照明")
    _act(session, world, req, "call_back", "op", now, satisfaction="unsatisfied",
         resolution="unsolved")  # fmt: skip
    _act(session, world, req, "reopen", "op", now, reason="市民说仍然不亮")
    session.commit()
    assert _kinds(session) == [
        ("accepted", "citizen", "citizen"),
        ("new", "unit", "ST-110101001"),
        ("whistled", "unit", "PS-WATER"),
        ("replied", "citizen", "citizen"),
        ("returned", "unit", "ST-110101001"),
    ]
    citizen = session.scalars(select(Notification).where(Notification.kind == "accepted")).one()
    assert citizen.channel == "email" and citizen.address_masked == "z***@example.cn"
    # No address in clear in the table: it is read from the encrypted contact when sent.
    dump = " ".join(str(r) for r in session.execute(text("SELECT * FROM notifications")))
    assert EMAIL not in dump and "13800138000" not in dump


def test_citizens_who_want_no_answer_or_have_no_address_are_not_messaged(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    _request(session, world, clock.now(), phone="13800138000", wants_reply=False)
    _request(session, world, clock.now())
    phone = _request(session, world, clock.now(), phone="13900139000")
    session.commit()
    rows = session.scalars(select(Notification)).all()
    assert [(n.channel, n.request_id, n.address_masked) for n in rows] == [
        ("sms", phone.id, "139****9000")
    ]


def test_nearly_overdue_requests_tell_their_unit_once(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = _request(session, world, clock.now())
    _act(session, world, req, "dispatch", "disp", clock.now(), unit="ST-110101001")
    assert req.handling_due is not None
    run_tick(session, now=req.handling_due - timedelta(hours=6), due_soon_hours=4)
    assert [k for k, *_ in _kinds(session)].count("due_soon") == 0
    result = run_tick(session, now=req.handling_due - timedelta(hours=3), due_soon_hours=4)
    assert result.due_soon == 1
    again = run_tick(session, now=req.handling_due - timedelta(hours=2), due_soon_hours=4)
    assert again.due_soon == 0
    assert _kinds(session)[-1] == ("due_soon", "unit", "ST-110101001")


def test_supervisors_hear_of_surges_and_warnings(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    day = clock.now().date()
    for kind in ("surge_day", "recurring_place"):
        w = EarlyWarning(
            key=f"{kind}:1:*:{day}", kind=kind, first_day=day, last_day=day, observed=40,
            expected=12.5, score=3.0, reason_zh="路灯诉求激增", reason_en="street lights up",
            details={}, status="open", created_at=clock.now(),
        )  # fmt: skip
        session.add(w)
        session.flush()
        on_warning(session, w, clock.now())
        on_warning(session, w, clock.now())  # the same warning again: told once
    session.flush()
    assert [k for k, *_ in _kinds(session)] == ["surge", "warning"]
    policy = Policy.of(Settings())
    send_due(session, gateways_for(Settings()), policy, now=clock.now())
    surge = session.scalars(select(Notification).where(Notification.kind == "surge")).one()
    assert surge.status == "sent" and surge.subject is not None
    assert "路灯诉求激增" in (surge.body or "") and "12.5" in (surge.body or "")
    assert world is not None


@pytest.mark.parametrize("locale", LOCALES)
def test_every_template_renders_in_both_languages(locale: str) -> None:
    ctx = {
        "ticket": "20261102-ABC123", "title": "路灯坏了", "link": "https://x/t/1/2",
        "text": "已修好", "unit_name": "东华门街道", "due": "2026-11-05T18:00", "reason": None,
        "by_unit": None, "what": "路灯 / 东城区", "reason_zh": "激增", "reason_en": "surge",
        "observed": 40, "expected": None, "valid_until": "2026-12-01", "days_left": 3,
    }  # fmt: skip
    for kind in KINDS:
        subject, body = render_message(kind, locale, ctx)
        assert subject and body and "{{" not in body, (kind, locale)


def test_quiet_hours_hold_citizen_messages_until_the_window_opens(
    session: Session, clock: FixedClock
) -> None:
    # 22:30 in Beijing (14:30 UTC): citizens' quiet hours are 21:00–08:00.
    late = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    clock.set(late)
    world = make_world(session, late)
    calm = _request(session, world, late, phone="13800138000")
    urgent = _request(session, world, late, phone="13900139000", urgency="emergency")
    _act(session, world, calm, "dispatch", "disp", late, unit="ST-110101001")
    settings = Settings(notify_quiet_hours="citizen=21:00-08:00")
    policy, gateways = Policy.of(settings), gateways_for(settings)
    result = send_due(session, gateways, policy, now=late)
    assert (result.sent, result.held) == (2, 1)  # the unit's message and the urgent one
    held = session.scalars(select(Notification).where(Notification.status == "held")).one()
    assert held.request_id == calm.id
    assert held.next_attempt_at == datetime(2026, 11, 3, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    assert urgent.urgency == "emergency"
    # Still quiet at 07:59; out at 08:00, once.
    assert send_due(session, gateways, policy, now=late + timedelta(hours=9, minutes=29)).sent == 0
    assert send_due(session, gateways, policy, now=held.next_attempt_at).sent == 1
    tries = session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.notification_id == held.id)
    ).all()
    assert [t.result for t in tries] == ["held", "sent"]


def test_quiet_hours_are_checked_when_read() -> None:
    assert set(parse_quiet_hours("citizen=21:00-08:00, unit=23:30-06:00")) == {"citizen", "unit"}
    with pytest.raises(ConfigError, match="kind=HH:MM-HH:MM"):
        parse_quiet_hours("citizen=9pm-8am")
    with pytest.raises(ConfigError, match="unknown recipient kind 'mayor'"):
        parse_quiet_hours("mayor=21:00-08:00")
    with pytest.raises(ConfigError, match="no notification gateway 'pigeon'"):
        gateways_for(Settings(notify_sms_gateway="pigeon"))


def test_smtp_delivers_to_a_real_server(
    session: Session, clock: FixedClock, smtp: SmtpServer
) -> None:
    smtp.start()
    world = make_world(session, clock.now())
    req = _request(session, world, clock.now(), email=EMAIL)
    session.commit()
    settings = Settings(notify_email_gateway="smtp", smtp_port=smtp.port,
                        public_url="https://12345.example.cn", notify_quiet_hours="")  # fmt: skip
    result = send_due_notifications(session, settings, now=clock.now())
    assert result is not None and result.sent == 1, result
    [mail] = smtp.inbox.messages
    assert mail["To"] == EMAIL and req.ticket in mail["Subject"]
    body = mail.get_content()  # type: ignore[attr-defined]
    assert f"https://12345.example.cn/t/{req.ticket}/" in body and "已受理" in body
    n = session.scalars(select(Notification)).one()
    assert n.status == "sent" and n.gateway == "smtp" and n.sent_at == clock.now()


def test_an_smtp_server_that_is_down_is_retried_with_back_off_and_nothing_is_lost(
    session: Session, clock: FixedClock, smtp: SmtpServer
) -> None:
    world = make_world(session, clock.now())
    _request(session, world, clock.now(), email=EMAIL)
    session.commit()
    settings = Settings(notify_email_gateway="smtp", smtp_port=smtp.port, smtp_timeout=2,
                        notify_max_attempts=4, notify_retry_seconds=60,
                        notify_quiet_hours="")  # fmt: skip
    start = clock.now()
    waits = []
    for _ in range(4):  # the server is down: each try fails, the wait doubles
        result = send_due_notifications(session, settings, now=clock.now())
        assert result is not None and result.sent == 0
        n = session.scalars(select(Notification)).one()
        session.refresh(n)
        if n.status == "dead":
            break
        waits.append(n.next_attempt_at - clock.now())
        # Not due before its time: a run a second early sends nothing.
        clock.set(n.next_attempt_at - timedelta(seconds=1))
        early = send_due_notifications(session, settings, now=clock.now())
        assert early is not None and early.tried == 0
        clock.set(n.next_attempt_at)
    assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert n.status == "dead" and n.attempts == 4 and "SMTP 127.0.0.1" in (n.last_error or "")
    tries = session.scalars(select(DeliveryAttempt)).all()
    assert [t.result for t in tries] == ["failed"] * 4
    assert tries[-1].at - start == timedelta(seconds=420)
    # The server comes back; an administrator sends the dead letter again: it arrives.
    smtp.start()
    retry(session, n.id, now=clock.now())
    session.commit()
    back = send_due_notifications(session, settings, now=clock.now())
    assert back is not None and back.sent == 1
    assert len(smtp.inbox.messages) == 1
