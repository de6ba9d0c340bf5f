"""Errors in the specification's one shape: ``errors ⇊ error ↴ (code, description)``.

HTTP status codes are the spec's three: 404 for a resource, jurisdiction, service code or token
that does not exist, 403 for a missing or wrong api_key, 400 for everything else — plus 429
(with Retry-After) for a client over its rate limit (``limits.py``). The body ``code`` may be
more specific (409 for a concurrent change, 500 for a fault of ours).
"""

from __future__ import annotations

from fastapi import Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException  # the framework's own (404, 405, 413) and FastAPI's

from jiesu.errors import (
    Conflict,
    Forbidden,
    IllegalAction,
    JiesuError,
    NotAuthenticated,
    NotFound,
)
from jiesu.intake.open311.formats import Format, Many, render
from jiesu.logs import get_logger

log = get_logger(__name__)

GENERAL_ERROR = "general service error; please tell the city's hotline what you sent and when"


class Open311Error(Exception):
    """One HTTP status with one or more (code, description) pairs."""

    def __init__(self, status: int, *errors: tuple[int, str]) -> None:
        super().__init__("; ".join(d for _, d in errors))
        self.status = status
        self.errors = list(errors) or [(status, "error")]

    @classmethod
    def bad(cls, *descriptions: str) -> Open311Error:
        return cls(400, *((400, d) for d in descriptions))

    @classmethod
    def not_found(cls, description: str) -> Open311Error:
        return cls(404, (404, description))

    @classmethod
    def forbidden(cls, description: str) -> Open311Error:
        return cls(403, (403, description))


def translate(exc: Exception) -> Open311Error:
    """Any exception raised while serving a route, as the spec's error."""
    if isinstance(exc, Open311Error):
        return exc
    if isinstance(exc, JiesuError):
        return _from_jiesu(exc)
    if isinstance(exc, RequestValidationError):
        problems = [f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors()]
        return Open311Error.bad(*problems)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is not answering: nothing was done, and the client may retry.
        log.error("open311.database_unavailable", error=type(exc).__name__)
        return Open311Error(503, (503, "the database is not answering; try again shortly"))
    if isinstance(exc, HTTPException):
        status = exc.status_code if exc.status_code in (403, 404) else 400
        return Open311Error(status, (exc.status_code, str(exc.detail)))
    # A fault of ours: logged with its traceback, never shown to the client.
    log.exception("open311.failed", error=type(exc).__name__)
    return Open311Error(400, (500, GENERAL_ERROR))


def _from_jiesu(exc: JiesuError) -> Open311Error:
    if isinstance(exc, NotFound):
        return Open311Error.not_found(exc.message)
    if isinstance(exc, Forbidden | NotAuthenticated):
        return Open311Error.forbidden(exc.message)
    if isinstance(exc, IllegalAction):
        return Open311Error.bad(exc.message)
    if isinstance(exc, Conflict):
        return Open311Error(400, (409, exc.message))
    if exc.status_code >= 500:
        log.error("open311.failed", code=exc.code, message=exc.message)
        return Open311Error(400, (500, f"{GENERAL_ERROR} ({exc.message})"))
    return Open311Error.bad(exc.message)


def error_response(fmt: Format, error: Open311Error) -> Response:
    body = Many("error", [{"code": code, "description": text} for code, text in error.errors])
    response = render(fmt, "errors", body, status_code=error.status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
