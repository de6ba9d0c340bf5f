"""Service Discovery, GET Service List and GET Service Definition, in both formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from intake.open311.o311city import O311
from jiesu.city.models import Category
from jiesu.intake.open311.catalog import Options

SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]


def test_discovery_lists_this_endpoint_and_both_formats(o311: O311, fmt: str) -> None:
    r = o311.get("discovery", fmt)
    assert r.status_code == 200
    doc = o311.parse(r)
    assert list(doc) == ["changeset", "contact", "key_service", "endpoints"]
    assert all(doc[k] for k in ("changeset", "contact", "key_service"))
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "test"  # not a production installation
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["changeset"] == doc["changeset"] == "2026-11-02T09:30:00+08:00"


def test_discovery_json_is_an_object_with_arrays(o311: O311) -> None:
    body = json.loads(o311.get("discovery", "json").content)
    assert isinstance(body, dict) and isinstance(body["endpoints"], list)
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]


def test_service_list_is_the_level_3_categories(o311: O311, fmt: str) -> None:
    r = o311.get("services", fmt)
    assert r.status_code == 200
    services = o311.parse(r)
    assert [s["service_code"] for s in services] == ["010101", "010102", "010103", "010104"]
    assert all(list(s) == SERVICE_FIELDS for s in services)
    noise, water = services[0], services[1]
    assert noise == {
        "service_code": "010101",
        "service_name": "噪音扰民",
        "description": "城乡建设 / 市政管理 / 噪音扰民",
        "metadata": "false",
        "type": "realtime",
        "keywords": "噪音",
        "group": "城乡建设",
    }
    assert water["metadata"] == "true"  # it has intake questions


def test_service_list_xml_element_names(o311: O311) -> None:
    root = ET.fromstring(o311.get("services", "xml").content)
    assert root.tag == "services"
    assert {child.tag for child in root} == {"service"}
    assert [e.tag for e in root[0]] == SERVICE_FIELDS


def test_inactive_categories_are_not_services(o311: O311) -> None:
    cat = o311.session.scalar(select(Category).where(Category.code == "010104"))
    assert cat is not None
    cat.active = False
    o311.session.commit()
    codes = [s["service_code"] for s in o311.get("services").json()]
    assert "010104" not in codes
    assert o311.get("services/010104").status_code == 404


def test_service_type_follows_the_options(o311: O311) -> None:
    o311.set_options(Options(service_types={"010103": "batch"}))
    types = {s["service_code"]: s["type"] for s in o311.get("services").json()}
    assert types == {
        "010101": "realtime",
        "010102": "realtime",
        "010103": "batch",
        "010104": "realtime",
    }


def test_service_definition_in_order_with_values(o311: O311, fmt: str) -> None:
    r = o311.get("services/010102", fmt)
    assert r.status_code == 200
    doc = o311.parse(r)
    assert list(doc) == ["service_code", "attributes"]
    assert doc["service_code"] == "010102"
    attrs = doc["attributes"]
    assert [a["code"] for a in attrs] == [
        "SCOPE",
        "FLOORS",
        "WHEN",
        "HOUSEHOLDS",
        "METER",
        "SAFETY",
    ]
    assert [a["order"] for a in attrs] == ["1", "2", "3", "4", "5", "6"]
    scope = attrs[0]
    assert list(scope) == [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    ]
    assert scope["variable"] == "true" and scope["required"] == "true"
    assert scope["datatype"] == "singlevaluelist"
    assert scope["values"] == [
        {"key": "home", "name": "本户"},
        {"key": "building", "name": "整栋楼"},
        {"key": "estate", "name": "整个小区"},
    ]
    assert attrs[2]["datatype"] == "datetime" and attrs[2]["values"] == []
    assert attrs[5]["variable"] == "false"


def test_service_definition_json_is_an_object(o311: O311) -> None:
    body = json.loads(o311.get("services/010102", "json").content)
    assert isinstance(body, dict)
    assert body["attributes"][0]["required"] is True and body["attributes"][0]["order"] == 1


def test_service_without_questions_has_an_empty_definition(o311: O311, fmt: str) -> None:
    doc = o311.parse(o311.get("services/010101", fmt))
    assert doc == {"service_code": "010101", "attributes": []}


@pytest.mark.parametrize("code", ["999999", "01", "0101"])
def test_unknown_or_non_leaf_service_code_is_404(o311: O311, fmt: str, code: str) -> None:
    r = o311.get(f"services/{code}", fmt)
    assert r.status_code == 404
    [error] = o311.parse(r)
    assert error["code"] == "404" and code in error["description"]


@pytest.mark.parametrize(
    "broken",
    [
        [{"code": "A", "datatype": "colour", "order": 1}],
        [{"code": "A", "datatype": "string", "order": 0}],
        [
            {"code": "A", "datatype": "string", "order": 1},
            {"code": "B", "datatype": "text", "order": 1},
        ],
        [
            {"code": "A", "datatype": "string", "order": 1},
            {"code": "A", "datatype": "text", "order": 2},
        ],
        [{"code": "A", "datatype": "singlevaluelist", "order": 1}],
        [{"code": "A[1]", "datatype": "string", "order": 1}],
        "not a list",
    ],
)
def test_a_broken_definition_is_reported_not_served(o311: O311, broken: object) -> None:
    cat = o311.session.scalar(select(Category).where(Category.code == "010101"))
    assert cat is not None
    cat.attributes = broken  # type: ignore[assignment]
    o311.session.commit()
    r = o311.get("services/010101", "xml")
    assert r.status_code == 400
    [error] = o311.parse(r)
    assert "010101" in error["description"] and "broken" in error["description"]


def test_jurisdiction_id_ours_or_absent_is_fine_another_is_404(o311: O311, fmt: str) -> None:
    assert o311.get("services", fmt, jurisdiction_id="test.jiesu.city").status_code == 200
    assert o311.get("services", fmt, jurisdiction_id="TEST.jiesu.city").status_code == 200
    assert o311.get("services", fmt, jurisdiction_id="").status_code == 200
    r = o311.get("services", fmt, jurisdiction_id="sfgov.org")
    assert r.status_code == 404
    [error] = o311.parse(r)
    assert "sfgov.org" in error["description"]
    assert o311.get("services/010101", fmt, jurisdiction_id="sfgov.org").status_code == 404
    assert o311.get("requests", fmt, jurisdiction_id="sfgov.org").status_code == 404


@pytest.mark.parametrize("path", ["services.html", "services.XML", "services", "requests.csv"])
def test_a_bad_format_is_404_in_the_spec_shape_as_xml(o311: O311, path: str) -> None:
    r = o311.client.get(f"/open311/v2/{path}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(r.content)
    assert root.tag == "errors" and [e.tag for e in root[0]] == ["code", "description"]


def test_an_unroutable_json_path_answers_in_json(o311: O311) -> None:
    r = o311.client.get("/open311/v2/services.json/")
    assert r.status_code == 404 and r.json()[0]["code"] == 404


def test_unknown_resources_and_methods_are_404_in_the_spec_shape(o311: O311) -> None:
    r = o311.client.get("/open311/v2/reports.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
    r = o311.client.delete("/open311/v2/services.json")
    assert r.status_code == 400 and r.headers["allow"] == "GET"
    assert r.json()[0]["description"] == "DELETE is not served here; use GET"
    for method in ("PUT", "CONNECT", "QUERY", "BREW"):
        r = o311.client.request(method, "/open311/v2/requests.xml")
        assert r.status_code == 400 and r.headers["allow"] == "GET, POST"
        assert ET.fromstring(r.content).tag == "errors"
    r = o311.client.request("BREW", "/open311/v2/coffee.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404
