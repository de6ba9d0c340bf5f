"""The FixMyStreet request-updates extension: the public feed, and units posting progress."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from intake.open311.o311city import O311, OTHER_UNIT, UNIT
from jiesu.intake.open311.public import PUBLIC_KINDS, public_step
from jiesu.workflow.models import Event
from jiesu.workflow.transitions import TRANSITIONS

UPDATE_FIELDS = [
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
    "external_status_code",
]


def feed(o311: O311, fmt: str = "json", **params: Any) -> list[dict[str, Any]]:
    r = o311.get("servicerequestupdates", fmt, **params)
    assert r.status_code == 200, r.text
    return o311.parse(r)  # type: ignore[no-any-return]


def update(o311: O311, fmt: str = "json", key: str | None = None, **form: Any) -> Any:
    return o311.post("servicerequestupdates", fmt, api_key=key or o311.unit_key, **form)


def dispatched(o311: O311, unit: str = UNIT) -> str:
    ticket = o311.ticket()
    o311.act(ticket, "dispatch", unit=unit)
    return ticket


# ---------------------------------------------------------------- the public feed
def test_a_whole_life_as_updates(o311: O311, fmt: str) -> None:
    ticket = o311.ticket()
    steps = [
        ("dispatch", "disp", {"unit": UNIT}),
        ("accept", o311.handler(), {}),
        ("note", "op", {"text": "内部备注"}),
        ("reply", o311.handler(), {"text": "已处理，联系人电话 13800001111"}),
        ("call_back", "op", {"solved": False, "satisfaction": "unsatisfied"}),
        ("reopen", "op", {"reason": "仍有噪音"}),
        ("accept", o311.handler(), {}),
        ("reply", o311.handler(), {"text": "已彻底处理"}),
        ("call_back", "op", {"solved": True, "satisfaction": "satisfied"}),
        ("close", "op", {}),
    ]
    for action, who, params in steps:
        o311.clock.advance(timedelta(minutes=10))
        o311.act(ticket, action, who, **params)
    got = feed(o311, fmt)
    assert all(list(u) == UPDATE_FIELDS for u in got)
    assert [(u["external_status_code"], u["status"]) for u in got] == [
        ("received", "OPEN"),
        ("dispatch", "OPEN"),
        ("accept", "INVESTIGATING"),
        ("reply", "IN_PROGRESS"),
        ("call_back", "IN_PROGRESS"),
        ("reopen", "REOPEN"),
        ("accept", "INVESTIGATING"),
        ("reply", "IN_PROGRESS"),
        ("call_back", "FIXED"),
        ("close", "FIXED"),
    ]
    assert {u["service_request_id"] for u in got} == {ticket}
    assert got[1]["description"] == "已派发至东华门街道办事处"
    assert got[3]["description"] == "已处理，联系人电话 138****1111"
    assert got[-1]["updated_datetime"] == "2026-11-02T11:10:00+08:00"
    events = o311.session.scalars(select(Event).where(Event.kind != "note")).all()
    assert [u["update_id"] for u in got] == [str(e.id) for e in sorted(events, key=lambda e: e.at)]
    assert "内部备注" not in o311.get("servicerequestupdates", fmt).text


def test_xml_wrappers_and_element_names(o311: O311) -> None:
    o311.ticket()
    root = ET.fromstring(o311.get("servicerequestupdates", "xml").content)
    assert root.tag == "service_request_updates"
    assert [c.tag for c in root] == ["request_update"]
    assert [e.tag for e in root[0]] == UPDATE_FIELDS


def test_closing_unsolved_reads_closed_and_the_rest_of_the_mapping(o311: O311) -> None:
    unsolved, original, duplicate, spam, transferred, returned = (o311.ticket() for _ in range(6))
    o311.act(unsolved, "dispatch", unit=UNIT)
    o311.act(unsolved, "accept", o311.handler())
    o311.act(unsolved, "reply", o311.handler(), text="无法解决")
    o311.act(unsolved, "call_back", "op", solved=False, satisfaction="basically")
    o311.act(unsolved, "close", "op")
    o311.act(duplicate, "merge", into=original)
    o311.act(spam, "mark_invalid", reason="spam")
    o311.act(spam, "confirm_invalid", "sup")
    o311.act(transferred, "dispatch", unit=UNIT)
    o311.act(transferred, "transfer", unit=OTHER_UNIT, reason="不属本街道")
    o311.act(returned, "dispatch", unit=UNIT)
    o311.act(returned, "return", o311.handler(), reason="不属本单位")
    by_kind = {(u["service_request_id"], u["external_status_code"]): u for u in feed(o311)}
    assert by_kind[unsolved, "close"]["status"] == "CLOSED"
    assert by_kind[duplicate, "merge"]["status"] == "DUPLICATE"
    assert (spam, "mark_invalid") not in by_kind  # a proposal is internal
    assert by_kind[spam, "confirm_invalid"]["status"] == "NO_FURTHER_ACTION"
    assert by_kind[transferred, "transfer"]["status"] == "OPEN"
    assert by_kind[transferred, "transfer"]["description"] == "已转派至交道口街道办事处"
    assert by_kind[returned, "return"]["status"] == "OPEN"
    assert "不属本单位" not in str(by_kind)


def test_every_workflow_action_is_either_public_or_deliberately_internal() -> None:
    internal = {"note", "mark_invalid", "categorize", "contest", "reject_dispute", "report"}
    assert set(PUBLIC_KINDS) == (set(TRANSITIONS) - internal) | {"received"}
    for kind in PUBLIC_KINDS:
        assert public_step(kind, {}, solved=None) is not None
    for kind in (*internal, "overdue"):
        assert public_step(kind, {}, solved=None) is None


def test_the_feed_window_and_paging(o311: O311, fmt: str) -> None:
    # The feed is about when things happened: events are dated by the clock, so move it.
    now = o311.clock.now()
    tickets = []
    for ago in (timedelta(days=100), timedelta(hours=3), timedelta(hours=2), timedelta(hours=1)):
        o311.clock.set(now - ago)
        tickets.append(o311.seed(now - ago).ticket)
    o311.clock.set(now)
    tickets = tickets[1:]  # the first is outside the default 90 days
    assert [u["service_request_id"] for u in feed(o311, fmt)] == tickets  # oldest first
    start = (now - timedelta(hours=2, minutes=30)).isoformat()
    end = (now - timedelta(minutes=30)).isoformat()
    assert [u["service_request_id"] for u in feed(o311, fmt, start_date=start, end_date=end)] == (
        tickets[1:]
    )
    assert [u["service_request_id"] for u in feed(o311, fmt, page_size="1", page="2")] == [
        tickets[1]
    ]
    r = o311.get("servicerequestupdates", fmt, start_date="2026-01-01T00:00:00Z")
    assert r.status_code == 200
    r = o311.get(
        "servicerequestupdates",
        fmt,
        start_date="2026-01-01T00:00:00Z",
        end_date="2026-11-01T00:00:00Z",
    )
    assert r.status_code == 400 and "90 days" in o311.parse(r)[0]["description"]


# ---------------------------------------------------------------- units posting updates
def test_a_unit_accepts_and_replies(o311: O311, fmt: str) -> None:
    ticket = dispatched(o311)
    r = update(o311, fmt, service_request_id=ticket, status="INVESTIGATING")
    assert r.status_code == 201, r.text
    [item] = o311.parse(r)
    assert list(item) == UPDATE_FIELDS
    assert (item["status"], item["external_status_code"]) == ("INVESTIGATING", "accept")
    assert o311.request(ticket).status == "accepted"
    r = update(o311, fmt, service_request_id=ticket, status="FIXED", description="已清理")
    assert r.status_code == 201, r.text
    [item] = o311.parse(r)
    assert (item["status"], item["external_status_code"]) == ("FIXED", "reply")
    req = o311.request(ticket)
    assert req.status == "replied"
    last = o311.session.scalars(select(Event).where(Event.request_id == req.id)).all()[-1]
    assert (last.kind, last.actor, last.payload["text"]) == (
        "reply",
        "open311:east-street-office",
        "已清理",
    )
    assert item["update_id"] == str(last.id)


def test_closed_also_replies_and_statuses_are_case_insensitive(o311: O311) -> None:
    ticket = dispatched(o311)
    assert update(o311, service_request_id=ticket, status="investigating").status_code == 201
    r = update(o311, service_request_id=ticket, status="closed", description="办结")
    assert r.status_code == 201 and r.json()[0]["external_status_code"] == "reply"


def test_a_description_with_investigating_is_kept_as_a_note(o311: O311) -> None:
    ticket = dispatched(o311)
    r = update(o311, service_request_id=ticket, status="INVESTIGATING", description="明早到场")
    assert r.status_code == 201 and r.json()[0]["external_status_code"] == "accept"
    kinds = [e.kind for e in o311.session.scalars(select(Event).order_by(Event.id))]
    assert kinds[-2:] == ["accept", "note"]


def test_not_our_responsibility_returns_it_with_the_reason(o311: O311) -> None:
    ticket = dispatched(o311)
    r = update(
        o311,
        service_request_id=ticket,
        status="NOT_COUNCILS_RESPONSIBILITY",
        description="物业负责",
    )
    assert r.status_code == 201, r.text
    req = o311.request(ticket)
    assert req.status == "returned" and req.lead_unit is None
    last = o311.session.scalars(select(Event).order_by(Event.id.desc())).first()
    assert last is not None and last.payload["reason"] == "物业负责"


def test_other_statuses_are_notes(o311: O311) -> None:
    ticket = dispatched(o311)
    r = update(
        o311,
        service_request_id=ticket,
        status="action scheduled",
        description="周五上午维修",
        media_url="https://img.example.com/plan.jpg",
    )
    assert r.status_code == 201, r.text
    assert r.json()[0]["status"] == "ACTION_SCHEDULED"
    assert r.json()[0]["external_status_code"] == "note"
    assert o311.request(ticket).status == "dispatched"
    last = o311.session.scalars(select(Event).order_by(Event.id.desc())).first()
    assert last is not None
    assert last.payload["text"] == "周五上午维修\nhttps://img.example.com/plan.jpg"


def test_an_unbound_key_only_adds_notes(o311: O311, fmt: str) -> None:
    ticket = dispatched(o311)
    r = update(
        o311, fmt, key=o311.key, service_request_id=ticket, status="FIXED", description="好了"
    )
    assert r.status_code == 201, r.text
    [item] = o311.parse(r)
    assert item["external_status_code"] == "note"
    assert o311.request(ticket).status == "dispatched"


def test_an_illegal_step_is_400_naming_what_is_allowed(o311: O311, fmt: str) -> None:
    ticket = dispatched(o311)
    r = update(o311, fmt, service_request_id=ticket, status="FIXED", description="已处理")
    assert r.status_code == 400
    [error] = o311.parse(r)
    assert "cannot reply" in error["description"]
    assert "INVESTIGATING" in error["description"] and "any other status" in error["description"]


def test_a_key_of_another_unit_is_403(o311: O311, fmt: str) -> None:
    ticket = dispatched(o311)
    r = update(
        o311, fmt, key=o311.other_unit_key, service_request_id=ticket, status="INVESTIGATING"
    )
    assert r.status_code == 403
    [error] = o311.parse(r)
    assert error["code"] == "403"
    r = update(
        o311,
        fmt,
        key=o311.other_unit_key,
        service_request_id=ticket,
        status="OPEN",
        description="x",
    )
    assert r.status_code == 403  # not even a note on another unit's case


@pytest.mark.parametrize(
    ("form", "status", "needle"),
    [
        ({"status": "FIXED", "description": "x"}, 400, "service_request_id"),
        ({"service_request_id": "T", "description": "x"}, 400, "status"),
        ({"service_request_id": "T", "status": "DONE", "description": "x"}, 400, "status"),
        ({"service_request_id": "T", "status": "FIXED"}, 400, "description: is required"),
        ({"service_request_id": "T", "status": "OPEN", "description": "长" * 4001}, 400, "4,000"),
        (
            {
                "service_request_id": "T",
                "status": "OPEN",
                "description": "x",
                "media_url": "ftp://x",
            },
            400,
            "media_url",
        ),
        (
            {"service_request_id": "20261102-NOSUCH", "status": "OPEN", "description": "x"},
            404,
            "NOSUCH",
        ),
    ],
)
def test_bad_updates(o311: O311, fmt: str, form: dict[str, str], status: int, needle: str) -> None:
    ticket = dispatched(o311)
    form = {k: (ticket if v == "T" else v) for k, v in form.items()}
    r = update(o311, fmt, **form)
    assert r.status_code == status, r.text
    assert any(needle in e["description"] for e in o311.parse(r))


@pytest.mark.parametrize("key", [None, "", "wrong"])
def test_updates_need_a_valid_key(o311: O311, fmt: str, key: str | None) -> None:
    ticket = dispatched(o311)
    form = {"service_request_id": ticket, "status": "INVESTIGATING"}
    if key is not None:
        form["api_key"] = key
    r = o311.post("servicerequestupdates", fmt, **form)
    assert r.status_code == 403
    assert "update_request" in o311.parse(r)[0]["description"]


def test_a_retried_update_is_not_applied_twice(o311: O311) -> None:
    ticket = dispatched(o311)
    first = update(o311, service_request_id=ticket, status="INVESTIGATING", description="收到")
    again = update(o311, service_request_id=ticket, status="INVESTIGATING", description="收到")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    note = {"service_request_id": ticket, "status": "IN_PROGRESS", "description": "施工中"}
    first, again = update(o311, **note), update(o311, **note)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()[0]["update_id"] == again.json()[0]["update_id"]
    kinds = [e.kind for e in o311.session.scalars(select(Event).order_by(Event.id))]
    assert kinds == ["received", "dispatch", "accept", "note", "note"]
