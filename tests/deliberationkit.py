"""What the deliberation tests share: callers in 东华门 and 西城, a consultation to open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.deliberation.models import OutboxMessage
from jiesu.deliberation.service import Opening, open_consultation
from jiesu.kit.clock import FixedClock

from factories import World, make_request

SECRET = "test-secret-for-deliberation"
INSIDE = "13800138000"  # called about 东华门 (in 东城区)
OUTSIDE = "13900139000"  # called about 西城区 only


def plant_callers(session: Session, world: World, clock: FixedClock) -> None:
    earlier = clock.now() - timedelta(days=20)
    make_request(session, world, earlier, contact={"phone": INSIDE})
    make_request(session, world, earlier, area="110102", contact={"phone": OUTSIDE})


def opening(**kw: object) -> Opening:
    base: dict[str, object] = {
        "title": "东华门夜间施工噪音怎么管",
        "question": "夜间施工噪音反复发生，您支持哪种办法？",
        "area": "110101",
        "category": "0101",
        "options": ["限定施工时段", "设立噪音监测点", "维持现状"],
    }
    base.update(kw)
    return Opening(**base)  # type: ignore[arg-type]


def open_one(session: Session, world: World, clock: FixedClock, **kw: object) -> int:
    c = open_consultation(session, opening(**kw), actor=world.actor("sup"), now=clock.now())
    session.commit()
    return c.id


def code_from_outbox(session: Session) -> str:
    """The code of the newest message, as a person reads it off their phone."""
    msg = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert msg is not None
    return msg.body.split("验证码 ")[1][:6]
