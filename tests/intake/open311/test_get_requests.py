"""GET Service Requests and GET Service Request: fields, statuses, privacy, every filter."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest

from intake.open311.o311city import O311, UNIT

FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
W3C_BEIJING = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")


def ids(o311: O311, fmt: str = "json", **params: Any) -> list[str]:
    r = o311.get("requests", fmt, **params)
    assert r.status_code == 200, r.text
    return [item["service_request_id"] for item in o311.parse(r)]


def one(o311: O311, ticket: str, fmt: str = "json") -> dict[str, Any]:
    r = o311.get(f"requests/{ticket}", fmt)
    assert r.status_code == 200, r.text
    [item] = o311.parse(r)
    return item  # type: ignore[no-any-return]


def closed_loop(o311: O311, ticket: str, *, solved: bool = True) -> None:
    o311.act(ticket, "dispatch", unit=UNIT)
    o311.act(ticket, "accept", o311.handler())
    o311.act(ticket, "reply", o311.handler(), text="已协调施工方停止夜间施工")
    o311.act(ticket, "call_back", "op", solved=solved, satisfaction="satisfied")
    o311.act(ticket, "close", "op", note="已办结，市民满意")


def test_a_new_request_in_every_field(o311: O311, fmt: str) -> None:
    ticket = o311.ticket(
        address_string="东华门街道某小区3号楼",
        address_id="ADDR-7",
        media_url="https://img.example.com/a.jpg",
    )
    item = one(o311, ticket, fmt)
    assert list(item) == FIELDS
    assert item == {
        "service_request_id": ticket,
        "status": "open",
        "status_notes": "诉求已受理",
        "service_name": "噪音扰民",
        "service_code": "010101",
        "description": "东华门街道某小区楼下饭店每天夜里施工，噪音很大",
        "agency_responsible": None,
        "service_notice": "噪音扰民：24小时内响应，7个工作日内办结",
        "requested_datetime": "2026-11-02T09:30:00+08:00",
        "updated_datetime": "2026-11-02T09:30:00+08:00",
        "expected_datetime": None,
        "address": "东华门街道某小区3号楼",
        "address_id": "ADDR-7",
        "zipcode": None,
        "lat": "39.915",
        "long": "116.404",
        "media_url": "https://img.example.com/a.jpg",
    }


def test_xml_wrappers_and_element_names(o311: O311) -> None:
    ticket = o311.ticket()
    for path in ("requests", f"requests/{ticket}"):
        root = ET.fromstring(o311.get(path, "xml").content)
        assert root.tag == "service_requests"
        assert [c.tag for c in root] == ["request"]
        assert [e.tag for e in root[0]] == FIELDS


def test_json_numbers_and_lists(o311: O311) -> None:
    ticket = o311.ticket()
    body = o311.get(f"requests/{ticket}").json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["lat"] == 39.915 and body[0]["zipcode"] is None


def test_dispatched_and_answered(o311: O311, fmt: str) -> None:
    ticket = o311.ticket()
    o311.act(ticket, "dispatch", unit=UNIT)
    o311.clock.advance(timedelta(hours=2))
    o311.act(ticket, "accept", o311.handler())
    o311.act(ticket, "reply", o311.handler(), text="已处理，有问题请联系 13800001111")
    item = one(o311, ticket, fmt)
    req = o311.request(ticket)
    assert item["status"] == "open"
    assert item["agency_responsible"] == "东华门街道办事处"
    assert item["status_notes"] == "已处理，有问题请联系 138****1111"
    assert item["expected_datetime"] == req.handling_due.astimezone(o311.ctx.tz).isoformat()  # type: ignore[union-attr]
    assert item["updated_datetime"] == "2026-11-02T11:30:00+08:00"


def test_closed_is_closed_with_the_close_time(o311: O311, fmt: str) -> None:
    ticket = o311.ticket()
    closed_loop(o311, ticket)
    o311.clock.advance(timedelta(days=1))
    o311.act(ticket, "note", "op", text="internal remark, not public")
    item = one(o311, ticket, fmt)
    assert item["status"] == "closed"
    assert item["status_notes"] == "已办结，市民满意"
    assert item["updated_datetime"] == "2026-11-02T09:30:00+08:00"  # the close, not the note
    assert "internal" not in o311.get(f"requests/{ticket}", fmt).text


def test_merged_and_invalid_are_closed(o311: O311) -> None:
    original, duplicate, spam = o311.ticket(), o311.ticket(), o311.ticket()
    o311.act(duplicate, "merge", into=original)
    o311.act(spam, "mark_invalid", reason="广告")
    assert one(o311, spam)["status"] == "open"  # only proposed
    o311.act(spam, "confirm_invalid", "sup")
    items = {i["service_request_id"]: i for i in o311.get("requests").json()}
    assert items[original]["status"] == "open"
    assert items[duplicate]["status"] == "closed"
    assert items[duplicate]["status_notes"] == f"与工单{original}重复，已合并办理"
    assert items[spam]["status"] == "closed"
    assert items[spam]["status_notes"] == "经审核为无效诉求，不再办理"
    assert "广告" not in o311.get("requests").text


def test_contact_data_never_leaves(o311: O311, fmt: str) -> None:
    o311.new(
        first_name="三",
        last_name="张",
        phone="13912345678",
        email="zhang@example.com",
        description="我是张三，电话13912345678，身份证110101199001011234，邮箱zhang@example.com",
        address_string="东华门街道3号楼，电话 010-65123456",
    )
    text = o311.get("requests", fmt).text
    for secret in ("13912345678", "zhang@example.com", "110101199001011234", "65123456"):
        assert secret not in text
    item = o311.parse(o311.get("requests", fmt))[0]
    assert "139****5678" in item["description"] and "110101************" in item["description"]
    for name in ("first_name", "last_name", "phone", "email", "contact"):
        assert name not in item


def test_datetimes_are_w3c_with_the_city_offset(o311: O311, fmt: str) -> None:
    ticket = o311.ticket()
    closed_loop(o311, ticket)
    item = one(o311, ticket, fmt)
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C_BEIJING.fullmatch(item[field]), (field, item[field])


def test_an_unknown_request_is_404(o311: O311, fmt: str) -> None:
    r = o311.get("requests/20261102-NOSUCH", fmt)
    assert r.status_code == 404
    [error] = o311.parse(r)
    assert error["code"] == "404" and "20261102-NOSUCH" in error["description"]


# ---------------------------------------------------------------- filters
def test_service_request_id_overrides_every_other_argument(o311: O311, fmt: str) -> None:
    old = o311.seed(o311.clock.now() - timedelta(days=200), category="010103").ticket
    new = o311.ticket()
    asked = f"{new},{old},20261102-NOSUCH"
    got = ids(
        o311,
        fmt,
        service_request_id=asked,
        status="closed",
        service_code="999999",
        start_date="2000-01-01T00:00:00Z",
        end_date="2000-01-02T00:00:00Z",
        page="7",
        page_size="bogus",
    )
    assert got == [new, old]  # in the order asked; unknown ids are simply absent


def test_service_code_list(o311: O311, fmt: str) -> None:
    now = o311.clock.now()
    noise = o311.seed(now - timedelta(hours=3)).ticket
    gas = o311.seed(now - timedelta(hours=2), category="010103").ticket
    land = o311.seed(now - timedelta(hours=1), category="010104").ticket
    assert ids(o311, fmt, service_code="010101,010104") == [land, noise]
    assert ids(o311, fmt, service_code=["010101", "010103"]) == [gas, noise]  # repeated
    assert ids(o311, fmt, service_code="010103") == [gas]
    assert ids(o311, fmt, service_code="999999") == []


def test_status_list(o311: O311, fmt: str) -> None:
    open_one, closed_one = o311.ticket(), o311.ticket()
    closed_loop(o311, closed_one)
    assert ids(o311, fmt, status="open") == [open_one]
    assert ids(o311, fmt, status="closed") == [closed_one]
    assert set(ids(o311, fmt, status="open,closed")) == {open_one, closed_one}
    r = o311.get("requests", fmt, status="pending")
    assert r.status_code == 400 and "status" in o311.parse(r)[0]["description"]


def test_the_default_window_is_the_most_recent_90_days(o311: O311, fmt: str) -> None:
    now = o311.clock.now()
    recent = o311.seed(now - timedelta(days=89, hours=23)).ticket
    o311.seed(now - timedelta(days=90, minutes=1))
    assert ids(o311, fmt) == [recent]


def test_an_explicit_window_is_inclusive(o311: O311, fmt: str) -> None:
    now = o311.clock.now()
    at_start = o311.seed(now - timedelta(days=10)).ticket
    inside = o311.seed(now - timedelta(days=5)).ticket
    at_end = o311.seed(now - timedelta(days=1)).ticket
    o311.seed(now - timedelta(days=1) + timedelta(seconds=1))
    start = (now - timedelta(days=10)).astimezone(o311.ctx.tz).isoformat()
    end = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(o311, fmt, start_date=start, end_date=end) == [at_end, inside, at_start]


def test_one_bound_makes_a_90_day_window(o311: O311) -> None:
    now = o311.clock.now()
    old = o311.seed(now - timedelta(days=150)).ticket
    older = o311.seed(now - timedelta(days=200)).ticket
    start = (now - timedelta(days=160)).isoformat()
    assert ids(o311, start_date=start) == [old]  # 160 → 70 days ago
    end = (now - timedelta(days=120)).isoformat()
    assert ids(o311, end_date=end) == [old, older]  # 210 → 120 days ago


def test_an_unescaped_plus_in_the_zone_is_understood(o311: O311) -> None:
    ticket = o311.ticket()
    # "+08:00" sent raw in a query string arrives as " 08:00".
    r = o311.client.get(
        "/open311/v2/requests.json?start_date=2026-11-01T00:00:00+08:00"
        "&end_date=2026-11-03T00:00:00+08:00"
    )
    assert r.status_code == 200 and [i["service_request_id"] for i in r.json()] == [ticket]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, "90 days"),
        ({"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "earlier"),
        ({"start_date": "2026-11-01T00:00:00"}, "time zone"),
        ({"start_date": "2026-11-01"}, "time zone"),
        ({"end_date": "yesterday"}, "end_date"),
        ({"start_date": "2026-02-30T00:00:00Z"}, "not a real date"),
        ({"page": "0"}, "page:"),
        ({"page": "two"}, "page:"),
        ({"page_size": "0"}, "page_size:"),
        ({"page_size": "1001"}, "page_size:"),
        ({"page_size": "-5"}, "page_size:"),
        ({"page_size": "１０"}, "page_size:"),  # full-width digits are not a number here
    ],
)
def test_bad_filters_are_400(o311: O311, fmt: str, params: dict[str, str], needle: str) -> None:
    r = o311.get("requests", fmt, **params)
    assert r.status_code == 400, r.text
    [error] = o311.parse(r)
    assert error["code"] == "400" and needle in error["description"]


def test_a_span_of_exactly_90_days_is_allowed(o311: O311) -> None:
    r = o311.get(
        "requests", start_date="2026-08-04T09:30:00+08:00", end_date="2026-11-02T09:30:00+08:00"
    )
    assert r.status_code == 200


def test_an_empty_parameter_is_an_absent_one(o311: O311, fmt: str) -> None:
    now = o311.clock.now()
    tickets = [o311.seed(now - timedelta(hours=h)).ticket for h in (3, 2, 1)]
    o311.seed(now - timedelta(days=100))
    empty = dict.fromkeys(
        (
            "service_request_id",
            "service_code",
            "status",
            "start_date",
            "end_date",
            "page",
            "page_size",
            "jurisdiction_id",
        ),
        "",
    )
    assert ids(o311, fmt, **empty) == ids(o311, fmt) == list(reversed(tickets))
    assert o311.get("requests", fmt, **empty).content == o311.get("requests", fmt).content


def test_paging_newest_first(o311: O311, fmt: str) -> None:
    now = o311.clock.now()
    tickets = [o311.seed(now - timedelta(hours=h)).ticket for h in range(5, 0, -1)]
    newest_first = list(reversed(tickets))
    assert ids(o311, fmt, page_size="2") == newest_first[:2]
    assert ids(o311, fmt, page_size="2", page="2") == newest_first[2:4]
    assert ids(o311, fmt, page_size="2", page="3") == newest_first[4:]
    assert ids(o311, fmt, page_size="2", page="4") == []
    assert ids(o311, fmt, page="2") == []  # 1000 a page by default
    # The largest page allowed still makes an offset PostgreSQL's INTEGER can hold.
    assert ids(o311, fmt, page="1000000", page_size="1000") == []
    assert (
        o311.get("servicerequestupdates", fmt, page="1000000", page_size="1000").status_code == 200
    )


def test_an_empty_list_is_an_empty_wrapper(o311: O311) -> None:
    root = ET.fromstring(o311.get("requests", "xml").content)
    assert root.tag == "service_requests" and len(root) == 0
    assert o311.get("requests", "json").json() == []


def test_requests_of_other_channels_are_listed_without_category(o311: O311, fmt: str) -> None:
    req = o311.seed(o311.clock.now() - timedelta(hours=1), category=None, address="东城区")
    item = one(o311, req.ticket, fmt)
    assert item["service_code"] is None and item["service_name"] is None
    assert item["service_notice"] is None and item["address"] == "东城区"
