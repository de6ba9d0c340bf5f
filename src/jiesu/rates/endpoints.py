"""Routes under /api/v1/rates: rates, on-time statistics, rankings and their export files.

Supervisors, analysts and admins see every unit. A unit handler sees only their own unit's
figures: rates are narrowed to the unit's requests, a ranking shows the unit's own entry (its
rank among all), and asking for another unit is refused with 403 rather than quietly narrowed,
so nobody mistakes a narrowed answer for the city's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import UNIT_KINDS, Area, HandlingUnit
from jiesu.city.service import find_area
from jiesu.deps import DB, ClockDep, CurrentActor
from jiesu.errors import BadInput, ConfigError, Forbidden, error_responses
from jiesu.people.service import Actor
from jiesu.rates.compute import rates_report
from jiesu.rates.definitions import Definitions, load_definitions
from jiesu.rates.export import MEDIA, export, filename
from jiesu.rates.groups import GROUP_BYS
from jiesu.rates.query import Query as RatesQuery
from jiesu.rates.query import build_query
from jiesu.rates.rankings import DEFAULT_DRAGS, DEFAULT_FOCUS, DEFAULT_KIND, ranking
from jiesu.rates.schemas import OnTimeFigures, PeriodOut, Ranking, RatesReport

router = APIRouter(prefix="/rates", tags=["rates"])

SEE_ALL = ("supervisor", "analyst", "admin")
ERRORS = error_responses(
    {
        401: "not signed in",
        403: "your role may not see these figures, or not this unit's",
        422: "a parameter is wrong (period, by, code…); names the parameter",
    }
)

By = Literal["unit", "department", "area", "category"]
Kind = Literal[
    "street_office",
    "district_government",
    "city_bureau",
    "public_service_company",
    "platform_company",
]
# Spelled out for the OpenAPI document; kept equal to the lists the rules check against.
assert set(get_args(By)) == set(GROUP_BYS)
assert set(get_args(Kind)) == set(UNIT_KINDS)
PERIOD_HELP = "2015, 2015-Q1, 2015-03 or 2015-03-01..2015-03-31; default: the last full month"
PeriodQ = Annotated[str | None, Query(max_length=40, description=PERIOD_HELP)]
LevelQ = Annotated[
    str | None, Query(max_length=16, description="area level (street…) or category level 1-3")
]
CodeQ = Annotated[str | None, Query(max_length=200)]
AsOfQ = Annotated[
    AwareDatetime | None, Query(description="judge open requests at this time; default now")
]
SyntheticQ = Annotated[
    bool | None, Query(description="count synthetic (demo) requests; default: as defined")
]


def definitions(request: Request, synthetic: SyntheticQ = None) -> Definitions:
    try:
        d = load_definitions(None, data_dir=request.app.state.settings.data_dir)
    except BadInput as exc:
        # The installation's file, not the caller's input: a server-side configuration error.
        raise ConfigError(f"rate definitions: {exc.message}") from exc
    return d if synthetic is None else replace(d, include_synthetic=synthetic)


Defs = Annotated[Definitions, Depends(definitions)]


def _refused(field: str, message: str) -> Forbidden:
    return Forbidden(message, fields=[{"field": field, "problem": message}])


def _own_unit(s: Session, actor: Actor) -> HandlingUnit | None:
    """The unit a handler is limited to; None for roles that see everything."""
    if actor.role in SEE_ALL:
        return None
    if actor.role == "handler" and actor.unit_id is not None:
        unit = s.get(HandlingUnit, actor.unit_id)
        if unit is not None:
            return unit
    raise Forbidden(f"role {actor.role} may not see assessment figures")


def _check_unit(own: HandlingUnit | None, asked: str | None) -> str | None:
    if own is None:
        return asked
    if asked is not None and asked not in (own.code, own.name):
        raise _refused("unit", "unit handlers see only their own unit's figures")
    return own.code


def _check_area(s: Session, actor: Actor, asked: str | None) -> str | None:
    """A supervisor or analyst kept to a district gets the district's figures: no area asked
    means theirs, an area inside it is fine, one outside is refused (not quietly narrowed)."""
    if actor.area_path is None:
        return asked
    if asked is None:
        own = s.scalar(select(Area.code).where(Area.path == actor.area_path))
        if own is None:  # the account's area was removed from the city pack
            raise _refused("area", "your account's area no longer exists")
        return own
    if not find_area(s, asked).path.startswith(actor.area_path):
        raise _refused("area", "that area is outside yours")
    return asked


def _rates_query(
    s: Session, actor: Actor, as_of: datetime, defs: Definitions, **kw: Any
) -> RatesQuery:
    kw["unit"] = _check_unit(_own_unit(s, actor), kw.get("unit"))
    kw["area"] = _check_area(s, actor, kw.get("area"))
    return build_query(s, as_of=as_of, defs=defs, **kw)


@router.get("", response_model=RatesReport, responses=ERRORS)
async def get_rates(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    defs: Defs,
    by: By = "unit",
    period: PeriodQ = None,
    level: LevelQ = None,
    kind: Kind | None = None,
    unit: CodeQ = None,
    area: CodeQ = None,
    category: CodeQ = None,
    as_of: AsOfQ = None,
) -> RatesReport:
    """The three rates, the composite score and on-time statistics, grouped by unit, area or
    category, for a period."""
    at = as_of or clock.now()

    def work(s: Session) -> RatesReport:
        q = _rates_query(
            s,
            actor,
            at,
            defs,
            period=period,
            by=by,
            level=level,
            kind=kind,
            unit=unit,
            area=area,
            category=category,
        )
        return rates_report(s, q)

    return await db.run_sync(work)


class OnTimeRow(BaseModel):
    code: str
    name: str
    kind: str
    ontime: OnTimeFigures


class OnTimeReport(BaseModel):
    by: str
    period: PeriodOut
    as_of: datetime
    basis: str
    import_snapshots: dict[str, datetime]
    total: OnTimeFigures
    rows: list[OnTimeRow]


@router.get("/ontime", response_model=OnTimeReport, responses=ERRORS)
async def get_ontime(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    defs: Defs,
    by: By = "unit",
    period: PeriodQ = None,
    level: LevelQ = None,
    kind: Kind | None = None,
    unit: CodeQ = None,
    area: CodeQ = None,
    category: CodeQ = None,
    as_of: AsOfQ = None,
) -> OnTimeReport:
    """On-time share per group the way the city's own system computes it (docs/rates.md)."""
    at = as_of or clock.now()

    def work(s: Session) -> OnTimeReport:
        q = _rates_query(
            s,
            actor,
            at,
            defs,
            period=period,
            by=by,
            level=level,
            kind=kind,
            unit=unit,
            area=area,
            category=category,
        )
        r = rates_report(s, q)
        assert r.total.ontime is not None
        return OnTimeReport(
            by=r.by,
            period=r.period,
            as_of=r.as_of,
            basis=r.basis["ontime"],
            import_snapshots=r.import_snapshots,
            total=r.total.ontime,
            rows=[
                OnTimeRow(code=x.code, name=x.name, kind=x.kind, ontime=x.ontime)
                for x in r.rows
                if x.ontime is not None and x.ontime.n
            ],
        )

    return await db.run_sync(work)


