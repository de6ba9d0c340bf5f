"""Rates and rankings for supervisors, analysts and admins (every unit) and for unit handlers
(their own unit only): the three rates with the score per group, the ranking of one kind of
unit with its change, dragging categories and gaming signals, and the export files.

The figures come from the same functions and the same access rules as /api/v1/rates, so the
page, the API and the exported file never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from jiesu.city.models import UNIT_KINDS
from jiesu.deps import DB, ClockDep
from jiesu.errors import BadInput, JiesuError
from jiesu.kit.cache import Recent
from jiesu.people.service import Actor
from jiesu.rates.compute import rates_report
from jiesu.rates.definitions import Definitions
from jiesu.rates.endpoints import _ranking, _rates_query, definitions
from jiesu.rates.export import MEDIA, check_format, export, filename
from jiesu.rates.groups import GROUP_BYS, NONE_CODE
from jiesu.rates.rankings import DEFAULT_DRAGS, DEFAULT_FOCUS
from jiesu.rates.schemas import Ranking, RatesReport
from jiesu.web.forms import FormErrors
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
# A month's rates and ranking cost a scan of its requests; between two clicks they do not move.
# The page says when they were computed; exports are always computed afresh.
RECENT: Recent[tuple[RatesReport, Ranking]] = Recent(ttl_seconds=120)
ROLES = ("supervisor", "analyst", "admin", "handler")
KIND_NAMES: dict[str, tuple[str, str]] = {
    "street_office": ("街道乡镇", "street offices"),
    "district_government": ("区政府", "district governments"),
    "city_bureau": ("市级部门", "city bureaus"),
    "public_service_company": ("公共服务企业", "public service companies"),
    "platform_company": ("平台企业", "platform companies"),
}
BY_NAMES: dict[str, tuple[str, str]] = {
    "unit": ("承办单位", "unit"),
    "department": ("上级部门", "department"),
    "area": ("区域", "area"),
    "category": ("类别", "category"),
}
# The request list's filter for a row of each grouping (a department is a unit too).
DRILL = {"unit": "unit", "department": "unit", "area": "area", "category": "category"}
assert set(KIND_NAMES) == set(UNIT_KINDS) and set(BY_NAMES) == set(GROUP_BYS)


@dataclass(frozen=True)
class Asked:
    """What the form asks for, as typed (kept on the page when it is refused)."""

    period: str | None
    by: str
    kind: str | None
    unit: str | None

    @classmethod
    def of(cls, q: dict[str, str]) -> Asked:
        for name in ("period", "unit"):
            if len(q.get(name, "")) > 200:
                raise BadInput(name, "at most 200 characters")
        return cls(
            period=q.get("period") or None,
            by=q.get("by") or "unit",
            kind=q.get("kind") or None,
            unit=q.get("unit") or None,
        )

    def check(self) -> None:
        if self.by not in GROUP_BYS:
            raise BadInput("by", f"use one of {', '.join(GROUP_BYS)}")
        if self.kind is not None and self.kind not in UNIT_KINDS:
            raise BadInput("kind", f"use one of {', '.join(UNIT_KINDS)}")


def _report(s: Session, actor: Actor, at: datetime, defs: Definitions, a: Asked) -> RatesReport:
    q = _rates_query(s, actor, at, defs, period=a.period, by=a.by, unit=a.unit)
    return rates_report(s, q)


def _rank(s: Session, actor: Actor, at: datetime, defs: Definitions, a: Asked) -> Ranking:
    return _ranking(s, actor, at, defs, a.kind, a.period, DEFAULT_FOCUS, DEFAULT_DRAGS)


def drill(by: str, code: str) -> str | None:
    """The requests behind a row; None for the row of requests without a group."""
    return None if code == NONE_CODE else f"/desk/requests?{DRILL[by]}={code}"


@router.get("/desk/rates", response_class=HTMLResponse)
async def rates_page(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *ROLES)
    q = {k: v for k, v in request.query_params.items() if v and k != "fresh"}
    fresh = request.query_params.get("fresh") == "1"
    asked = Asked.of(q)
    defs = definitions(request)
    now = clock.now()
    errors = FormErrors()

    def work(s: Session) -> tuple[tuple[RatesReport, Ranking], float]:
        asked.check()
        key = (
            str(s.get_bind().engine.url),
            actor.role,
            actor.unit_id,
            actor.area_path,
            asked,
            repr(sorted(defs.as_dict().items())),
        )

        def build() -> tuple[RatesReport, Ranking]:
            return _report(s, actor, now, defs, asked), _rank(s, actor, now, defs, asked)

        if fresh:
            RECENT.drop(key)
        return RECENT.get(key, build)

    report: RatesReport | None = None
    ranked: Ranking | None = None
    age = 0.0
    try:
        (report, ranked), age = await db.run_sync(work)
    except JiesuError as exc:
        # A refusal of another unit's figures is a 403 page, not a form error to correct.
        if exc.status_code != 422:
            raise
        errors.from_error(exc)
    return render(
        request,
        "staff/rates.html",
        status_code=422 if errors else 200,
        report=report,
        ranked=ranked,
        asked=asked,
        q=q,
        errors=errors,
        kinds=KIND_NAMES,
        bys=BY_NAMES,
        drill=drill,
        export_query=_export_query(q),
        computed_at=now - timedelta(seconds=age),
    )


def _export_query(q: dict[str, str]) -> dict[str, Any]:
    return {k: v for k, v in q.items() if k in ("period", "by", "kind", "unit")}


@router.get("/desk/rates/export.{fmt}")
async def rates_export(
    fmt: str, request: Request, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    """The rates (what=rates, the default) or the ranking (what=ranking) as CSV or XLSX."""
    need(actor, *ROLES)
    format_ = check_format(fmt)
    q = {k: v for k, v in request.query_params.items() if v}
    what = q.get("what", "rates")
    if what not in ("rates", "ranking"):
        raise BadInput("what", "use rates or ranking")
    asked = Asked.of(q)
    defs = definitions(request)
    now = clock.now()

    def work(s: Session) -> tuple[bytes, str]:
        asked.check()
        doc: RatesReport | Ranking
        doc = (
            _rank(s, actor, now, defs, asked)
            if what == "ranking"
            else _report(s, actor, now, defs, asked)
        )
        return export(doc, what, format_), filename(what, doc.period.label, format_)

    body, name = await db.run_sync(work)
    return Response(
        body,
        media_type=MEDIA[format_],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
