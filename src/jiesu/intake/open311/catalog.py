"""Categories as Open311 services: the list, the definitions, and checking the answers.

A service is an active level-3 category: ``service_code`` is its code, ``group`` its level-1
name. Its intake questions (``Category.attributes``) are the service definition; they are
validated whenever they are read, so a broken definition is reported, never served.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.attributes import AttributeDef, validate_definition
from jiesu.city.models import Category
from jiesu.errors import ConfigError
from jiesu.intake.open311.errors import Open311Error
from jiesu.intake.open311.formats import Many, Value
from jiesu.kit.timelimits import TimeLimit

ServiceType = Literal["realtime", "batch", "blackbox"]

SERVICE_LEVEL = 3
MAX_ANSWER = 4_000  # the spec's limit for free text, applied to every answer
# Beside the answers in ServiceRequest.attributes, what the channel itself keeps (address_id);
# attribute codes may not start with "_", so the two never meet.
CHANNEL_DATA = "_open311"


@dataclass(frozen=True)
class Options:
    """What a deployment may choose per service. Every service is ``realtime`` (the ticket is
    made at once) unless listed here; ``batch`` answers with a token, ``blackbox`` with
    neither. Set as ``app.state.open311``; tests switch it per app."""

    service_types: Mapping[str, ServiceType] = field(default_factory=dict)

    def type_of(self, service_code: str) -> ServiceType:
        return self.service_types.get(service_code, "realtime")


DEFAULT_OPTIONS = Options()


def definition(category: Category) -> list[AttributeDef]:
    try:
        return validate_definition(category.attributes or [])
    except ConfigError as exc:
        raise ConfigError(
            f"the service definition of {category.code} is broken: {exc.message}"
        ) from None


# ---------------------------------------------------------------- services
@dataclass(frozen=True)
class Service:
    category: Category
    description: str  # "一级 / 二级 / 三级"
    group: str  # the level-1 name


def _active(session: Session) -> dict[int, Category]:
    rows = session.scalars(select(Category).where(Category.active.is_(True)))
    return {c.id: c for c in rows}


def _service(cat: Category, by_id: Mapping[int, Category]) -> Service:
    chain = [cat]
    while chain[-1].parent_id is not None and chain[-1].parent_id in by_id:
        chain.append(by_id[chain[-1].parent_id])
    names = [c.name for c in reversed(chain)]
    return Service(cat, " / ".join(names), names[0])


def list_services(session: Session) -> list[Service]:
    by_id = _active(session)
    leaves = sorted((c for c in by_id.values() if c.level == SERVICE_LEVEL), key=lambda c: c.code)
    return [_service(c, by_id) for c in leaves]


def find_service(session: Session, service_code: str | None) -> Category:
    """The active level-3 category with this code: 400 if none was given, 404 if unknown."""
    if not service_code:
        raise Open311Error.bad("service_code: was not provided")
    cat = session.scalar(
        select(Category).where(
            Category.code == service_code,
            Category.level == SERVICE_LEVEL,
            Category.active.is_(True),
        )
    )
    if cat is None:
        raise Open311Error.not_found(f"service_code {service_code!r} not found")
    return cat


def service_records(session: Session, options: Options) -> list[Value]:
    """The service list, in the spec's fields and order."""
    return [
        {
            "service_code": svc.category.code,
            "service_name": svc.category.name,
            "description": svc.description,
            "metadata": bool(svc.category.attributes),
            "type": options.type_of(svc.category.code),
            "keywords": ", ".join(svc.category.keywords or []),
            "group": svc.group,
        }
        for svc in list_services(session)
    ]


def definition_record(category: Category) -> Value:
    """The service definition: the category's questions, in the spec's fields."""
    attributes: list[Value] = [
        {
            "variable": d.variable,
            "code": d.code,
            "datatype": d.datatype,
            "required": d.required,
            "datatype_description": d.datatype_description or None,
            "order": d.order,
            "description": d.description,
            "values": Many("value", [{"key": v.key, "name": v.name} for v in d.values]),
        }
        for d in definition(category)
    ]
    return {"service_code": category.code, "attributes": Many("attribute", attributes)}


_UNIT_WORDS = {"h": "小时", "d": "天", "wd": "个工作日"}


def _limit_words(text: str) -> str:
    try:
        limit = TimeLimit.parse(text)
    except ValueError:
        return text
    return f"{limit.amount}{_UNIT_WORDS[limit.unit]}"


def service_notice(category: Category) -> str:
    """What the citizen may expect, from the category's time limits."""
    return (
        f"{category.name}：{_limit_words(category.response_limit)}内响应，"
        f"{_limit_words(category.handling_limit)}内办结"
    )


# ---------------------------------------------------------------- answers
def _one(d: AttributeDef, values: list[str]) -> str:
    if len(values) > 1:
        raise ValueError("takes one value")
    return values[0]


def _answer(d: AttributeDef, values: list[str]) -> Any:
    if any(len(v) > MAX_ANSWER for v in values):
        raise ValueError(f"is longer than {MAX_ANSWER:,} characters")
    keys = [v.key for v in d.values]
    if d.datatype == "multivaluelist":
        unknown = [v for v in values if v not in keys]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not one of the keys {', '.join(keys)}")
        return list(dict.fromkeys(values))
    value = _one(d, values)
    if d.datatype == "singlevaluelist":
        if value not in keys:
            raise ValueError(f"{value!r} is not one of the keys {', '.join(keys)}")
        return value
    if d.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return int(number) if number.is_integer() and "." not in value else number
    if d.datatype == "datetime":
        try:
            (datetime if "T" in value else date).fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 date or date-time") from None
        return value
    if d.datatype == "string" and ("\n" in value or "\r" in value):
        raise ValueError("is a one-line string; use no line breaks")
    return value


def check_answers(
    defs: list[AttributeDef], given: Mapping[str, list[str]]
) -> tuple[dict[str, Any], list[str]]:
    """Answers to keep (by code) and the problems found, each naming its ``attribute[CODE]``.

    Answers to questions the service does not ask are not kept: clients such as FixMyStreet
    send extra attributes of their own, and storing unasked free text would only collect data.
    """
    answers: dict[str, Any] = {}
    problems: list[str] = []
    for d in defs:
        if not d.variable:
            continue
        values = given.get(d.code)
        if not values:
            if d.required:
                problems.append(f"attribute[{d.code}]: is required ({d.description or d.code})")
            continue
        try:
            answers[d.code] = _answer(d, values)
        except ValueError as exc:
            problems.append(f"attribute[{d.code}]: {exc}")
    return answers, problems
