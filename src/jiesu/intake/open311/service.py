"""POST requests and tokens: an Open311 form, checked and handed to ``submit_request``.

Checking order follows the spec's status codes: a bad key is 403 before anything else is
looked at, an unknown jurisdiction or service code is 404, and then every remaining problem of
the form is reported at once (400), each naming its argument.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Category
from jiesu.city.service import CityContext
from jiesu.intake.models import ApiKey, Open311Token
from jiesu.intake.open311.catalog import (
    CHANNEL_DATA,
    Options,
    ServiceType,
    check_answers,
    definition,
    find_service,
    service_notice,
)
from jiesu.intake.open311.errors import Open311Error
from jiesu.intake.open311.formats import Value
from jiesu.intake.open311.keys import citizen_actor
from jiesu.intake.open311.params import coordinate, http_url, opt
from jiesu.intake.schemas import RequestIn
from jiesu.intake.service import submit_request
from jiesu.workflow.models import ServiceRequest

MAX_DESCRIPTION = 4_000  # the spec's limit
MAX_IDEMPOTENCY_KEY = 150
_PRINTABLE = re.compile(r"[\x21-\x7e]+")

# Our RequestIn fields, as the Open311 argument a client would recognise.
_ARGUMENT = {
    "text": "description",
    "address": "address_string",
    "lat": "lat",
    "lon": "long",
    "contact.name": "last_name, first_name",
    "contact.phone": "phone",
    "contact.email": "email",
    "media_url": "media_url",
    "source_key": "Idempotency-Key",
}


def check_jurisdiction(ctx: CityContext, given: str | None) -> None:
    """One city per installation: its own jurisdiction_id, or none, is accepted."""
    given = opt(given)
    if given is None or not ctx.jurisdiction_id:
        return
    if given.lower() != ctx.jurisdiction_id.lower():
        raise Open311Error.not_found(
            f"jurisdiction_id {given!r} not found; this endpoint serves {ctx.jurisdiction_id!r}"
        )


@dataclass(frozen=True)
class Submission:
    """The arguments of POST requests (strings as sent; empty means absent)."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    idempotency_key: str | None = None

    @classmethod
    def from_args(
        cls, args: Mapping[str, str], attributes: dict[str, list[str]], idempotency_key: str | None
    ) -> Submission:
        names = [n for n in cls.__dataclass_fields__ if n not in ("attributes", "idempotency_key")]
        values = {n: opt(args.get(n)) for n in names}
        return cls(**values, attributes=attributes, idempotency_key=opt(idempotency_key))


@dataclass(frozen=True)
class Posted:
    request: ServiceRequest
    created: bool
    service_type: ServiceType
    token: str | None
    notice: str
    account_id: str | None


def _collect(problems: list[str], check: Callable[[], Any]) -> Any:
    try:
        return check()
    except Open311Error as exc:
        problems.extend(d for _, d in exc.errors)
        return None


def _source_key(key: ApiKey, sub: Submission) -> str | None:
    """The retry key, scoped to the client: two clients' ids never meet."""
    if sub.idempotency_key:
        return f"open311:{key.id}:idem:{sub.idempotency_key}"
    fms = sub.attributes.get("fixmystreet_id")
    if fms:
        return f"open311:{key.id}:fms:{fms[0][:MAX_IDEMPOTENCY_KEY]}"
    return None


def _check_form(sub: Submission, category: Category) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    _collect(problems, lambda: coordinate("lat", sub.lat, 90))
    _collect(problems, lambda: coordinate("long", sub.long, 180))
    if (sub.lat is None) != (sub.long is None):
        problems.append("lat, long: give both or neither")
    elif sub.lat is None and not (sub.address_string or sub.address_id):
        problems.append("a location is required: lat and long, address_string or address_id")
    if sub.description and len(sub.description) > MAX_DESCRIPTION:
        problems.append(
            f"description: is {len(sub.description):,} characters long; "
            f"the limit is {MAX_DESCRIPTION:,}"
        )
    _collect(problems, lambda: http_url("media_url", sub.media_url))
    if sub.idempotency_key and (
        len(sub.idempotency_key) > MAX_IDEMPOTENCY_KEY
        or not _PRINTABLE.fullmatch(sub.idempotency_key)
    ):
        problems.append(
            f"Idempotency-Key: at most {MAX_IDEMPOTENCY_KEY} printable ASCII characters"
        )
    if sub.address_id and len(sub.address_id) > 100:
        problems.append("address_id: at most 100 characters")
    answers, attribute_problems = check_answers(definition(category), sub.attributes)
    return answers, problems + attribute_problems


