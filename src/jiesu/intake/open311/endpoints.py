"""GeoReport v2 routes under /open311/v2: thin, and every error in the spec's shape.

The format is the resource's suffix (``services.xml``, ``requests/ID.json``); anything else is
404. The router's own route class turns every exception, ours or the framework's, into the
spec's ``errors`` body, so a client never sees the native API's error JSON here.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from jiesu.city.service import city_context
from jiesu.deps import DB, ClockDep, write
from jiesu.intake.models import ApiKey
from jiesu.intake.open311.catalog import (
    DEFAULT_OPTIONS,
    Options,
    definition_record,
    find_service,
    service_records,
)
from jiesu.intake.open311.discovery import discovery
from jiesu.intake.open311.errors import Open311Error, error_response, translate
from jiesu.intake.open311.formats import Format, Many, Value, parse_format, render
from jiesu.intake.open311.history import public_steps, updates_between
from jiesu.intake.open311.keys import authenticate
from jiesu.intake.open311.params import attributes, opt, paging, window
from jiesu.intake.open311.query import find_requests, get_request, parse_query, records
from jiesu.intake.open311.service import (
    Submission,
    check_jurisdiction,
    post_request,
    posted_item,
    resolve_token,
)
from jiesu.intake.open311.updates import UpdateIn, post_update, posted_record, update_record


class Open311Route(APIRoute):
    """A route whose failures always answer in the spec's error shape and format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                _refuse_nul(request.url.path, *request.query_params.multi_items())
                if request.method in ("GET", "HEAD"):
                    _limit_reader(request)
                return await handler(request)
            except Exception as exc:
                return error_response(_format_of(request), translate(exc))

        return guarded


def _refuse_nul(*texts: str | tuple[str, str]) -> None:
    # PostgreSQL cannot store or even compare text with NUL: refuse it as a bad argument
    # before it reaches a query, instead of failing there.
    flat = [t for item in texts for t in (item if isinstance(item, tuple) else (item,))]
    if any("\x00" in t for t in flat):
        raise Open311Error.bad("arguments may not contain NUL characters (%00)")


def _limit_reader(request: Request) -> None:
    # Reads need no key: each address has the default budget.
    address = request.client.host if request.client else "unknown"
    limiter, default = request.app.state.open311_limits, _default_rate(request)
    limiter.check(f"ip:{address}", default, f"address {address}")


def _limit_client(request: Request, key: ApiKey) -> None:
    """A posting client's own budget, whatever address it posts from."""
    rate = key.rate_per_minute or _default_rate(request)
    request.app.state.open311_limits.check(f"key:{key.id}", rate, f"api_key {key.name!r}")


def _default_rate(request: Request) -> int:
    return int(request.app.state.settings.open311_rate_per_minute)


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)

