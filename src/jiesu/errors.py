"""Domain errors and their one JSON shape.

    JiesuError (500)
     ├── BadInput (422)          a field has a bad value; names the field
     │    └── UnknownReference   an unknown category/area/unit code, with valid hints
     ├── ProblemList (422)       a whole file checked: every problem, and nothing loaded
     ├── NotAuthenticated (401)
     ├── Forbidden (403)
     ├── NotFound (404)
     ├── Conflict (409)
     │    └── IllegalAction      a workflow action not allowed in the current state
     ├── Refused (4xx)           what the framework refused before a route ran: an unknown
     │                           path or method, an unreadable or too large body (413)
     └── ConfigError (500)       a broken installation (e.g. calendar year missing)

Every error renders as ``{"error": {"code", "message", "fields": [{"field", "problem"}], ...}}``
(``ErrorOut``); routes declare theirs with ``error_responses()`` so the OpenAPI document says
so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class JiesuError(Exception):
    status_code = 500
    code = "error"

    def __init__(self, message: str, *, fields: list[dict[str, str]] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields or []
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return {"error": body}


class BadInput(JiesuError):
    status_code = 422
    code = "bad_input"

    def __init__(self, field: str, problem: str, **extra: Any):
        super().__init__(
            f"{field}: {problem}", fields=[{"field": field, "problem": problem}], **extra
        )


class UnknownReference(BadInput):
    code = "unknown_reference"

    def __init__(self, field: str, value: str, hints: list[str]):
        hint = f"; did you mean one of: {', '.join(hints)}" if hints else ""
        super().__init__(field, f"unknown value {value!r}{hint}", hints=hints)


class ProblemList(JiesuError):
    """A file (city pack, sensors file…) was checked whole: all its problems, none loaded."""

    status_code = 422
    code = "invalid_file"
    MAX_SHOWN = 50

    def __init__(self, source: str, problems: list[str]):
        shown = problems[: self.MAX_SHOWN]
        extra = len(problems) - len(shown)
        more = f"\n  … and {extra} more" if extra else ""
        super().__init__(
            f"{source} has {len(problems)} problem(s); nothing was loaded:\n  "
            + "\n  ".join(shown)
            + more,
            problems=shown,
        )
        self.problems = problems


class NotAuthenticated(JiesuError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(JiesuError):
    status_code = 403
    code = "forbidden"


class NotFound(JiesuError):
    status_code = 404
    code = "not_found"


class Conflict(JiesuError):
    status_code = 409
    code = "conflict"


class IllegalAction(Conflict):
    code = "illegal_action"


class ConfigError(JiesuError):
    status_code = 500
    code = "configuration"


class Refused(JiesuError):
    """The web framework's own refusals (Starlette's HTTPException), in the one shape."""

    CODES: ClassVar[dict[int, str]] = {
        400: "bad_input",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
    }

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        # Only a body can be unreadable or too large: name it, as every BadInput names a field.
        fields = [{"field": "body", "problem": message}] if status in (400, 413) else None
        super().__init__(message, fields=fields)
        self.status_code = status
        self.code = self.CODES.get(status, "refused")
        self.headers = dict(headers or {})


# ---------------------------------------------------------------- the shape, documented
class FieldProblem(BaseModel):
    field: str
    problem: str


class ErrorDetail(BaseModel):
    # Some errors carry more: allowed_actions (409), hints (unknown codes), problems (files).
    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    fields: list[FieldProblem] = []


class ErrorOut(BaseModel):
    """The body of every error answer of the API."""

    error: ErrorDetail


def error_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status with what it means there, and the one
    error body, so clients and the schema checks know what an error looks like."""
    return {
        status: {"model": ErrorOut, "description": text} for status, text in descriptions.items()
    }
