"""Caller flags follow the rules of all personal data: a purge removes them with the contact
they hang on (and the reason from the audit chain, which stays valid), and a key rotation
re-encrypts them with the contacts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jiesu.callers.models import CallerFlag
from jiesu.callers.service import flag_caller
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.privacy import purge
from jiesu.privacy.audit import make_digests, verify
from jiesu.privacy.crypto import Keyring, new_key, parse_key
from jiesu.privacy.keys import use_keyring, use_settings
from jiesu.privacy.retention import parse_age
from jiesu.privacy.rotation import left_to_rotate, rotate_batch
from jiesu.workflow.models import Event
from jiesu.workflow.service import apply_action

from factories import make_request, make_world

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
LONG_AGO = datetime(2022, 3, 7, 1, 30, tzinfo=UTC)


@pytest.fixture
def own_keys() -> Iterator[None]:
    run_key = os.environ.get("JIESU_DATA_KEY")
    yield
    use_keyring(None)
    use_settings(Settings(data_key=run_key))


def _ring(*keys: str) -> Keyring:
    return Keyring([parse_key(k, source="test key") for k in keys])


def test_a_purge_removes_the_flag_and_its_reason_and_keeps_the_chain(session: Session) -> None:
    world = make_world(session, LONG_AGO)
    t = FixedClock(LONG_AGO)
    req = make_request(session, world, t.now(), contact={"name": "王五", "phone": "13700137000"})
    recent = make_request(session, world, NOW, contact={"name": "赵六", "phone": "13600136000"})
    op = world.actor("op")
    flag_caller(session, req, kind="disabled", reason="坐轮椅，独自在家", consent=True,
                actor=op, now=t.now())  # fmt: skip
    flag_caller(session, recent, kind="elderly_alone", reason="九十岁", consent=True,
                actor=op, now=NOW)  # fmt: skip
    apply_action(session, req, "answer", actor=op, now=t.advance(timedelta(minutes=5)),
                 ctx=world.ctx, params={"text": "已解答"})  # fmt: skip
    session.commit()
    make_digests(session, now=NOW, tz=world.ctx.tz)
    session.commit()
    cutoff = parse_age("3y").cutoff(NOW, world.ctx.tz)
    run = purge.start(session, actor="test", older_than="3y", cutoff=cutoff, now=NOW)
    last: int | None = 0
    while last is not None:
        last = purge.purge_batch(session, run, now=NOW, after_id=last)
    purge.finish(session, run, now=NOW)
    session.commit()
    left = session.scalars(select(CallerFlag.request_id)).all()
    assert left == [recent.id]  # the recent caller's flag stays
    flagged = session.scalar(
        select(Event.payload).where(Event.request_id == req.id, Event.kind == "caller_flagged")
    )
    assert (
        flagged is not None and flagged["reason"] == "[removed]" and flagged["kind"] == "disabled"
    )
    assert verify(session, tz=world.ctx.tz).ok


def test_rotation_re_encrypts_the_flags(
    session: Session, clock: FixedClock, own_keys: None
) -> None:
    k1, k2 = new_key(), new_key()
    use_keyring(_ring(k1))
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now(), contact={"phone": "13700137000"})
    flag_caller(session, req, kind="serious_illness", reason="透析病人", consent=True,
                actor=world.actor("op"), now=clock.now())  # fmt: skip
    session.commit()
    use_keyring(_ring(k1, k2))
    assert left_to_rotate(session) == 2  # the contact and the flag
    while rotate_batch(session, limit=1):
        session.commit()
    assert left_to_rotate(session) == 0
    use_keyring(_ring(k2))  # the old key retired: the flag still reads
    session.expire_all()
    assert session.scalars(select(CallerFlag.reason)).one() == "透析病人"
    raw = session.execute(text("SELECT reason, key_id FROM caller_flags")).one()
    assert raw[0].startswith(f"jx1:{_ring(k2).newest.kid}:") and raw[1] == _ring(k2).newest.kid
