"""POST Service Request: what lands in our tables, every error case, retries, tokens."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from intake.open311.o311city import O311
from jiesu.intake.models import ApiKey
from jiesu.intake.open311.catalog import Options
from jiesu.workflow.models import Event, ServiceRequest

WATER = {
    "service_code": "010102",
    "address_string": "东华门街道某小区3号楼",
    "attribute[SCOPE]": "building",
}


def count(o311: O311) -> int:
    o311.session.expire_all()
    return o311.session.scalar(select(func.count(ServiceRequest.id))) or 0


def errors(o311: O311, r: object) -> list[str]:
    return [e["description"] for e in o311.parse(r)]  # type: ignore[arg-type]


def test_a_request_goes_through_the_one_door(o311: O311, fmt: str) -> None:
    r = o311.new(
        fmt,
        first_name="三",
        last_name="张",
        phone="13912345678",
        email="zhang@example.com",
        device_id="tt222111",
        account_id="123456",
        media_url="https://img.example.com/noise.jpg",
    )
    assert r.status_code == 201, r.text
    [item] = o311.parse(r)
    assert list(item) == ["service_request_id", "service_notice", "account_id"]
    assert item["service_notice"] == "噪音扰民：24小时内响应，7个工作日内办结"
    assert item["account_id"] == "123456"  # echoed, never stored
    req = o311.request(item["service_request_id"])
    assert req.channel == "open311" and req.status == "received"
    assert req.category is not None and req.category.code == "010101"
    assert (req.lat, req.lon) == (39.915, 116.404)
    assert req.text.startswith("东华门街道某小区楼下饭店")
    assert req.media_url == "https://img.example.com/noise.jpg"
    assert req.contact is not None
    assert (req.contact.name, req.contact.phone, req.contact.email) == (
        "张三",
        "13912345678",
        "zhang@example.com",
    )
    [event] = o311.session.scalars(select(Event).where(Event.request_id == req.id)).all()
    assert (event.kind, event.actor) == ("received", "open311:fixmystreet")
    assert "tt222111" not in json.dumps(event.payload) and "123456" not in json.dumps(
        req.attributes
    )


def test_xml_response_element_names(o311: O311) -> None:
    root = ET.fromstring(o311.new("xml").content)
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
    assert [e.tag for e in root[0]] == ["service_request_id", "service_notice", "account_id"]


def test_answers_and_address_are_kept(o311: O311) -> None:
    r = o311.post(
        "requests",
        api_key=o311.key,
        **WATER,
        address_id="ADDR-0042",
        **{
            "attribute[FLOORS][]": ["low", "high"],
            "attribute[HOUSEHOLDS]": "24",
            "attribute[WHEN]": "2026-11-02T07:00:00+08:00",
            "attribute[METER]": "M-88",
            "attribute[UNASKED]": "whatever a client adds",
        },
    )
    assert r.status_code == 201, r.text
    req = o311.request(r.json()[0]["service_request_id"])
    assert req.address == "东华门街道某小区3号楼"
    assert req.text == "停水"  # no description: the service name stands in
    assert req.contact is None
    assert req.attributes == {
        "SCOPE": "building",
        "FLOORS": ["low", "high"],
        "WHEN": "2026-11-02T07:00:00+08:00",
        "HOUSEHOLDS": 24,
        "METER": "M-88",
        "_open311": {"address_id": "ADDR-0042"},
    }


@pytest.mark.parametrize(
    "location",
    [
        {"lat": "39.9", "long": "116.4"},
        {"address_string": "东华门街道"},
        {"address_id": "A-1"},
        {"lat": "", "long": "", "address_string": "东华门街道"},  # empty equals absent
    ],
)
def test_any_one_location_will_do(o311: O311, location: dict[str, str]) -> None:
    r = o311.new(**({"lat": None, "long": None} | location))
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------- the key
@pytest.mark.parametrize("which", ["missing", "empty", "wrong", "revoked"])
def test_no_valid_api_key_is_403(o311: O311, fmt: str, which: str) -> None:
    key = {"missing": None, "empty": "", "wrong": "not-a-key", "revoked": o311.revoked_key}[which]
    r = o311.new(fmt, api_key=key)
    assert r.status_code == 403
    [error] = o311.parse(r)
    assert error["code"] == "403"
    assert "api_key" in error["description"] and "create_request" in error["description"]
    assert count(o311) == 0


def test_the_key_is_checked_before_anything_else(o311: O311) -> None:
    r = o311.new(api_key="wrong", service_code="nope", lat="500")
    assert r.status_code == 403


def test_the_key_may_come_in_the_query_string(o311: O311) -> None:
    # The `open311` Python library puts api_key and jurisdiction_id in the POST's URL.
    r = o311.client.post(
        f"/open311/v2/requests.xml?api_key={o311.key}&jurisdiction_id=test.jiesu.city",
        data={"service_code": "010101", "address_string": "东华门街道"},
    )
    assert r.status_code == 201, r.text


def test_key_use_is_recorded(o311: O311) -> None:
    o311.new()
    o311.session.expire_all()
    key = o311.session.scalar(select(ApiKey).where(ApiKey.name == "fixmystreet"))
    assert key is not None and key.last_used_at == o311.clock.now()


# ---------------------------------------------------------------- 404s
def test_unknown_service_code_is_404(o311: O311, fmt: str) -> None:
    r = o311.new(fmt, service_code="999999")
    assert r.status_code == 404
    assert "999999" in errors(o311, r)[0]


def test_wrong_jurisdiction_is_404(o311: O311, fmt: str) -> None:
    r = o311.new(fmt, jurisdiction_id="sfgov.org")
    assert r.status_code == 404
    assert "jurisdiction_id" in errors(o311, r)[0]
    assert o311.new(fmt, jurisdiction_id="test.jiesu.city").status_code == 201


# ---------------------------------------------------------------- 400s
@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"service_code": None}, "service_code"),
        ({"service_code": ""}, "service_code"),
        ({"lat": None, "long": None}, "a location is required"),
        ({"lat": "", "long": ""}, "a location is required"),
        ({"long": None}, "lat, long: give both or neither"),
        ({"lat": None}, "lat, long: give both or neither"),
        ({"lat": "north"}, "lat:"),
        ({"lat": "91"}, "lat:"),
        ({"long": "-180.5"}, "long:"),
        ({"lat": "nan"}, "lat:"),
        ({"description": "长" * 4001}, "description: is 4,001 characters long"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"phone": "call me maybe"}, "phone"),
        ({"first_name": "名" * 60, "last_name": "姓" * 60}, "last_name, first_name"),
        ({"address_string": "址" * 501, "lat": None, "long": None}, "address_string"),
    ],
)
def test_bad_arguments_are_400_naming_them(
    o311: O311, fmt: str, change: dict[str, str | None], needle: str
) -> None:
    r = o311.new(fmt, **change)
    assert r.status_code == 400, r.text
    [error] = o311.parse(r)
    assert error["code"] == "400" and needle in error["description"]
    assert count(o311) == 0


def test_a_description_of_exactly_4000_characters_is_fine(o311: O311) -> None:
    assert o311.new(description="长" * 4000).status_code == 201


def test_every_problem_is_reported_at_once(o311: O311, fmt: str) -> None:
    r = o311.post(
        "requests",
        fmt,
        api_key=o311.key,
        service_code="010102",
        lat="95",
        description="x" * 4001,
        **{"attribute[FLOORS][]": "roof"},
    )
    assert r.status_code == 400
    found = errors(o311, r)
    assert len(found) == 5, found
    for needle in ("lat:", "give both", "description", "attribute[SCOPE]: is required", "roof"):
        assert any(needle in e for e in found), (needle, found)


HOME = {"attribute[SCOPE]": "home"}


@pytest.mark.parametrize(
    ("answers", "needle"),
    [
        ({}, "attribute[SCOPE]: is required"),
        ({"attribute[SCOPE]": ""}, "attribute[SCOPE]: is required"),
        ({"attribute[SCOPE]": "street"}, "attribute[SCOPE]: 'street' is not one of the keys"),
        ({"attribute[SCOPE][]": ["home", "estate"]}, "attribute[SCOPE]: takes one value"),
        (HOME | {"attribute[FLOORS][]": ["low", "attic"]}, "attribute[FLOORS]: 'attic'"),
        (HOME | {"attribute[HOUSEHOLDS]": "many"}, "attribute[HOUSEHOLDS]: 'many' is not a num"),
        (HOME | {"attribute[HOUSEHOLDS]": "inf"}, "attribute[HOUSEHOLDS]: must be a finite"),
        (HOME | {"attribute[WHEN]": "yesterday"}, "attribute[WHEN]: 'yesterday' is not an ISO"),
        (HOME | {"attribute[METER]": "M-1\nM-2"}, "attribute[METER]: is a one-line string"),
    ],
)
def test_answers_are_checked_against_the_definition(
    o311: O311, fmt: str, answers: dict[str, object], needle: str
) -> None:
    form = {k: v for k, v in WATER.items() if not k.startswith("attribute")}
    r = o311.post("requests", fmt, api_key=o311.key, **form, **answers)
    assert r.status_code == 400, r.text
    assert any(needle in e for e in errors(o311, r)), errors(o311, r)


def test_an_info_only_question_is_never_required(o311: O311) -> None:
    # SAFETY is required but not variable: it only informs the user.
    r = o311.post("requests", api_key=o311.key, **WATER)
    assert r.status_code == 201, r.text
    assert "SAFETY" not in o311.request(r.json()[0]["service_request_id"]).attributes


def test_a_form_is_required(o311: O311) -> None:
    r = o311.client.post(
        "/open311/v2/requests.json",
        json={"api_key": o311.key, "service_code": "010101", "lat": 39.9, "long": 116.4},
    )
    assert r.status_code == 400 and "form-encoded" in r.json()[0]["description"]


# ---------------------------------------------------------------- retries
def test_a_retry_with_the_same_idempotency_key_returns_the_first(o311: O311, fmt: str) -> None:
    headers = {"Idempotency-Key": "fms-report-7"}
    first = o311.post("requests", fmt, headers=headers, api_key=o311.key, **WATER)
    again = o311.post("requests", fmt, headers=headers, api_key=o311.key, **WATER)
    assert (first.status_code, again.status_code) == (201, 200)
    assert o311.parse(first) == o311.parse(again)
    assert count(o311) == 1


def test_fixmystreet_id_is_a_retry_key_per_client(o311: O311) -> None:
    form = WATER | {"attribute[fixmystreet_id]": "4242"}
    first = o311.post("requests", api_key=o311.key, **form)
    again = o311.post("requests", api_key=o311.key, **form)
    other_client = o311.post("requests", api_key=o311.unit_key, **form)
    assert [r.status_code for r in (first, again, other_client)] == [201, 200, 201]
    assert first.json() == again.json() != other_client.json()
    assert count(o311) == 2
    keys = set(o311.session.scalars(select(ServiceRequest.source_key)))
    assert all(k and k.startswith("open311:") and k.endswith(":fms:4242") for k in keys)


def test_a_bad_idempotency_key_is_400(o311: O311) -> None:
    r = o311.post("requests", headers={"Idempotency-Key": "k" * 151}, api_key=o311.key, **WATER)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()[0]["description"]


# ---------------------------------------------------------------- batch, blackbox, tokens
def test_a_batch_service_returns_a_token_that_resolves(o311: O311, fmt: str) -> None:
    o311.set_options(Options(service_types={"010101": "batch"}))
    r = o311.new(fmt)
    assert r.status_code == 201
    [item] = o311.parse(r)
    assert list(item) == ["token", "service_notice", "account_id"]
    token = item["token"]
    r = o311.get(f"tokens/{token}", fmt)
    assert r.status_code == 200
    [resolved] = o311.parse(r)
    assert list(resolved) == ["service_request_id", "token"]
    assert resolved["token"] == token
    assert o311.request(resolved["service_request_id"]).channel == "open311"


def test_a_retried_batch_post_gets_the_same_token(o311: O311) -> None:
    o311.set_options(Options(service_types={"010101": "batch"}))
    headers = {"Idempotency-Key": "again"}
    first = o311.post(
        "requests", headers=headers, api_key=o311.key, service_code="010101", lat="1", long="2"
    )
    again = o311.post(
        "requests", headers=headers, api_key=o311.key, service_code="010101", lat="1", long="2"
    )
    assert first.json()[0]["token"] == again.json()[0]["token"]


def test_an_unknown_token_is_404(o311: O311, fmt: str) -> None:
    r = o311.get("tokens/no-such-token", fmt)
    assert r.status_code == 404
    assert "no-such-token" in errors(o311, r)[0]


def test_a_blackbox_service_returns_neither_id_nor_token(o311: O311, fmt: str) -> None:
    o311.set_options(Options(service_types={"010101": "blackbox"}))
    r = o311.new(fmt)
    assert r.status_code == 201
    [item] = o311.parse(r)
    assert list(item) == ["service_notice", "account_id"]
    assert count(o311) == 1