Fmt = Annotated[str, Path(description="response format: xml or json")]
Q = Annotated[str | None, Query()]
QList = Annotated[list[str] | None, Query(description="comma-separated; may repeat")]
Jurisdiction = Annotated[
    str | None, Query(description="this city's jurisdiction_id; optional (one city per server)")
]
_FORMATS: dict[str, Any] = {"text/xml": {}, "application/json": {}}
# The spec's error list in its JSON form (XML is schemaless): [{"code": 400, "description"}].
_ERROR_LIST = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
_ERRORS: dict[str, Any] = {"text/xml": {}, "application/json": {"schema": _ERROR_LIST}}
DOC: dict[str, Any] = {
    "response_class": Response,
    "responses": {
        200: {"description": "the resource, as XML or JSON", "content": _FORMATS},
        400: {"description": "a bad argument: errors, each naming it", "content": _ERRORS},
        403: {"description": "missing, wrong or revoked api_key", "content": _ERRORS},
        404: {"description": "unknown resource, format, jurisdiction or code", "content": _ERRORS},
        429: {
            "description": "over the client's rate limit; Retry-After says when to try again",
            "content": _ERRORS,
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
}


def _format_of(request: Request) -> Format:
    """The format to answer in, even when the route never matched: XML unless asked JSON."""
    fmt = request.path_params.get("fmt") or PurePosixPath(request.url.path).suffix[1:]
    return parse_format(fmt) or "xml"


def _need(fmt: str) -> Format:
    f = parse_format(fmt)
    if f is None:
        raise Open311Error.not_found(f"format {fmt!r} is not served; use .xml or .json")
    return f


def _options(request: Request) -> Options:
    options = getattr(request.app.state, "open311", None)
    return options if isinstance(options, Options) else DEFAULT_OPTIONS


def _joined(values: list[str] | None) -> str | None:
    return ",".join(values) if values else None


def _form_schema(fields: dict[str, str]) -> dict[str, Any]:
    props = {name: {"type": "string", "description": text} for name, text in fields.items()}
    schema = {"type": "object", "properties": props, "additionalProperties": {"type": "string"}}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


async def _form(request: Request) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The POSTed arguments, first value of each name, plus every (name, value) pair."""
    ctype = request.headers.get("content-type", "").lower()
    if ctype and not ctype.startswith(("application/x-www-form-urlencoded", "multipart/")):
        raise Open311Error.bad(
            "send the arguments form-encoded: "
            "Content-Type: application/x-www-form-urlencoded; charset=utf-8"
        )
    try:
        async with request.form() as form:
            items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    except HTTPException:  # e.g. a body over the size limit (413): say so, not "unreadable"
        raise
    except Exception:
        raise Open311Error.bad("the form could not be read") from None
    _refuse_nul(*items)
    args: dict[str, str] = {}
    for name, value in items:
        args.setdefault(name, value)
    # Some clients put these two in the query string of the POST (the `open311` library does).
    for name in ("api_key", "jurisdiction_id"):
        if not opt(args.get(name)) and request.query_params.get(name):
            args[name] = request.query_params[name]
    return args, items


# ---------------------------------------------------------------- discovery and services
@router.get("/discovery.{fmt}", summary="Service discovery", **DOC)
async def get_discovery(fmt: Fmt, request: Request, db: DB) -> Response:
    f = _need(fmt)
    url = str(request.url.replace(query="")).rsplit("/", 1)[0]
    production = request.app.state.settings.env == "production"
    doc = await db.run_sync(lambda s: discovery(s, url=url, production=production))
    return render(f, "discovery", doc)


@router.get("/services.{fmt}", summary="GET Service List", **DOC)
async def get_services(
    fmt: Fmt, request: Request, db: DB, jurisdiction_id: Jurisdiction = None
) -> Response:
    f = _need(fmt)
    options = _options(request)

    def work(s: Session) -> list[Value]:
        check_jurisdiction(city_context(s), jurisdiction_id)
        return service_records(s, options)

    return render(f, "services", Many("service", await db.run_sync(work)))


@router.get("/services/{service_code}.{fmt}", summary="GET Service Definition", **DOC)
async def get_service_definition(
    service_code: str, fmt: Fmt, db: DB, jurisdiction_id: Jurisdiction = None
) -> Response:
    f = _need(fmt)

    def work(s: Session) -> Value:
        check_jurisdiction(city_context(s), jurisdiction_id)
        return definition_record(find_service(s, service_code))

    return render(f, "service_definition", await db.run_sync(work))


# ---------------------------------------------------------------- requests and tokens
@router.post(
    "/requests.{fmt}",
    summary="POST Service Request",
    openapi_extra=_form_schema(
        {
            "api_key": "required",
            "jurisdiction_id": "optional",
            "service_code": "required: a service_code from services.xml",
            "lat": "WGS84 latitude (with long)",
            "long": "WGS84 longitude (with lat)",
            "address_string": "or this",
            "address_id": "or this",
            "email": "kept private",
            "device_id": "not stored",
            "account_id": "echoed back, not stored",
            "first_name": "kept private",
            "last_name": "kept private",
            "phone": "kept private",
            "description": "at most 4,000 characters",
            "media_url": "http(s) link to a photo",
        }
    ),
    **DOC,
)
async def post_requests(
    fmt: Fmt,
    request: Request,
    db: DB,
    clock: ClockDep,
    idempotency_key: Annotated[
        str | None, Header(description="a retry with the same key returns the first request")
    ] = None,
) -> Response:
    f = _need(fmt)
    args, items = await _form(request)
    sub = Submission.from_args(args, attributes(items), idempotency_key)
    now, options = clock.now(), _options(request)

    def work(s: Session) -> tuple[Value, bool]:
        ctx = city_context(s)
        key = authenticate(s, opt(args.get("api_key")), now=now, doing="create_request")
        _limit_client(request, key)
        check_jurisdiction(ctx, args.get("jurisdiction_id"))
        posted = post_request(s, sub, key=key, now=now, ctx=ctx, options=options)
        return posted_item(posted), posted.created

    item, created = await write(db, work)
    return render(f, "service_requests", Many("request", [item]), 201 if created else 200)


@router.get("/tokens/{token}.{fmt}", summary="GET service_request_id from a token", **DOC)
async def get_token(token: str, fmt: Fmt, db: DB, jurisdiction_id: Jurisdiction = None) -> Response:
    f = _need(fmt)

    def work(s: Session) -> str:
        check_jurisdiction(city_context(s), jurisdiction_id)
        return resolve_token(s, token)

    ticket = await db.run_sync(work)
    return render(
        f, "service_requests", Many("request", [{"service_request_id": ticket, "token": token}])
    )


@router.get("/requests.{fmt}", summary="GET Service Requests", **DOC)
async def get_requests(
    fmt: Fmt,
    db: DB,
    clock: ClockDep,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: QList = None,
    service_code: QList = None,
    start_date: Annotated[str | None, Query(description="W3C date-time with zone")] = None,
    end_date: Annotated[str | None, Query(description="W3C date-time with zone")] = None,
    status: QList = None,
    page: Annotated[str | None, Query(description="paging extension; from 1")] = None,
    page_size: Annotated[str | None, Query(description="paging extension; 1–1000")] = None,
) -> Response:
    f = _need(fmt)
    now = clock.now()
    args = {
        "service_request_id": _joined(service_request_id),
        "service_code": _joined(service_code),
        "start_date": start_date,
        "end_date": end_date,
        "status": _joined(status),
        "page": page,
        "page_size": page_size,
    }

    def work(s: Session) -> list[Value]:
        ctx = city_context(s)
        check_jurisdiction(ctx, jurisdiction_id)
        query = parse_query(args, now=now)
        return list(records(s, find_requests(s, query), ctx.tz))

    return render(f, "service_requests", Many("request", await db.run_sync(work)))


@router.get("/requests/{service_request_id}.{fmt}", summary="GET Service Request", **DOC)
async def get_one_request(
    service_request_id: str, fmt: Fmt, db: DB, jurisdiction_id: Jurisdiction = None
) -> Response:
    f = _need(fmt)

    def work(s: Session) -> list[Value]:
        ctx = city_context(s)
        check_jurisdiction(ctx, jurisdiction_id)
        return list(records(s, [get_request(s, service_request_id)], ctx.tz))

    return render(f, "service_requests", Many("request", await db.run_sync(work)))


# ---------------------------------------------------------------- request updates
@router.get("/servicerequestupdates.{fmt}", summary="GET request updates (extension)", **DOC)
async def get_updates(
    fmt: Fmt,
    db: DB,
    clock: ClockDep,
    jurisdiction_id: Jurisdiction = None,
    start_date: Q = None,
    end_date: Q = None,
    page: Q = None,
    page_size: Q = None,
) -> Response:
    f = _need(fmt)
    span = window(start_date, end_date, now=clock.now())
    pages = paging(page, page_size)

    def work(s: Session) -> list[Value]:
        ctx = city_context(s)
        check_jurisdiction(ctx, jurisdiction_id)
        rows = updates_between(s, span.start, span.end, pages)
        steps = public_steps(s, [e for e, _ in rows])
        return [update_record(e, ticket, steps[e.id], ctx.tz) for e, ticket in rows]

    return render(f, "service_request_updates", Many("request_update", await db.run_sync(work)))


@router.post(
    "/servicerequestupdates.{fmt}",
    summary="POST a request update (extension)",
    openapi_extra=_form_schema(
        {
            "api_key": "required; a key bound to a unit acts as that unit's handler",
            "jurisdiction_id": "optional",
            "service_request_id": "required",
            "status": "INVESTIGATING, FIXED, CLOSED, NOT_COUNCILS_RESPONSIBILITY, …",
            "description": "required except with INVESTIGATING",
            "media_url": "http(s) link",
        }
    ),
    **DOC,
)
async def post_updates(fmt: Fmt, request: Request, db: DB, clock: ClockDep) -> Response:
    f = _need(fmt)
    args, _ = await _form(request)
    update = UpdateIn.from_args(args)
    now = clock.now()

    def work(s: Session) -> tuple[Value, bool]:
        ctx = city_context(s)
        key = authenticate(s, opt(args.get("api_key")), now=now, doing="update_request")
        _limit_client(request, key)
        check_jurisdiction(ctx, args.get("jurisdiction_id"))
        posted = post_update(s, update, key=key, now=now, ctx=ctx)
        return posted_record(posted, ctx.tz), posted.created

    item, created = await write(db, work)
    body = Many("request_update", [item])
    return render(f, "service_request_updates", body, 201 if created else 200)


# ---------------------------------------------------------------- anything else
def _methods_at(path: str) -> list[str]:
    """Methods the router serves at this path (for a request that used another one)."""
    methods: set[str] = set()
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return sorted(methods)


async def _not_served(scope: Scope, receive: Receive, send: Send) -> None:
    """404 for an unknown resource; 400 (the spec has no 405) for a known one's wrong method.

    Mounted after every route: a mount matches any method, so no request under the prefix
    falls through to the framework's own 404 or 405 bodies.
    """
    path, method = scope["path"], scope["method"]
    fmt = parse_format(PurePosixPath(path).suffix[1:]) or "xml"
    allowed = _methods_at(path)
    if allowed:
        error = Open311Error.bad(f"{method} is not served here; use {' or '.join(allowed)}")
    else:
        error = Open311Error.not_found(f"no resource {path}; see discovery.xml")
    response = error_response(fmt, error)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    await response(scope, receive, send)


router.mount(router.prefix, _not_served)
