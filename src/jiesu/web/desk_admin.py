"""The admin desk: the city pack's contents, users and roles, the classifier and router
versions, and the sensors; the dispatch catalogue has its own module (desk_admin_catalogue).

Every change goes through the same service the API and the CLI use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from jiesu.city.models import UNIT_KINDS, Area, Category, HandlingUnit
from jiesu.city.service import counts
from jiesu.deps import DB, ClockDep, write
from jiesu.dispatch.learning import KIND as ROUTER_KIND
from jiesu.dispatch.learning import activate_router, deactivate_router
from jiesu.dispatch.learning import retrain as retrain_router
from jiesu.dispatch.service import get_version
from jiesu.errors import BadInput, Conflict, JiesuError
from jiesu.intake.models import Sensor, SensorRule
from jiesu.intake.sensors import repository as sensor_repo
from jiesu.intake.sensors.routing import route
from jiesu.kit.clock import utcnow
from jiesu.nlp import registry
from jiesu.nlp.tables import ClassifierVersion
from jiesu.nlp.training import retrain as retrain_category
from jiesu.people.accounts import list_users, set_active
from jiesu.people.models import ROLES, User
from jiesu.people.service import Actor, create_user
from jiesu.web import desk_admin_catalogue
from jiesu.web.background import Work, jobs_of
from jiesu.web.desk_rates import KIND_NAMES
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.requests import pickers
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
router.include_router(desk_admin_catalogue.router)
UNIT_PAGE = 100
assert set(KIND_NAMES) == set(UNIT_KINDS)


# ---------------------------------------------------------------- summary and city pack
@router.get("/desk/admin", response_class=HTMLResponse)
async def admin_home(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")

    def work(s: Session) -> dict[str, Any]:
        catalogue = get_version(s, None)
        return {
            "counts": counts(s),
            "catalogue": catalogue.version if catalogue else None,
            "users": s.scalar(select(func.count(User.id)).where(User.active.is_(True))) or 0,
            "models": {v.kind: v.version for v in registry.versions(s) if v.active},
            "sensors": s.scalar(select(func.count(Sensor.id)).where(Sensor.active.is_(True))) or 0,
        }

    return render(request, "staff/admin.html", **await db.run_sync(work))


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    kind: str
    parent: str
    areas: list[str]
    categories: list[str]
    all_categories: bool


def _units(s: Session, q: str, kind: str) -> tuple[list[UnitRow], int]:
    stmt = select(HandlingUnit).where(HandlingUnit.active.is_(True))
    if q:  # autoescape: a % or _ typed in the search is that character, not a wildcard
        found = (
            HandlingUnit.code.contains(q, autoescape=True),
            HandlingUnit.name.contains(q, autoescape=True),
        )
        stmt = stmt.where(or_(*found))
    if kind:
        stmt = stmt.where(HandlingUnit.kind == kind)
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    units = s.scalars(
        stmt.options(selectinload(HandlingUnit.areas), selectinload(HandlingUnit.categories))
        .order_by(HandlingUnit.kind, HandlingUnit.code)
        .limit(UNIT_PAGE)
    ).all()
    parents = dict(
        s.execute(
            select(HandlingUnit.id, HandlingUnit.name).where(
                HandlingUnit.id.in_({u.parent_id for u in units if u.parent_id})
            )
        ).all()
    )
    rows = [
        UnitRow(
            u.code,
            u.name,
            u.kind,
            parents.get(u.parent_id, "") if u.parent_id else "",
            [f"{a.code} {a.name}" for a in u.areas],
            [f"{c.code} {c.name}" for c in u.categories],
            u.all_categories,
        )
        for u in units
    ]
    return rows, total


@router.get("/desk/admin/city", response_class=HTMLResponse)
async def city_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")
    q = request.query_params.get("q", "").strip()[:100]
    kind = request.query_params.get("kind", "")
    if kind and kind not in UNIT_KINDS:
        raise BadInput("kind", f"use one of {', '.join(UNIT_KINDS)}")

    def work(s: Session) -> dict[str, Any]:
        units, total = _units(s, q, kind)
        levels = dict(
            s.execute(
                select(Area.level, func.count()).where(Area.active.is_(True)).group_by(Area.level)
            ).all()
        )
        cat_levels = dict(
            s.execute(
                select(Category.level, func.count())
                .where(Category.active.is_(True))
                .group_by(Category.level)
            ).all()
        )
        return {
            "counts": counts(s),
            "units": units,
            "total": total,
            "levels": levels,
            "cat_levels": cat_levels,
        }

    data = await db.run_sync(work)
    return render(
        request, "staff/admin_city.html", **data, q=q, kind=kind, kinds=KIND_NAMES, limit=UNIT_PAGE
    )


# ---------------------------------------------------------------- users and roles
async def _users_page(
    request: Request,
    db: DB,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    q = request.query_params.get("q", "").strip()[:64]
    users, picks = await db.run_sync(lambda s: (list_users(s, q=q or None), pickers(s)))
    return render(
        request,
        "staff/admin_users.html",
        status_code=status_code,
        users=users,
        picks=picks,
        roles=ROLES,
        values=values or {},
        errors=errors or FormErrors(),
        q=q,
        done=request.query_params.get("done", ""),
    )


@router.get("/desk/admin/users", response_class=HTMLResponse)
async def users_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")
    return await _users_page(request, db)


@router.post("/desk/admin/users", response_class=HTMLResponse)
async def create(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, "admin")
    values = await form_dict(request)
    now = clock.now()
    role = values.get("role", "")

    def work(s: Session) -> str:
        user = create_user(
            s,
            username=values.get("username", "").strip(),
            role=role,
            password=values.get("password", ""),
            now=now,
            display_name=values.get("display_name", "").strip(),
            # Only a handler is bound to a unit; a unit typed for another role is left out.
            unit=(values.get("unit", "").strip() or None) if role == "handler" else None,
        )
        return user.username

    errors = FormErrors()
    if not values.get("password"):
        errors.add("password", "请设置初始密码", "set a first password")
    else:
        try:
            name = await write(db, work)
            return RedirectResponse(f"/desk/admin/users?done=created-{name}", status_code=303)
        except JiesuError as exc:
            if exc.status_code not in (409, 422):
                raise
            await db.rollback()
            errors.from_error(exc)
    kept = {k: v for k, v in values.items() if k != "password"}  # a password is never echoed
    return await _users_page(request, db, values=kept, errors=errors, status_code=422)


def _switch(s: Session, username: str, active: bool, by: Actor) -> str:
    return set_active(s, username, active, by=by).username


@router.post("/desk/admin/users/{username}/active")
async def switch(request: Request, username: str, db: DB, actor: WebActor) -> Response:
    need(actor, "admin")
    values = await form_dict(request)
    active = values.get("active") == "1"
    try:
        await write(db, lambda s: _switch(s, username, active, actor))
    except JiesuError as exc:
        if exc.status_code != 422:
            raise
        await db.rollback()
        errors = FormErrors()
        errors.from_error(exc)
        return await _users_page(request, db, errors=errors, status_code=422)
    done = "activated" if active else "deactivated"
    return RedirectResponse(f"/desk/admin/users?done={done}-{username}", status_code=303)


# ---------------------------------------------------------------- classifiers and router
@dataclass(frozen=True)
class ModelRow:
    row: ClassifierVersion
    figures: list[tuple[str, str]]


def _figures(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The scalar metrics, readable (nested tables stay in the API and the CLI)."""
    out = []
    for k, v in metrics.items():
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            continue
        out.append((k, f"{v:.3f}" if isinstance(v, float) else str(v)))
    return out


