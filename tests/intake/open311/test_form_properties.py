"""Open311's arguments and forms, property-based where the schema fuzz cannot aim: the query
of GET requests, each argument reader, and POSTed forms built from the spec's own fields with
values at their edges. Whatever arrives, the answer is the spec's (a 400 naming the argument,
403, 404, or the request), never a fault logged as unforeseen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from intake.open311.o311city import O311, Recorder
from jiesu.intake.open311 import errors
from jiesu.intake.open311.errors import Open311Error
from jiesu.intake.open311.params import MAX_SPAN, coordinate, http_url, positive_int
from jiesu.intake.open311.query import parse_query

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
ARGS = ("service_request_id", "status", "service_code", "start_date", "end_date", "page",
        "page_size")  # fmt: skip

zones = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
w3c = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=zones)
digits = st.integers(min_value=0, max_value=6000).map(lambda n: "9" * n)
values = (
    st.text(max_size=30)
    | w3c.map(lambda d: d.isoformat(timespec="seconds"))
    | digits
    | st.sampled_from(["open", "closed", "open,closed", ",", "0", "-1", "1e3", "１２"])
)


def _named(exc: Open311Error, names: tuple[str, ...]) -> bool:
    return all(text.startswith(names) for _, text in exc.errors)


@given(st.dictionaries(st.sampled_from(ARGS), values))
@example({"start_date": "9999-12-30T00:00:00Z"})  # + 90 days is past the last date
@example({"end_date": "0001-01-02T00:00:00Z"})  # − 90 days is before the first
@example({"page": "9" * 5000})  # more digits than Python turns into a number
@settings(max_examples=400, deadline=None)
def test_any_query_parses_or_is_a_400_naming_the_argument(args: dict[str, str]) -> None:
    try:
        q = parse_query(args, now=NOW)
    except Open311Error as exc:
        assert exc.status == 400 and _named(exc, ARGS), exc.errors
        return
    if q.ids is None:
        assert q.window is not None and q.window.start <= q.window.end
        assert q.window.end - q.window.start <= MAX_SPAN
        assert q.paging.page >= 1 and 1 <= q.paging.page_size <= 1000


@given(st.text(max_size=40) | digits, st.integers(min_value=1, max_value=10**6))
@settings(max_examples=300, deadline=None)
def test_argument_readers_return_a_value_or_a_400_naming_it(text: str, maximum: int) -> None:
    for name, read in (
        ("page", lambda v: positive_int("page", v, 1, maximum)),
        ("lat", lambda v: coordinate("lat", v, 90)),
        ("media_url", lambda v: http_url("media_url", v)),
    ):
        try:
            value = read(text)
        except Open311Error as exc:
            assert exc.status == 400 and _named(exc, (name,)), exc.errors
        else:
            if name == "page":
                assert 1 <= value <= maximum
            elif name == "lat":
                assert value is None or -90 <= value <= 90


FIELDS = ("service_code", "lat", "long", "address_string", "address_id", "email", "device_id",
          "account_id", "first_name", "last_name", "phone", "description", "media_url",
          "jurisdiction_id")  # fmt: skip
field_values = (
    st.text(max_size=40)
    | st.sampled_from(["010101", "010102", "39.915", "116.404", "nan", "1e400", "-0", "",
                       "https://example.org/p.jpg", "javascript:alert(1)", "a@b.cn",
                       "138 0013 8000", "x" * 1001, "test.jiesu.city"])
)  # fmt: skip
forms = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=8).flatmap(
    lambda form: st.dictionaries(
        st.sampled_from(["attribute[SCOPE]", "attribute[WHEN]", "attribute[]", "attribute[X][]"]),
        st.sampled_from(["home", "estate", "2026-11-02T08:00:00+08:00", "", "?"]),
        max_size=2,
    ).map(lambda answers: {**form, **answers})
)


def test_any_posted_form_is_answered_in_the_spec_shape(
    o311: O311, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(errors, "log", recorder)

    @given(forms, st.sampled_from(["json", "xml"]))
    @example({"service_code": "010101", "description": "x", "lat": "1e400", "long": "1"}, "json")
    @settings(
        max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    def post(form: dict[str, Any], fmt: str) -> None:
        r = o311.post("requests", fmt, **{"api_key": o311.key, **form})
        assert r.status_code in (200, 201, 400, 403, 404), (r.status_code, r.text)
        if r.status_code >= 400:
            assert all(set(e) == {"code", "description"} for e in o311.parse(r))
        assert recorder.entries == [], recorder.entries

    post()
