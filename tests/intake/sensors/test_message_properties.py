"""Whatever a device publishes, the message is an alarm or a refusal naming the field: never
an exception the listener did not foresee (which would lose the message from the review
queue). Property-based over payload bytes, JSON of every shape and alarm-like objects."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from jiesu.intake.sensors.message import MAX_CODE, Alarm, Refused, decode, parse_alarm
from jiesu.intake.sensors.service import handle_alarm
from jiesu.kit.clock import FixedClock

from factories import World

FIELDS = {"payload", "sensor", "kind", "value", "time", "grid", "lat", "lon"}
OUTCOMES = {"opened", "repeat", "rejected", "below_threshold"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
# Numbers at and past the edges of a float, as a device's firmware might print them.
numbers = (
    st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.sampled_from([0, -0.0, 1e308, 2**1024, -(2**1024), 10**4000])
)
zones = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
times = (
    st.datetimes(timezones=zones | st.none()).map(datetime.isoformat)
    | st.text(max_size=30)
    | json_values
)
codes = st.sampled_from(["SMK-0001", "smoke", "110101001001", " ", "", "x" * (MAX_CODE + 1)])
alarm_like = st.fixed_dictionaries(
    {},
    optional={
        "sensor": codes | json_values,
        "kind": codes | json_values,
        "value": numbers | json_values,
        "time": times,
        "grid": codes | json_values,
        "lat": numbers,
        "lon": numbers,
        "battery": json_values,
    },
)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except ValueError:  # an integer beyond Python's digit limit: send the digits anyway
        return str(value)


payloads = (
    st.binary(max_size=200)
    | st.text(max_size=200)
    | json_values.map(_dumps)
    | alarm_like.map(_dumps)
    | st.integers(min_value=1, max_value=6000).map(lambda n: "[" * n + "]" * n)
    | st.integers(min_value=1, max_value=3000).map(lambda n: '{"a":' * n + "1" + "}" * n)
)


def _check(alarm: Alarm) -> None:
    assert alarm.sensor.strip() and len(alarm.sensor) <= MAX_CODE
    assert alarm.kind.strip() and len(alarm.kind) <= MAX_CODE
    assert math.isfinite(alarm.value)
    assert alarm.time is None or alarm.time.utcoffset() == timedelta(0)
    assert (alarm.lat is None) == (alarm.lon is None)
    if alarm.lat is not None and alarm.lon is not None:
        assert -90 <= alarm.lat <= 90 and -180 <= alarm.lon <= 180


@given(payloads)
@example("[" * 5000 + "]" * 5000)  # nesting deeper than the JSON reader recurses
@example('{"sensor": "a", "kind": "b", "value": 1' + "0" * 400 + "}")  # beyond a float
@example('{"sensor": "a", "kind": "b", "value": 1, "time": "0001-01-01T00:00:00+05:00"}')
@example('{"sensor": "a", "kind": "b", "value": 1, "time": "9999-12-31T23:00:00-05:00"}')
@settings(max_examples=300, deadline=None)
def test_any_payload_is_an_alarm_or_a_refusal_naming_the_field(payload: bytes | str) -> None:
    text, refused = decode(payload)
    if refused is not None:
        assert refused.field == "payload" and refused.problem
        return
    try:
        alarm = parse_alarm(text)
    except Refused as exc:
        assert exc.field in FIELDS and exc.problem and exc.reason.startswith(exc.field)
    else:
        _check(alarm)


@given(alarm_like)
@settings(max_examples=300, deadline=None)
def test_a_well_formed_object_parses_as_sent(data: dict[str, Any]) -> None:
    try:
        alarm = parse_alarm(_dumps(data))
    except Refused as exc:
        assert exc.field in FIELDS
        return
    _check(alarm)
    assert alarm.sensor == data["sensor"].strip() and alarm.value == float(data["value"])
    if isinstance(data.get("time"), str):
        assert alarm.time == datetime.fromisoformat(data["time"]).astimezone(UTC)


def test_handling_any_payload_records_the_message_and_never_raises(
    session: Session, world: World, clock: FixedClock
) -> None:
    # The whole path the listener takes, against the database: every message is kept.
    @given(payloads | alarm_like.map(lambda d: _dumps({"sensor": "SMK-0001", **d})))
    @example(b"D\xff`r\x00\xc30")  # not UTF-8 and a NUL: PostgreSQL's text refused it once
    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    def handle(payload: bytes | str) -> None:
        message = handle_alarm(
            session, "jiesu/sensors/smoke/SMK-0001", payload, now=clock.now(), ctx=world.ctx
        )
        assert message.id is not None and message.outcome in OUTCOMES, message.outcome
        if message.outcome == "rejected":
            assert message.reason.split(":")[0] in FIELDS, message.reason
        session.rollback()

    handle()


def test_nul_in_the_topic_or_a_field_is_kept_on_record_not_a_database_error(
    session: Session, world: World, clock: FixedClock
) -> None:
    # Found by the property test above on PostgreSQL, which cannot store NUL in text.
    escaped = handle_alarm(
        session, "jiesu/sensors/smoke/SMK-0001", '{"sensor": "SMK\\u00000001", "kind": "smoke", '
        '"value": 1}', now=clock.now(), ctx=world.ctx,
    )  # fmt: skip
    assert escaped.outcome == "rejected" and escaped.reason.startswith("sensor")
    raw = handle_alarm(session, "jiesu/sensors/\x00", b"\x00\x01", now=clock.now(), ctx=world.ctx)
    assert raw.id is not None and "\x00" not in raw.topic + raw.payload
    session.commit()