async def _models_page(
    request: Request, db: DB, *, errors: FormErrors | None = None, status_code: int = 200
) -> HTMLResponse:
    rows = await db.run_sync(lambda s: registry.versions(s))
    jobs = jobs_of(request.app)
    return render(
        request,
        "staff/admin_models.html",
        status_code=status_code,
        models=[ModelRow(r, _figures(r.metrics or {})) for r in rows],
        jobs=[j for j in (jobs.get("category"), jobs.get(ROUTER_KIND)) if j is not None],
        active_kinds={r.kind for r in rows if r.active},
        router_kind=ROUTER_KIND,
        errors=errors or FormErrors(),
        done=request.query_params.get("done", ""),
    )


@router.get("/desk/admin/models", response_class=HTMLResponse)
async def models_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")
    return await _models_page(request, db)


def _activate_model(s: Session, version: str, now: Any) -> str:
    row = registry.find_version(s, version)
    # The router keeps its own cache of the active version; each kind through its own service.
    if row.kind == ROUTER_KIND:
        return activate_router(s, version, now=now).version
    return registry.activate_version(s, version, now=now).version


@router.post("/desk/admin/models/{version}/activate", response_class=HTMLResponse)
async def activate_model(
    request: Request, version: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, "admin")
    now = clock.now()
    try:
        await write(db, lambda s: _activate_model(s, version, now))
    except (JiesuError, OSError) as exc:
        # A version whose files are gone cannot be put in force; the page says so.
        if isinstance(exc, JiesuError) and exc.status_code not in (404, 422):
            raise
        await db.rollback()
        errors = FormErrors()
        message = exc.message if isinstance(exc, JiesuError) else f"files not readable: {exc}"
        errors.add("", message)
        return await _models_page(request, db, errors=errors, status_code=422)
    return RedirectResponse(f"/desk/admin/models?done={version}", status_code=303)


