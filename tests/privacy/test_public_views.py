"""Personal data said in a request's words stays out of every public view of it: the tracking
view (API and portal), Open311 GET requests and its status notes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jiesu.intake.open311.query import records
from jiesu.kit.clock import FixedClock
from jiesu.workflow.public import public_view
from jiesu.workflow.service import apply_action

from factories import make_request, make_world

CARD = "6222021234567894"  # Luhn-valid, UnionPay
ID_NUMBER = "110105199001011235"
TEXT = f"我的电话13912345678，车牌京A12345，卡号{CARD}，身份证{ID_NUMBER}，楼下饭店夜里施工"
SECRETS = ("13912345678", "A12345", CARD, ID_NUMBER, "13800001111")


def test_public_views_mask_what_the_words_say(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now(), text=TEXT, title="")
    for action, who, params in (
        ("dispatch", "disp", {"unit": "ST-110101001"}),
        ("accept", "h1", {}),
        ("reply", "h1", {"text": "已协调施工方停工，有问题请拨13800001111"}),
    ):
        clock.advance(timedelta(hours=1))
        apply_action(
            session, req, action, actor=world.actor(who), now=clock.now(), ctx=world.ctx,
            params=params,
        )  # fmt: skip
    session.commit()
    view = public_view(session, req, world.ctx.tz)
    shown = view.model_dump_json() + str(records(session, [req], world.ctx.tz))
    for secret in SECRETS:
        assert secret not in shown, secret
    assert view.title.startswith("我的电话139****5678，车牌京A*****，卡号")
    reply = next(m for m in view.timeline if m.kind == "reply")
    assert reply.text == "已协调施工方停工，有问题请拨138****1111"
    (record,) = records(session, [req], world.ctx.tz)
    assert record["description"] == (
        "我的电话139****5678，车牌京A*****，卡号************7894，身份证110105************，"
        "楼下饭店夜里施工"
    )
    assert record["status_notes"] == "已协调施工方停工，有问题请拨138****1111"


def test_a_number_cut_by_the_title_is_masked_too(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    # The title is the first 40 characters: the phone is cut after its first four digits.
    text = "小区门口的路灯已经坏了整整一个星期了，晚上出门很不安全，请尽快修理，电话13912345678"
    req = make_request(session, world, clock.now(), text=text)
    session.commit()
    title = public_view(session, req, world.ctx.tz).title
    assert title.endswith("…") and not any(c.isdigit() for c in title[-8:])
