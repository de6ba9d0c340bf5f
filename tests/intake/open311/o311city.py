"""The Open311 test city and client: the factory city pack, intake questions on 停水, api keys.

``O311.parse`` reads XML and JSON into one shape, so a test asserts once for both formats: XML
is mapped back by the Spark convention, JSON scalars become the text XML carries.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import NoMatchFound

from jiesu.app import create_app
from jiesu.city.models import Category, HandlingUnit
from jiesu.city.service import CityContext, apply_pack
from jiesu.config import Settings
from jiesu.intake.open311.catalog import Options
from jiesu.intake.open311.endpoints import router
from jiesu.intake.open311.keys import create_key, revoke_key
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.kit.clock import FixedClock
from jiesu.people.service import Actor
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import city_pack

BASE = "/open311/v2"
UNIT = "ST-110101001"  # 东华门街道办事处
OTHER_UNIT = "ST-110101008"

WATER_QUESTIONS: list[dict[str, Any]] = [
    {
        "code": "WHEN",
        "datatype": "datetime",
        "description": "停水开始时间",
        "order": 3,
    },
    {
        "code": "SCOPE",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "停水范围",
        "order": 1,
        "values": [
            {"key": "home", "name": "本户"},
            {"key": "building", "name": "整栋楼"},
            {"key": "estate", "name": "整个小区"},
        ],
    },
    {
        "code": "FLOORS",
        "datatype": "multivaluelist",
        "description": "受影响楼层",
        "order": 2,
        "values": [{"key": "low", "name": "低层"}, {"key": "high", "name": "高层"}],
    },
    {"code": "HOUSEHOLDS", "datatype": "number", "description": "受影响户数", "order": 4},
    {"code": "METER", "datatype": "string", "description": "水表编号", "order": 5},
    {
        "code": "SAFETY",
        "datatype": "text",
        "variable": False,
        "required": True,
        "description": "如闻到燃气味请拨打 96777",
        "order": 6,
    },
]

CONTAINERS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "service_request_updates": "request_update",
}

STAFF = {
    "disp": Actor(None, "disp", "dispatcher"),
    "op": Actor(None, "op", "operator"),
    "sup": Actor(None, "sup", "supervisor"),
}


def from_xml(element: ET.Element) -> Any:
    """The Spark convention, read back: a known container is a list, checked to hold only its
    one repeated element; an element with children is a dict; a leaf is its text."""
    if element.tag in CONTAINERS:
        tags = {child.tag for child in element}
        assert tags <= {CONTAINERS[element.tag]}, f"<{element.tag}> holds {tags}"
        return [from_xml(child) for child in element]
    if len(element):
        tags = [child.tag for child in element]
        assert len(tags) == len(set(tags)), f"<{element.tag}> repeats an element: {tags}"
        return {child.tag: from_xml(child) for child in element}
    return element.text or None


def as_text(value: Any) -> Any:
    """JSON values as XML would carry them: true/false, numbers as written, "" as null."""
    if isinstance(value, list):
        return [as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None
    return str(value)


@dataclass
class O311:
    client: TestClient
    app: FastAPI
    session: Session
    clock: FixedClock
    ctx: CityContext
    key: str  # unbound: a citizen-facing app such as FixMyStreet
    unit_key: str  # bound to UNIT
    other_unit_key: str  # bound to OTHER_UNIT
    revoked_key: str

    def url(self, path: str, fmt: str) -> str:
        return f"{BASE}/{path}.{fmt}"

    def get(self, path: str, fmt: str = "json", **params: Any) -> httpx.Response:
        return self.client.get(self.url(path, fmt), params=params)

    def post(
        self, path: str, fmt: str = "json", headers: dict[str, str] | None = None, **data: Any
    ) -> httpx.Response:
        return self.client.post(self.url(path, fmt), data=data, headers=headers)

    def new(self, fmt: str = "json", **fields: Any) -> httpx.Response:
        """POST requests with a valid form; ``fields`` change or add (None removes)."""
        form = {
            "api_key": self.key,
            "service_code": "010101",
            "lat": "39.915",
            "long": "116.404",
            "description": "东华门街道某小区楼下饭店每天夜里施工，噪音很大",
        } | fields
        return self.post("requests", fmt, **{k: v for k, v in form.items() if v is not None})

    def ticket(self, **fields: Any) -> str:
        r = self.new(**fields)
        assert r.status_code in (200, 201), r.text
        return str(r.json()[0]["service_request_id"])

    def request(self, ticket: str) -> ServiceRequest:
        self.session.expire_all()
        req = self.session.scalar(select(ServiceRequest).where(ServiceRequest.ticket == ticket))
        assert req is not None
        return req

    def act(self, ticket: str, action: str, who: str | Actor = "disp", **params: Any) -> None:
        actor = STAFF[who] if isinstance(who, str) else who
        apply_action(
            self.session,
            self.request(ticket),
            action,
            actor=actor,
            now=self.clock.now(),
            ctx=self.ctx,
            params=params,
        )
        self.session.commit()

    def handler(self, unit: str = UNIT) -> Actor:
        unit_id = self.session.scalar(select(HandlingUnit.id).where(HandlingUnit.code == unit))
        return Actor(None, f"h-{unit}", "handler", unit_id)

    def seed(self, received_at: datetime, **fields: Any) -> ServiceRequest:
        """A request from another channel, received at a chosen time."""
        data = {"text": "路灯不亮", "category": "010101", "received_at": received_at} | fields
        req, _ = submit_request(
            self.session, RequestIn(**data), actor=STAFF["op"], now=self.clock.now(), ctx=self.ctx
        )
        self.session.commit()
        return req

    def set_options(self, options: Options) -> None:
        self.app.state.open311 = options

    @staticmethod
    def parse(response: httpx.Response) -> Any:
        ctype = response.headers["content-type"]
        if ctype == "text/xml; charset=utf-8":
            assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
            return from_xml(ET.fromstring(response.content))
        assert ctype == "application/json; charset=utf-8", ctype
        return as_text(json.loads(response.content))


UNLIMITED = 1_000_000


def open311_app(db_url: str, clock: FixedClock, tmp_path: Path) -> FastAPI:
    # Tests and fuzzing call far faster than any one client may: rate limits have their own test.
    s = Settings(database_url=db_url, data_dir=tmp_path, open311_rate_per_minute=UNLIMITED)
    app = create_app(s, clock=clock, schedule=False)
    # Until the router is mounted in create_app, mount it here (never twice).
    try:
        app.url_path_for("get_services", fmt="xml")
    except NoMatchFound:
        app.include_router(router)
    return app


def seed_city(session: Session, now: datetime) -> dict[str, str]:
    """The factory city with intake questions on 停水 (010102), and api keys."""
    apply_pack(session, city_pack(), now=now)
    water = session.scalar(select(Category).where(Category.code == "010102"))
    assert water is not None
    water.attributes = WATER_QUESTIONS
    keys = {
        "key": create_key(session, "fixmystreet", now=now)[1],
        "unit_key": create_key(session, "east-street-office", now=now, unit=UNIT)[1],
        "other_unit_key": create_key(session, "jiaodaokou", now=now, unit=OTHER_UNIT)[1],
        "revoked_key": create_key(session, "old-app", now=now)[1],
    }
    revoke_key(session, "old-app")
    session.commit()
    return keys


class Recorder:
    """Stands in for the error log: an entry means an exception we did not foresee."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, Any]]] = []

    def exception(self, event: str, **kw: Any) -> None:
        self.entries.append((event, kw))

    def error(self, event: str, **kw: Any) -> None:
        self.entries.append((event, kw))