TRAIN_KINDS = ("category", ROUTER_KIND)


def _training(kind: str, policy: str, settings: Any, who: str) -> Work:
    """The job that retrains ``kind`` from the city's own history (the CLI's service)."""

    def work(s: Session, say: Callable[[str], None]) -> dict[str, Any]:
        now = utcnow()
        if kind == ROUTER_KIND:
            return retrain_router(
                s, data_dir=settings.data_dir, now=now, activate=policy, actor=who, progress=say
            )
        return retrain_category(
            s, data_dir=settings.data_dir, now=now, activate=policy, actor=who, progress=say
        )

    return work


@router.post("/desk/admin/models/train", response_class=HTMLResponse)
async def train_model(request: Request, db: DB, actor: WebActor) -> Response:
    """Train a new version from confirmed categories (classifier) or answered requests
    (router), compare it with the one in use on the newest fifth, and activate per policy."""
    need(actor, "admin")
    values = await form_dict(request)
    kind, policy = values.get("kind", ""), values.get("activate", "if-better")
    errors = FormErrors()
    if kind not in TRAIN_KINDS:
        errors.add("kind", f"must be one of {', '.join(TRAIN_KINDS)}")
    if policy not in ("if-better", "always", "never"):
        errors.add("activate", "must be if-better, always or never")
    if errors:
        return await _models_page(request, db, errors=errors, status_code=422)
    settings = request.app.state.settings
    try:
        jobs_of(request.app).start(
            settings, kind, actor.name, _training(kind, policy, settings, actor.name)
        )
    except Conflict as exc:
        errors.add("kind", exc.message)
        return await _models_page(request, db, errors=errors, status_code=409)
    return RedirectResponse("/desk/admin/models#jobs", status_code=303)


@router.post("/desk/admin/models/deactivate", response_class=HTMLResponse)
async def deactivate_model(request: Request, db: DB, actor: WebActor) -> Response:
    """Back to the keyword classifier (category) or to catalogue-only dispatch (router)."""
    need(actor, "admin")
    kind = (await form_dict(request)).get("kind", "")
    if kind not in TRAIN_KINDS:
        raise BadInput("kind", f"must be one of {', '.join(TRAIN_KINDS)}")
    await write(
        db, lambda s: deactivate_router(s) if kind == ROUTER_KIND else registry.deactivate(s, kind)
    )
    return RedirectResponse(f"/desk/admin/models?done=off-{kind}", status_code=303)


# ---------------------------------------------------------------- sensors
@dataclass(frozen=True)
class SensorRow:
    code: str
    kind: str
    area: str
    goes_to: str | None
    open_order: str | None
    description: str
    active: bool


def _sensors(s: Session) -> dict[str, Any]:
    rules = s.scalars(select(SensorRule).order_by(SensorRule.kind)).all()
    cats = {
        c.id: c
        for c in s.scalars(select(Category).where(Category.id.in_({r.category_id for r in rules})))
    }
    rows = []
    for sensor in s.scalars(select(Sensor).order_by(Sensor.kind, Sensor.code)):
        area = s.get(Area, sensor.area_id)
        assert area is not None  # a foreign key
        target = route(s, sensor, area)
        latest = sensor_repo.latest_order(s, sensor)
        rows.append(
            SensorRow(
                sensor.code,
                sensor.kind,
                f"{area.code} {area.name}",
                target.unit.name if target else None,
                latest.ticket if latest and sensor_repo.is_open(latest) else None,
                sensor.description,
                sensor.active,
            )
        )
    return {"rules": rules, "cats": cats, "sensors": rows}


@router.get("/desk/admin/sensors", response_class=HTMLResponse)
async def sensors_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")
    return render(request, "staff/admin_sensors.html", **await db.run_sync(_sensors))
