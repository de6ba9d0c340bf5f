"""Articles: versions on every change, who may edit, expiry and the reminder list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.errors import BadInput, Forbidden, NotFound
from jiesu.kb.models import KbArticleVersion
from jiesu.kb.reminders import remind_owners
from jiesu.kb.service import (
    ArticleFields,
    expire_articles,
    expiring,
    get_version,
    public_article,
    update_article,
)
from jiesu.kit.clock import FixedClock
from jiesu.notify.models import Notification
from jiesu.notify.templates import render_message
from kbkit import HEATING, PARKING, TODAY, article

from factories import make_world


def test_editing_keeps_every_version(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    a = article(session, world.actor("admin"), clock.now(), HEATING, owner_unit="ST-110101001")
    later = clock.now() + timedelta(days=3)
    f = ArticleFields(
        title="供暖期暖气不热怎么办（2026年修订）",
        body=HEATING + "\n\n新增：低于16℃可申请退费。",
        owner_unit="ST-110101001",
        status="published",
        note="退费规定",
    )
    update_article(session, a, f, actor=world.actor("sup"), now=later, today=TODAY)
    assert a.version == 2 and "退费" in a.plain
    versions = session.query(KbArticleVersion).filter_by(article_id=a.id).all()
    assert [(v.version, v.edited_by) for v in versions] == [(1, "admin"), (2, "sup")]
    first = get_version(session, a.id, 1)
    assert "退费" not in first.body and first.title == "供暖期暖气不热怎么办"
    # The same content again writes no version.
    update_article(session, a, f, actor=world.actor("sup"), now=later, today=TODAY)
    assert a.version == 2
    with pytest.raises(NotFound):
        get_version(session, a.id, 3)


def test_a_handler_edits_only_the_own_units_articles(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    mine = article(session, world.actor("h1"), clock.now(), HEATING)
    assert mine.owner_unit is not None and mine.owner_unit.code == "ST-110101001"
    with pytest.raises(Forbidden):
        article(session, world.actor("h1"), clock.now(), PARKING, owner_unit="ST-110101008")
    f = ArticleFields(title="改", body="改了", status="published")
    with pytest.raises(Forbidden):
        update_article(session, mine, f, actor=world.actor("h2"), now=clock.now(), today=TODAY)
    with pytest.raises(Forbidden):
        article(session, world.actor("op"), clock.now(), PARKING)


def test_bad_fields_are_named(session: Session, clock: FixedClock) -> None:
    world = make_world(session, clock.now())
    admin = world.actor("admin")
    cases = {
        "categories": {"categories": ["999999"]},
        "areas": {"areas": ["nowhere"]},
        "owner_unit": {"owner_unit": "NO-SUCH"},
        "valid_until": {"valid_from": date(2026, 12, 1), "valid_until": date(2026, 1, 1)},
        "status": {"status": "expired"},
    }
    for field, values in cases.items():
        with pytest.raises(BadInput) as exc:
            article(session, admin, clock.now(), HEATING, **values)
        assert exc.value.fields[0]["field"] == field, field


def test_expired_articles_leave_the_public_and_their_owners_are_reminded(
    session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    admin = world.actor("admin")
    gone = article(
        session, admin, clock.now(), HEATING, owner_unit="ST-110101001",
        valid_until=TODAY - timedelta(days=1),
    )  # fmt: skip
    soon = article(
        session, admin, clock.now(), PARKING, owner_unit="ST-110101008",
        valid_until=TODAY + timedelta(days=10),
    )  # fmt: skip
    assert gone.status == "expired"  # already past its last day when written
    with pytest.raises(NotFound):
        public_article(session, gone.id, TODAY)
    assert public_article(session, soon.id, TODAY) is soon
    rows = expiring(session, TODAY, days=30)
    assert [(e.unit, e.article_id, e.days_left) for e in rows] == [
        ("ST-110101001", gone.id, -1),
        ("ST-110101008", soon.id, 10),
    ]
    unit_id = soon.owner_unit_id
    assert [e.article_id for e in expiring(session, TODAY, unit_id=unit_id)] == [soon.id]
    # The tick marks it once its day has passed.
    assert expire_articles(session, TODAY + timedelta(days=11)) == 1
    assert soon.status == "expired"

    # Owners hear of it on their desk: once entering the last 30 days, once run out.
    now = clock.now()
    assert remind_owners(session, today=TODAY, now=now) == 2
    assert remind_owners(session, today=TODAY, now=now) == 0  # told once
    told = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(n.kind, n.recipient_kind, n.recipient) for n in told] == [
        ("article_expiring", "unit", "ST-110101001"),
        ("article_expiring", "unit", "ST-110101008"),
    ]
    subject, body = render_message(told[0].kind, "zh-CN", told[0].context)
    assert "供暖期暖气不热怎么办" in subject and "已过期 1 天" in body
    assert "10 day(s) from now" in render_message(told[1].kind, "en", told[1].context)[1]
    assert remind_owners(session, today=TODAY + timedelta(days=11), now=now) == 1  # run out now
