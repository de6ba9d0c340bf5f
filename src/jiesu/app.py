"""create_app(): middleware, error handlers, routers, the overdue schedule."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from jiesu import __version__
from jiesu.api import api
from jiesu.bodylimit import BodyLimit
from jiesu.config import Settings
from jiesu.db.engine import make_async_engine, make_async_sessionmaker, pool_options
from jiesu.errors import JiesuError, Refused
from jiesu.headers import SecurityHeaders
from jiesu.intake.open311.endpoints import router as open311_router
from jiesu.intake.open311.limits import RateLimiter
from jiesu.intake.sensors.listener import start_listener_thread
from jiesu.jobs import deliver_notifications, produce_due_reports, run_tick_once
from jiesu.kit.clock import Clock, SystemClock
from jiesu.logs import configure_logging, get_logger
from jiesu.privacy.keys import ensure_data_key, use_settings
from jiesu.web import routes as web

log = get_logger(__name__)


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "contact", "phone") → "contact.phone"; the location kind is in the message.
    parts = (
        [str(p) for p in loc[1:]]
        if loc and loc[0] in ("body", "query", "path")
        else list(map(str, loc))
    )
    return ".".join(parts) or "body"


def _problem(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


async def _jiesu_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JiesuError)
    if exc.status_code >= 500:
        log.error("request.failed", code=exc.code, message=exc.message)
    if web.is_web(request):
        return web.error_page(request, exc)
    return JSONResponse(exc.to_dict(), status_code=exc.status_code)


async def _http_error(request: Request, exc: Exception) -> Response:
    # The framework's refusals (unknown path or method, unreadable or too large body) in the
    # one error shape, not Starlette's {"detail": ...}.
    assert isinstance(exc, HTTPException)
    response = await _jiesu_error(request, Refused(exc.status_code, str(exc.detail), exc.headers))
    response.headers.update(exc.headers or {})
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | ValidationError)
    if isinstance(exc, RequestValidationError) and web.is_web(request):
        return web.validation_page(request, exc)
    if isinstance(exc, ValidationError):
        # A model built inside an endpoint (e.g. the public form mapped onto RequestIn):
        # its locations lack the "body" prefix, and a model-level error has none at all.
        errors: list[dict[str, Any]] = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
    else:
        errors = [dict(e) for e in exc.errors()]
    fields = [
        {"field": _field_name(tuple(e["loc"])), "problem": _problem(e["msg"])} for e in errors
    ]
    message = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
    return JSONResponse(
        {"error": {"code": "bad_input", "message": message, "fields": fields}}, status_code=422
    )


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the schema let through (a NUL character in text, a number
    # beyond its column): the client's input, so 422 — never a 500.
    log.warning("request.unstorable_value", error=str(getattr(exc, "orig", exc))[:200])
    message = "a value cannot be stored (for example a NUL character or a number out of range)"
    return JSONResponse(
        {
            "error": {
                "code": "bad_input",
                "message": message,
                "fields": [{"field": "body", "problem": message}],
            }
        },
        status_code=422,
    )


async def _database_down(request: Request, exc: Exception) -> Response:
    # The database did not answer (down, restarting, unreachable, or SQLite busy past its
    # timeout): the request was not done, and saying so lets clients and balancers retry.
    # The pool drops the broken connections, so service comes back by itself with the database.
    log.error("database.unavailable", error=type(exc).__name__, detail=str(exc).splitlines()[0])
    refused = Refused(503, "the database is not answering; nothing was changed, try again shortly")
    refused.code = "database_unavailable"
    response = await _jiesu_error(request, refused)
    response.headers["Retry-After"] = "5"
    return response


async def _tick_loop(app: FastAPI) -> None:
    """Overdue checks and audit digests on a schedule, inside the server process (one server
    at a time runs each round: see jiesu.ops.joblock)."""
    settings: Settings = app.state.settings
    while True:
        try:
            async with app.state.sessions() as db:
                now = app.state.clock.now()
                hours = settings.notify_due_soon_hours
                result = await db.run_sync(
                    lambda s, at=now, h=hours: run_tick_once(s, now=at, due_soon_hours=h)
                )
                if result is None:
                    log.debug("workflow.tick.elsewhere")
                elif any(dataclasses.astuple(result)):
                    log.info("workflow.tick", **result.__dict__)
        except JiesuError as exc:  # e.g. no city loaded yet: keep serving, try again later
            log.warning("workflow.tick.skipped", reason=exc.message)
        except Exception:
            log.exception("workflow.tick.failed")
        await _notifications_due(app)
        if settings.reports_in_serve:
            await _reports_when_due(app)
        await asyncio.sleep(settings.tick_seconds)


async def _notifications_due(app: FastAPI) -> None:
    """Send the messages that are due, in a worker thread: a slow or absent SMTP server must
    not stall the server; what fails waits for its retry in the outbox."""
    try:
        settings, now = app.state.settings, app.state.clock.now()
        sent = await asyncio.to_thread(deliver_notifications, settings, now)
        if sent is None:
            log.debug("notify.elsewhere")
        elif sent.sent or sent.retrying or sent.dead or sent.held:
            log.info(
                "notify.sent",
                sent=sent.sent,
                held=sent.held,
                retrying=sent.retrying,
                dead=sent.dead,
            )
    except JiesuError as exc:  # a gateway named in the settings that does not exist
        log.warning("notify.skipped", reason=exc.message)
    except Exception:
        log.exception("notify.failed")


REPORT_CHECK = timedelta(minutes=15)


async def _reports_when_due(app: FastAPI) -> None:
    """Every quarter of an hour, in a worker thread so that the server keeps answering: the
    warehouse refreshed (incremental: the analysis pages are at most that old) and the
    morning's reports produced once they are due."""
    now = app.state.clock.now()
    last: datetime | None = getattr(app.state, "reports_checked", None)
    if last is not None and now - last < REPORT_CHECK:
        return
    app.state.reports_checked = now
    settings: Settings = app.state.settings
    try:
        made = await asyncio.to_thread(produce_due_reports, settings, now)
        if made is None:
            log.debug("reports.elsewhere")
        elif made:
            log.info("reports.produced", reports=made)
    except JiesuError as exc:  # no city yet, or another process is refreshing
        log.warning("reports.skipped", reason=exc.message)
    except Exception:
        log.exception("reports.failed")


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, schedule: bool = True
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    # Personal data is encrypted with this installation's keys (made on a first start outside
    # production; production settings refuse to load without one).
    if (made := ensure_data_key(settings)) is not None:
        log.warning("privacy.data_key.created", path=str(made), advice="back it up")
    use_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_tick_loop(app)) if schedule else None
        sensors = (
            start_listener_thread(
                settings.mqtt_url, settings.db_url, settings.mqtt_topic, clock=app.state.clock
            )
            if settings.sensors_in_serve
            else None
        )
        yield
        if sensors is not None:
            await asyncio.to_thread(sensors.stop)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await app.state.engine.dispose()

    app = FastAPI(
        title="Jiesu 接诉",
        version=__version__,
        description="Hear every citizen request, dispatch it, make sure it is fixed, prove it.",
        lifespan=lifespan,
    )
    engine = make_async_engine(settings.db_url, **pool_options(settings))
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_async_sessionmaker(engine)
    app.state.clock = clock or SystemClock()
    app.state.open311_limits = RateLimiter()
    app.add_exception_handler(JiesuError, _jiesu_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(InterfaceError, _database_down)
    app.add_exception_handler(HTTPException, _http_error)
    app.include_router(api)
    app.include_router(open311_router)
    web.mount(app)
    app.add_middleware(
        BodyLimit, default=settings.max_body_bytes, uploads=settings.max_upload_bytes
    )
    app.add_middleware(SecurityHeaders)
    return app
