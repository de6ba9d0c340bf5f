"""Caller profiles: repeat callers about the same unsolved problem raised at intake, vulnerable
callers flagged with a reason and consent for priority call-backs, masking for analysts, the
flag's reason encrypted at rest, key rotation and purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jiesu.callers.models import CallerFlag
from jiesu.callers.profile import hashes_of, profile
from jiesu.callers.service import flag_caller, remove_flag
from jiesu.errors import BadInput, Conflict, Forbidden
from jiesu.kit.clock import FixedClock
from jiesu.loop.callbacks import current_task
from jiesu.privacy.audit import verify
from jiesu.workflow.models import Event, ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request, make_world

PHONE = "13800138000"
NOISE = "楼下饭店每天夜里施工，噪音很大"


def _call(session: Session, world: World, at: Any, phone: str = PHONE, **fields: Any) -> Any:
    return make_request(session, world, at, contact={"name": "李四", "phone": phone}, **fields)


def _kinds(session: Session, req: ServiceRequest) -> list[str]:
    q = select(Event.kind).where(Event.request_id == req.id).order_by(Event.seq)
    return list(session.scalars(q))


def _act(session: Session, world: World, req: Any, action: str, who: str, at: Any,
         **params: Any) -> None:  # fmt: skip
    apply_action(session, req, action, actor=world.actor(who), now=at, ctx=world.ctx,
                 params=params)  # fmt: skip


def _to_reply(session: Session, world: World, req: Any, at: Any) -> None:
    _act(session, world, req, "dispatch", "disp", at, unit="ST-110101001")
    _act(session, world, req, "accept", "h1", at)
    _act(session, world, req, "reply", "h1", at, text="已到现场处理，施工已停止")


def test_a_caller_again_about_the_same_unsolved_problem_is_raised(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_world(session, now)
    first = _call(session, world, now - timedelta(days=10))
    again = _call(session, world, now, text="还是夜里施工，吵得睡不着")
    repeat = session.scalar(
        select(Event).where(Event.request_id == again.id, Event.kind == "repeat_caller")
    )
    assert repeat is not None and repeat.payload["earlier"] == [first.ticket]
    assert repeat.payload["why"] == ["same category 010101"]
    # Its call-back comes before others.
    _to_reply(session, world, again, now)
    task = current_task(session, again)
    assert task is not None and "repeat_caller" in task.priority_reasons
    # Not raised: another caller; a different problem in other words; the first one solved.
    other = _call(session, world, now, phone="13900139000")
    water = _call(session, world, now, text="家里停水了", category="010102")
    for req in (other, water):
        assert "repeat_caller" not in _kinds(session, req)
    _act(session, world, first, "dispatch", "disp", now, unit="ST-110101001")
    _act(session, world, first, "accept", "h1", now)
    _act(session, world, first, "reply", "h1", now, text="已处理")
    _act(session, world, first, "call_back", "op", now, resolution="solved",
         satisfaction="satisfied")  # fmt: skip
    _act(session, world, first, "close", "op", now)
    later = _call(session, world, now + timedelta(hours=1), text=NOISE)
    # The still-open `again` is what it repeats now, not the solved first call.
    payload = session.scalar(
        select(Event.payload).where(Event.request_id == later.id, Event.kind == "repeat_caller")
    )
    assert payload is not None and first.ticket not in payload["earlier"]


def test_the_same_words_without_a_category_count_too(session: Session, clock: FixedClock) -> None:
    now = clock.now()
    world = make_world(session, now)
    first = _call(session, world, now - timedelta(days=2), category=None, area=None,
                  text="幸福小区3号楼电梯坏了一个星期没人修")  # fmt: skip
    again = _call(session, world, now, category=None, area=None,
                  text="幸福小区3号楼电梯坏了，一个星期了还没人修")  # fmt: skip
    payload = session.scalar(
        select(Event.payload).where(Event.request_id == again.id, Event.kind == "repeat_caller")
    )
    assert payload is not None and payload["earlier"] == [first.ticket]
    assert payload["why"][0].startswith("same words")


def test_flagging_needs_a_reason_and_consent_and_is_audited(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    world = make_world(session, now)
    req = _call(session, world, now)
    op = world.actor("op")
    for kw, field in (
        ({"reason": "  ", "consent": True}, "reason"),
        ({"reason": "独居，行动不便", "consent": False}, "consent"),
        ({"reason": "独居", "consent": True, "kind": "rich"}, "kind"),
    ):
        args: dict[str, Any] = {"kind": "elderly_alone"} | kw
        with pytest.raises(BadInput) as caught:
            flag_caller(session, req, actor=op, now=now, **args)
        assert caught.value.fields[0]["field"] == field
    for who in ("analyst", "h1", "disp"):
        with pytest.raises(Forbidden):
            flag_caller(session, req, kind="disabled", reason="x", consent=True,
                        actor=world.actor(who), now=now)  # fmt: skip
    nameless = make_request(session, world, now)
    with pytest.raises(BadInput) as caught:
        flag_caller(session, nameless, kind="disabled", reason="x", consent=True, actor=op, now=now)
    assert caught.value.fields[0]["field"] == "ticket"

    flag = flag_caller(session, req, kind="elderly_alone", reason="八十岁独居，听力不好",
                       consent=True, actor=op, now=now)  # fmt: skip
    assert _kinds(session, req)[-1] == "caller_flagged"
    # The reason is stored encrypted, like a contact.
    raw = session.execute(text("SELECT reason FROM caller_flags")).scalar_one()
    assert "独居" not in raw and raw.startswith("jx1:")

    # A later call of the same caller: the call-back comes first.
    later = _call(session, world, now, text="家里停水了", category="010102")
    _to_reply(session, world, later, now)
    task = current_task(session, later)
    assert task is not None and "vulnerable_caller" in task.priority_reasons

    full = profile(session, hashes_of(PHONE), role="operator")
    assert full.flags[0]["reason"] == "八十岁独居，听力不好" and full.earlier == 2
    assert [h["ticket"] for h in full.history] == [later.ticket, req.ticket]
    masked = profile(session, hashes_of(PHONE), role="analyst")
    assert masked.masked and masked.history == [] and masked.earlier == 2
    assert masked.flags == [
        {"kind": "elderly_alone", "kind_name": ["独居老人", "older person living alone"]}
    ]

    with pytest.raises(BadInput):
        remove_flag(session, flag, reason="", actor=op, now=now)
    remove_flag(session, flag, reason="已搬去与子女同住", actor=op, now=now)
    assert _kinds(session, req)[-1] == "caller_unflagged"
    with pytest.raises(Conflict):
        remove_flag(session, flag, reason="again", actor=op, now=now)
    assert profile(session, hashes_of(PHONE), role="operator").flags == []
    session.commit()
    assert verify(session, tz=world.ctx.tz).ok


def test_too_few_digits_find_no_caller(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    _call(session, world, clock.now())
    assert profile(session, hashes_of("138"), role="operator").earlier == 0
    assert session.scalar(select(CallerFlag.id)) is None
