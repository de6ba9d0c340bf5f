"""The supervisors' deliberation desk (议事): open a consultation on a hot issue, a monthly
topic, an early warning or a community matter; watch it; end it, decide, open or link the
work orders that carry the decision out; hide a comment or proposal with a reason. Analysts
read the same pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.models import EarlyWarning, MonthlyTopic
from jiesu.city.models import Area
from jiesu.deliberation import followup, service
from jiesu.deliberation.followup import STAGE_NAMES
from jiesu.deliberation.views import summary, view
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError
from jiesu.people.service import Actor
from jiesu.web.consult import PHASES
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
PREFILL = ("subject", "subject_ref", "title", "area", "category")
SUBJECT_NAMES = {
    "community": ("社区事务", "community matter"),
    "hot_issue": ("热点问题", "hot issue"),
    "monthly_topic": ("每月一题", "monthly topic"),
    "early_warning": ("预警", "early warning"),
}


def _choices(s: Session) -> dict[str, Any]:
    areas = s.scalars(
        select(Area).where(Area.active.is_(True), Area.level.in_(("city", "district", "street")))
        .order_by(Area.path)
    ).all()  # fmt: skip
    topics = s.scalars(select(MonthlyTopic).order_by(MonthlyTopic.id.desc()).limit(12)).all()
    warnings = s.scalars(
        select(EarlyWarning).where(EarlyWarning.status != "dismissed")
        .order_by(EarlyWarning.id.desc()).limit(20)
    ).all()  # fmt: skip
    return {
        "areas": [(a.code, a.name, a.level) for a in areas],
        "topics": [(t.id, t.month, t.title) for t in topics],
        "warnings": [(w.id, w.reason_zh) for w in warnings],
    }


async def _list_page(request: Request, db: DB, actor: Actor, now: datetime,
                     errors: FormErrors | None = None, values: dict[str, str] | None = None,
                     status_code: int = 200) -> HTMLResponse:  # fmt: skip
    def work(s: Session) -> dict[str, Any]:
        rows = [
            summary(s, c, now) for c in service.list_consultations(s, area_path=actor.area_path)
        ]
        return {"rows": rows, **_choices(s)}

    data = await db.run_sync(work)
    return render(request, "staff/consult_list.html", status_code=status_code, **data,
                  phases=PHASES, subjects=SUBJECT_NAMES, errors=errors or FormErrors(),
                  values=values or {"options": "\n"})  # fmt: skip


@router.get("/desk/consult", response_class=HTMLResponse)
async def consult_desk(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    need(actor, *service.READERS)
    # Linked from a hot issue, a monthly topic or a warning: the form starts from it.
    asked = {k: v[:200] for k, v in request.query_params.items() if k in PREFILL}
    return await _list_page(request, db, actor, clock.now(), values={"options": "\n", **asked})


def _questions(text: str) -> list[tuple[str, list[str]]]:
    """A survey written as lines: a question, then its options each starting with "-"."""
    out: list[tuple[str, list[str]]] = []
    for line in (x.strip() for x in text.splitlines()):
        if not line:
            continue
        if line.startswith(("-", "－")):
            if not out:
                raise BadInput("questions", "write the question before its options")
            out[-1][1].append(line.lstrip("-－ ").strip())
        else:
            out.append((line, []))
    return out


def _opening(values: dict[str, str]) -> service.Opening:
    days = values.get("days", "14").strip() or "14"
    if not days.isdigit() or len(days) > 3:
        raise BadInput("days", "a whole number of days")
    return service.Opening(
        title=values.get("title", ""),
        question=values.get("question", ""),
        kind=values.get("kind", "poll"),
        subject=values.get("subject", "community"),
        subject_ref=values.get("subject_ref", ""),
        area=values.get("area") or None,
        category=values.get("category") or None,
        options=values.get("options", "").splitlines(),
        questions=_questions(values.get("questions", "")),
        methods=[m for m in ("phone", "ticket", "account") if values.get(f"method_{m}")],
        days=int(days),
    )


@router.post("/desk/consult", response_class=HTMLResponse)
async def consult_open(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *service.MANAGERS)
    values, now = await form_dict(request), clock.now()

    def work(s: Session) -> int:
        return service.open_consultation(s, _opening(values), actor=actor, now=now).id

    try:
        cid = await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 404):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return await _list_page(request, db, actor, now, errors, values, exc.status_code)
    return RedirectResponse(f"/desk/consult/{cid}?done=opened", status_code=303)


def _cid(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise BadInput("consultation", "must be a consultation number")
    return int(raw)


async def _page(request: Request, db: DB, actor: Actor, now: datetime, cid: int,
                errors: FormErrors | None = None, values: dict[str, str] | None = None,
                failed: str = "", status_code: int = 200) -> HTMLResponse:  # fmt: skip
    def work(s: Session) -> Any:
        c = service.get_consultation(s, cid)
        service.in_actor_area(actor, c.area)
        return view(s, c, now, public=False)

    v = await db.run_sync(work)
    return render(request, "staff/consult.html", status_code=status_code, v=v, phases=PHASES,
                  stages=STAGE_NAMES, subjects=SUBJECT_NAMES, errors=errors or FormErrors(),
                  values=values or {}, failed=failed, done=request.query_params.get("done", ""),
                  can_manage=actor.role in service.MANAGERS)  # fmt: skip


@router.get("/desk/consult/{raw}", response_class=HTMLResponse)
async def consult_manage(
    request: Request, raw: str, db: DB, actor: WebActor, clock: ClockDep
) -> HTMLResponse:
    need(actor, *service.READERS)
    return await _page(request, db, actor, clock.now(), _cid(raw))


@router.post("/desk/consult/{raw}/{action}", response_class=HTMLResponse)
async def consult_act(
    request: Request, raw: str, action: str, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, *service.MANAGERS)
    if action not in ("end", "decide", "work-order", "hide"):
        raise BadInput("action", "must be end, decide, work-order or hide")
    cid, values, now = _cid(raw), await form_dict(request), clock.now()

    def work(s: Session) -> None:
        c = service.managed(s, cid, actor)
        if action == "end":
            service.end_voting(s, c, actor=actor, now=now)
        elif action == "decide":
            raw_option = values.get("option_id", "")
            option = int(raw_option) if raw_option.isdigit() and len(raw_option) < 10 else None
            service.decide(s, c, actor=actor, now=now, decision=values.get("decision", ""),
                           reasons=values.get("reasons", ""), option_id=option)  # fmt: skip
        elif action == "work-order":
            if values.get("ticket", "").strip():
                followup.link_request(s, c, ticket=values["ticket"], actor=actor, now=now)
            else:
                followup.create_work_order(s, c, text=values.get("text", ""), actor=actor, now=now)
        else:
            target_id = values.get("id", "")
            if not target_id.isdigit() or len(target_id) > 9:
                raise BadInput("id", "must be the number of a comment or proposal")
            service.hide(s, c, target=values.get("target", ""), target_id=int(target_id),
                         reason=values.get("reason", ""), actor=actor, now=now)  # fmt: skip

    try:
        await write(db, work)
    except JiesuError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors = FormErrors()
        errors.from_error(exc)
        return await _page(request, db, actor, now, cid, errors, values, action, exc.status_code)
    return RedirectResponse(f"/desk/consult/{cid}?done={action}", status_code=303)