def _build(
    sub: Submission, category: Category, answers: dict[str, Any], source_key: str | None
) -> RequestIn:
    name = (sub.last_name or "") + (sub.first_name or "")
    contact = (
        {"name": name, "phone": sub.phone or "", "email": sub.email or ""}
        if name or sub.phone or sub.email
        else None
    )
    if sub.address_id:
        answers = {**answers, CHANNEL_DATA: {"address_id": sub.address_id}}
    # Validated as one model, so that a refused field is named by its path ("contact.phone").
    return RequestIn.model_validate(
        {
            "channel": "open311",
            # The spec makes the description optional; our requests always have words.
            "text": sub.description or category.name,
            "address": sub.address_string or "",
            "lat": coordinate("lat", sub.lat, 90),
            "lon": coordinate("long", sub.long, 180),
            "category": category.code,
            "contact": contact,
            "source_key": source_key,
            "attributes": answers,
            "media_url": sub.media_url or "",
        }
    )


def _as_open311(exc: ValidationError) -> Open311Error:
    problems = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"])
        problems.append(f"{_ARGUMENT.get(loc, loc)}: {e['msg'].removeprefix('Value error, ')}")
    return Open311Error.bad(*problems)


def post_request(
    session: Session,
    sub: Submission,
    *,
    key: ApiKey,
    now: datetime,
    ctx: CityContext,
    options: Options,
) -> Posted:
    """Check the form and submit it; a retried submission returns the first request."""
    category = find_service(session, sub.service_code)
    answers, problems = _check_form(sub, category)
    if problems:
        raise Open311Error.bad(*problems)
    try:
        data = _build(sub, category, answers, _source_key(key, sub))
    except ValidationError as exc:
        raise _as_open311(exc) from None
    req, created = submit_request(session, data, actor=citizen_actor(key), now=now, ctx=ctx)
    kind = options.type_of(category.code)
    token = token_for(session, req, now=now) if kind == "batch" else None
    return Posted(req, created, kind, token, service_notice(category), sub.account_id)


def posted_item(p: Posted) -> Value:
    """The POST answer: an id for realtime services, a token for batch, neither for blackbox."""
    item: dict[str, Value] = {}
    if p.service_type == "realtime":
        item["service_request_id"] = p.request.ticket
    elif p.service_type == "batch":
        item["token"] = p.token
    item["service_notice"] = p.notice
    item["account_id"] = p.account_id
    return item


def token_for(session: Session, req: ServiceRequest, *, now: datetime) -> str:
    """The request's token, made on first use (a retried batch POST gets the same one)."""
    existing = session.scalar(
        select(Open311Token.token)
        .where(Open311Token.request_id == req.id)
        .order_by(Open311Token.created_at)
        .limit(1)
    )
    if existing is not None:
        return existing
    token = secrets.token_urlsafe(24)
    session.add(Open311Token(token=token, request_id=req.id, created_at=now))
    session.flush()
    return token


def resolve_token(session: Session, token: str) -> str:
    """The service_request_id (ticket) behind a token; 404 if there is none."""
    ticket = session.scalar(
        select(ServiceRequest.ticket)
        .join(Open311Token, Open311Token.request_id == ServiceRequest.id)
        .where(Open311Token.token == token)
    )
    if ticket is None:
        raise Open311Error.not_found(f"token {token!r} not found")
    return ticket
