"""The pieces without a database: rendering and argument parsing (with properties).

Masking of personal data in the texts Open311 serves is tested in tests/privacy/test_pii.py.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.open311.o311city import Recorder
from jiesu.intake.open311 import errors
from jiesu.intake.open311.errors import Open311Error, translate
from jiesu.intake.open311.formats import Many, render, to_json, to_xml, w3c
from jiesu.intake.open311.params import attributes, csv, paging, w3c_datetime, window

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


def test_xml_has_the_declaration_and_spec_wrappers() -> None:
    body = to_xml("services", Many("service", [{"service_code": "1", "metadata": True}]))
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<services>')
    root = ET.fromstring(body)
    assert root[0].tag == "service" and root[0][1].text == "true"


def test_spark_json_arrays_even_for_one_item_and_objects_for_records() -> None:
    assert json.loads(to_json(Many("request", [{"a": None}]))) == [{"a": None}]
    assert json.loads(to_json(Many("request", []))) == []
    doc = {"service_code": "X", "attributes": Many("attribute", [{"values": Many("value", [])}])}
    assert json.loads(to_json(doc)) == {"service_code": "X", "attributes": [{"values": []}]}


def test_control_characters_cannot_break_the_xml() -> None:
    body = to_xml("r", {"description": "bell\x07 nul\x00 tab\t ok <&>"})
    assert ET.fromstring(body)[0].text == "bell nul tab\t ok <&>"


def test_content_types() -> None:
    assert render("xml", "r", {}).headers["content-type"] == "text/xml; charset=utf-8"
    assert render("json", "r", {}).headers["content-type"] == "application/json; charset=utf-8"


def test_w3c_output_has_the_city_offset_and_whole_seconds() -> None:
    assert w3c(datetime(2026, 11, 2, 1, 30, 5, 999, tzinfo=UTC), BEIJING) == (
        "2026-11-02T09:30:05+08:00"
    )
    assert w3c(None, BEIJING) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-01-01T00:00:00Z", datetime(2010, 1, 1, tzinfo=UTC)),
        ("1994-11-05T08:15:30-05:00", datetime(1994, 11, 5, 13, 15, 30, tzinfo=UTC)),
        ("2026-11-02T09:30+08:00", datetime(2026, 11, 2, 1, 30, tzinfo=UTC)),
        ("2026-11-02T09:30:00.25+08:00", datetime(2026, 11, 2, 1, 30, 0, 250000, tzinfo=UTC)),
        ("2026-11-02T09:30:00 08:00", datetime(2026, 11, 2, 1, 30, tzinfo=UTC)),
    ],
)
def test_w3c_input(text: str, expected: datetime) -> None:
    assert w3c_datetime("start_date", text) == expected


@given(st.text(max_size=40))
def test_any_date_text_is_a_datetime_with_a_zone_or_a_400(text: str) -> None:
    try:
        value = w3c_datetime("start_date", text)
    except Open311Error as exc:
        assert exc.status == 400 and exc.errors[0][1].startswith("start_date")
    else:
        assert value is None or value.utcoffset() is not None


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=200)),
    st.booleans(),
    st.booleans(),
)
def test_a_window_never_spans_more_than_90_days(
    start: datetime, span: timedelta, give_start: bool, give_end: bool
) -> None:
    s = start.replace(tzinfo=UTC)
    args = (s.isoformat() if give_start else None, (s + span).isoformat() if give_end else None)
    try:
        w = window(*args, now=NOW)
    except Open311Error as exc:
        assert give_start and give_end and span > timedelta(days=90)
        assert exc.status == 400
    else:
        assert timedelta(0) <= w.end - w.start <= timedelta(days=90)


def test_lists_and_paging() -> None:
    assert csv(" a, b,,a ") == ["a", "b"]
    assert csv(" , ") is None and csv("") is None and csv(None) is None
    assert paging(None, None).page_size == 1000
    assert paging("", "").page == 1
    with pytest.raises(Open311Error):
        paging("1", "1001")


def test_attribute_keys() -> None:
    items = [
        ("attribute[A]", "1"),
        ("attribute[B][]", "x"),
        ("attribute[B][]", "y"),
        ("attribute[C]", ""),
        ("attribute[]", "no code"),
        ("attributes[D]", "not an attribute"),
        ("api_key", "k"),
    ]
    assert attributes(items) == {"A": ["1"], "B": ["x", "y"]}


@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=20))
def test_any_form_reads_as_attributes_without_error(items: list[tuple[str, str]]) -> None:
    answers = attributes(items)
    assert all(values for values in answers.values())


def test_unexpected_exceptions_become_a_general_400_without_details(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(errors, "log", recorder)
    error = translate(RuntimeError("password=hunter2 at db host 10.0.0.7"))
    assert recorder.entries == [("open311.failed", {"error": "RuntimeError"})]
    assert error.status == 400
    [(code, description)] = error.errors
    assert code == 500 and "hunter2" not in description and "10.0.0.7" not in description
