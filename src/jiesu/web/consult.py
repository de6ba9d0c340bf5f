"""Public pages of deliberation (议事): the list, the rules, and each consultation — its
background from the request data, options, comments, results, the decision and its work
orders' progress. Anyone reads; a verified participant takes part.

Verification (phone code, ticket and tracking code, or the signed-in citizen account) leaves
a pass in an HttpOnly cookie kept to the consultation's own path. Each form carries a value
derived from that pass, so a page of another site cannot vote with it (the cookie is also
SameSite=Lax).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.deliberation import participants, voting
from jiesu.deliberation.followup import STAGE_NAMES
from jiesu.deliberation.participants import Participant
from jiesu.deliberation.public import code_sender, limit_codes
from jiesu.deliberation.service import get_consultation, list_consultations
from jiesu.deliberation.views import summary, view
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, Forbidden, JiesuError
from jiesu.web.auth import _secure
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import MaybeActor, csrf_ok

router = APIRouter(include_in_schema=False)
PHASES = {
    "upcoming": ("未开始", "not open yet"),
    "open": ("进行中", "open"),
    "ended": ("已截止，待决定", "closed, decision pending"),
    "decided": ("已决定", "decided"),
}


def _cookie(cid: int) -> str:
    return f"jiesu_consult_{cid}"


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key)


def _form_key(request: Request, token: str) -> str:
    return hmac.new(
        _secret(request).encode(), b"consult-form:" + token.encode(), hashlib.sha256
    ).hexdigest()[:32]


def _participant(request: Request, cid: int, now: datetime) -> tuple[Participant, str] | None:
    token = request.cookies.get(_cookie(cid))
    if not token:
        return None
    try:
        return participants.read_pass(
            token, consultation_id=cid, secret=_secret(request), now=now
        ), token
    except BadInput:
        return None


def _cid(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise BadInput("consultation", "must be a consultation number")
    return int(raw)


@router.get("/consult", response_class=HTMLResponse)
async def consult_list(request: Request, db: DB, clock: ClockDep, who: MaybeActor) -> HTMLResponse:
    now = clock.now()
    rows = await db.run_sync(lambda s: [summary(s, c, now) for c in list_consultations(s)])
    return render(request, "citizen/consult_list.html", rows=rows, phases=PHASES)


@router.get("/consult/rules", response_class=HTMLResponse)
async def consult_rules(request: Request, who: MaybeActor) -> HTMLResponse:
    return render(
        request,
        "citizen/consult_rules.html",
        pass_hours=int(participants.PASS_TTL.total_seconds() // 3600),
        code_minutes=int(participants.CODE_TTL.total_seconds() // 60),
        attempts=participants.MAX_ATTEMPTS,
        per_hour=participants.MAX_CODES_PER_HOUR,
        proposals=voting.MAX_PROPOSALS_EACH,
    )


async def _page(
    request: Request,
    db: DB,
    now: datetime,
    cid: int,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    code_sent: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    me = _participant(request, cid, now)

    def work(s: Session) -> dict[str, Any]:
        c = get_consultation(s, cid)
        return {
            "v": view(s, c, now, public=True),
            "voted": me is not None and voting.has_voted(s, c, me[0]),
        }

    data = await db.run_sync(work)
    return render(
        request,
        "citizen/consult.html",
        status_code=status_code,
        **data,
        me=me[0] if me else None,
        form_key=_form_key(request, me[1]) if me else "",
        phases=PHASES,
        stages=STAGE_NAMES,
        errors=errors or FormErrors(),
        values=values or {},
        code_sent=code_sent or request.query_params.get("sent") == "1",
        done=request.query_params.get("done", ""),
        peak=max(data["v"].background.get("per_week") or [0]) or 1,
    )


@router.get("/consult/{raw}", response_class=HTMLResponse)
async def consult_page(
    request: Request, raw: str, db: DB, clock: ClockDep, who: MaybeActor
) -> HTMLResponse:
    return await _page(request, db, clock.now(), _cid(raw))


async def _refused(request: Request, db: DB, now: datetime, cid: int, exc: JiesuError,
                   values: dict[str, str], **kw: Any) -> HTMLResponse:  # fmt: skip
    if exc.status_code in (401, 404):
        raise exc
    errors = FormErrors()
    errors.from_error(exc)
    return await _page(request, db, now, cid, errors=errors, values=values,
                       status_code=exc.status_code, **kw)  # fmt: skip


def _with_pass(request: Request, cid: int, p: Participant, now: datetime, to: str) -> Response:
    token = participants.issue_pass(p, secret=_secret(request), now=now)
    resp = RedirectResponse(to, status_code=303)
    resp.set_cookie(
        _cookie(cid),
        token,
        max_age=int(participants.PASS_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=f"/consult/{cid}",
    )
    return resp


@router.post("/consult/{raw}/code", response_class=HTMLResponse)
async def send_code(request: Request, raw: str, db: DB, clock: ClockDep) -> Response:
    cid, now, values = _cid(raw), clock.now(), await form_dict(request)
    sender, secret = code_sender(request), _secret(request)

    def work(s: Session) -> None:
        participants.send_code(s, get_consultation(s, cid), phone=values.get("phone", ""),
                               sender=sender, secret=secret, now=now)  # fmt: skip

    try:
        limit_codes(request)
        await write(db, work)
    except JiesuError as exc:
        return await _refused(request, db, now, cid, exc, values)
    return await _page(request, db, now, cid, values={"phone": values.get("phone", "")},
                       code_sent=True)  # fmt: skip


@router.post("/consult/{raw}/verify", response_class=HTMLResponse)
async def verify(request: Request, raw: str, db: DB, clock: ClockDep) -> Response:
    cid, now, values = _cid(raw), clock.now(), await form_dict(request)
    secret, method = _secret(request), values.get("method", "")

    def work(s: Session) -> Participant | str:
        c = get_consultation(s, cid)
        if method == "ticket":
            return participants.by_ticket(s, c, ticket=values.get("ticket", ""),
                                          code=values.get("code", ""), secret=secret)  # fmt: skip
        if method != "phone":
            raise BadInput("method", "must be phone or ticket")
        phone, code = values.get("phone", ""), values.get("code", "")
        return participants.confirm_code(s, c, phone=phone, code=code, secret=secret, now=now)

    try:
        p = await write(db, work)
        if isinstance(p, str):
            raise BadInput("code", p)
    except JiesuError as exc:
        return await _refused(request, db, now, cid, exc, values, code_sent=method == "phone")
    return _with_pass(request, cid, p, now, f"/consult/{cid}?done=verified#take-part")


@router.post("/consult/{raw}/verify-account", response_class=HTMLResponse)
async def verify_account(
    request: Request, raw: str, db: DB, clock: ClockDep, who: MaybeActor
) -> Response:
    cid, now, values = _cid(raw), clock.now(), await form_dict(request)
    if who is None or who.user_id is None:
        return RedirectResponse(f"/login?next=/consult/{cid}", status_code=303)
    if not csrf_ok(request, values.get("csrf")):
        raise Forbidden("this form has expired or came from another site; reload the page")
    uid, role, secret = who.user_id, who.role, _secret(request)

    def work(s: Session) -> Participant:
        c = get_consultation(s, cid)
        return participants.by_account(s, c, user_id=uid, role=role, secret=secret)

    try:
        p = await db.run_sync(work)
    except JiesuError as exc:
        return await _refused(request, db, now, cid, exc, values)
    return _with_pass(request, cid, p, now, f"/consult/{cid}?done=verified#take-part")


@router.post("/consult/{raw}/{action}", response_class=HTMLResponse)
async def take_part(request: Request, raw: str, action: str, db: DB, clock: ClockDep) -> Response:
    """Vote, propose or comment with the pass of this browser."""
    cid, now, values = _cid(raw), clock.now(), await form_dict(request)
    if action not in ("vote", "propose", "comment"):
        raise BadInput("action", "must be vote, propose or comment")
    me = _participant(request, cid, now)
    if me is None:
        raise BadInput("pass", "verify first: your participation pass is missing or expired")
    p, token = me
    if not hmac.compare_digest(values.get("form_key", ""), _form_key(request, token)):
        raise Forbidden("this form has expired or came from another site; reload the page")

    def work(s: Session) -> None:
        c = get_consultation(s, cid)
        option = values.get("option_id", "")
        oid = int(option) if option.isdigit() and len(option) < 10 else None
        if action == "vote" and c.kind == "survey":
            picked = [values.get(f"q{i}", "") for i in range(len(c.questions))]
            ids = [int(x) for x in picked if x.isdigit() and len(x) < 10]
            voting.answer(s, c, p, option_ids=ids, now=now)
        elif action == "vote":
            if oid is None:
                raise BadInput("option_id", "choose an option")
            voting.vote(s, c, p, option_id=oid, now=now)
        elif action == "propose":
            voting.propose(
                s, c, p, label=values.get("label", ""), body=values.get("body", ""), now=now
            )
        else:
            voting.comment(s, c, p, body=values.get("body", ""), option_id=oid, now=now)

    try:
        await write(db, work)
    except JiesuError as exc:
        return await _refused(request, db, now, cid, exc, values)
    return RedirectResponse(f"/consult/{cid}?done={action}#take-part", status_code=303)