def _ranking(
    s: Session,
    actor: Actor,
    at: datetime,
    defs: Definitions,
    kind: str | None,
    period: str | None,
    focus: int,
    drags: int,
) -> Ranking:
    own = _own_unit(s, actor)
    if own is not None and kind is not None and kind != own.kind:
        raise _refused("kind", "unit handlers see only their own unit's ranking")
    chosen = kind or (own.kind if own is not None else DEFAULT_KIND)
    # A district's ranking ranks the units by their requests in the district.
    area = _check_area(s, actor, None)
    q = build_query(s, as_of=at, defs=defs, period=period, kind=chosen, area=area)
    only = own.id if own is not None else None
    return ranking(s, q, kind=chosen, focus=focus, drag_count=drags, only_unit=only)


@router.get("/ranking", response_model=Ranking, responses=ERRORS)
async def get_ranking(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    defs: Defs,
    kind: Kind | None = None,
    period: PeriodQ = None,
    focus: Annotated[int, Query(ge=0, le=500, description="worst N areas")] = DEFAULT_FOCUS,
    drags: Annotated[int, Query(ge=0, le=50, description="categories per unit")] = DEFAULT_DRAGS,
    as_of: AsOfQ = None,
) -> Ranking:
    """Units of one kind ranked by composite score, with change against the previous period,
    the categories that drag each down, the worst areas and gaming signals."""
    at = as_of or clock.now()
    return await db.run_sync(lambda s: _ranking(s, actor, at, defs, kind, period, focus, drags))


@router.get(
    "/export",
    responses={
        **ERRORS,
        200: {"content": {MEDIA["csv"]: {}, MEDIA["xlsx"]: {}}, "description": "the file"},
    },
    response_class=Response,
)
async def get_export(
    db: DB,
    actor: CurrentActor,
    clock: ClockDep,
    defs: Defs,
    what: Literal["rates", "ontime", "ranking"] = "rates",
    format: Literal["csv", "xlsx"] = "csv",
    by: By = "unit",
    period: PeriodQ = None,
    level: LevelQ = None,
    kind: Kind | None = None,
    unit: CodeQ = None,
    area: CodeQ = None,
    category: CodeQ = None,
    as_of: AsOfQ = None,
) -> Response:
    """Rates, on-time statistics or a ranking as a CSV or XLSX download."""
    at = as_of or clock.now()

    def work(s: Session) -> tuple[bytes, str]:
        doc: RatesReport | Ranking
        if what == "ranking":
            doc = _ranking(s, actor, at, defs, kind, period, DEFAULT_FOCUS, DEFAULT_DRAGS)
        else:
            q = _rates_query(
                s,
                actor,
                at,
                defs,
                period=period,
                by=by,
                level=level,
                kind=kind,
                unit=unit,
                area=area,
                category=category,
            )
            doc = rates_report(s, q)
        return export(doc, what, format), filename(what, doc.period.label, format)

    body, name = await db.run_sync(work)
    return Response(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
