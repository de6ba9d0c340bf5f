"""A staff member's own account: setting up and switching off the second factor.

Reached also by a session limited to enrolment (a role that must have a second factor and has
none yet): it is the only page such a session opens besides signing out.
"""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, write
from jiesu.errors import JiesuError
from jiesu.people import second_factor
from jiesu.people.models import User
from jiesu.people.service import revoke_token
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.session import SECOND_FACTOR_PAGE, SESSION_COOKIE, WebActor

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    user: User,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = request.app.state.settings
    qr, uri = "", ""
    if user.totp_pending:
        uri = second_factor.totp.provisioning_uri(
            user.totp_pending, account=user.username, issuer=second_factor.ISSUER
        )
        qr = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return render(
        request,
        "account_second_factor.html",
        status_code=status_code,
        enabled=bool(user.totp_secret),
        pending=user.totp_pending or "",
        uri=uri,
        qr=qr,
        required=second_factor.required_for(user, settings.second_factor_roles),
        notice=(request.query_params.get("on") and "on")
        or (request.query_params.get("off") and "off"),
        errors=errors or FormErrors(),
        values={},
    )


@router.get(SECOND_FACTOR_PAGE, response_class=HTMLResponse)
async def show(request: Request, actor: WebActor, db: DB) -> HTMLResponse:
    user = await db.run_sync(lambda s: s.get(User, actor.user_id))
    assert user is not None  # a signed-in actor is a user
    return _page(request, user)


@router.post(SECOND_FACTOR_PAGE + "/start", response_class=HTMLResponse)
async def start(request: Request, actor: WebActor, db: DB) -> Response:
    def work(s: Session) -> User:
        user = s.get(User, actor.user_id)
        assert user is not None
        second_factor.start_enrolment(user)
        return user

    try:
        user = await write(db, work)
    except JiesuError as exc:
        return await _refused(request, actor, db, "second_factor", exc)
    return _page(request, user)


@router.post(SECOND_FACTOR_PAGE + "/confirm", response_class=HTMLResponse)
async def confirm(request: Request, actor: WebActor, db: DB, clock: ClockDep) -> Response:
    code = (await form_dict(request)).get("code", "")
    now = clock.now()

    def work(s: Session) -> None:
        user = s.get(User, actor.user_id)
        assert user is not None
        second_factor.confirm_enrolment(user, code, now=now)

    try:
        await write(db, work)
    except JiesuError as exc:
        return await _refused(request, actor, db, "code", exc)
    if actor.scopes is not None:
        # The limited session was only for this: sign in again, now with the code.
        token = request.cookies.get(SESSION_COOKIE, "")
        await db.run_sync(lambda s: revoke_token(s, token))
        await db.commit()
        resp = RedirectResponse("/login?enrolled=1", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp
    return RedirectResponse(SECOND_FACTOR_PAGE + "?on=1", status_code=303)


@router.post(SECOND_FACTOR_PAGE + "/off", response_class=HTMLResponse)
async def switch_off(request: Request, actor: WebActor, db: DB, clock: ClockDep) -> Response:
    code = (await form_dict(request)).get("code", "")
    now, roles = clock.now(), request.app.state.settings.second_factor_roles

    def work(s: Session) -> None:
        user = s.get(User, actor.user_id)
        assert user is not None
        second_factor.switch_off(user, code, now=now, required_roles=roles)

    try:
        await write(db, work)
    except JiesuError as exc:
        return await _refused(request, actor, db, "code", exc)
    return RedirectResponse(SECOND_FACTOR_PAGE + "?off=1", status_code=303)


async def _refused(
    request: Request, actor: WebActor, db: DB, field: str, exc: JiesuError
) -> HTMLResponse:
    await db.rollback()
    user = await db.run_sync(lambda s: s.get(User, actor.user_id))
    assert user is not None
    errors = FormErrors()
    errors.add(field, "验证码不正确或已使用，请查看手机时间后重试", exc.message)
    return _page(request, user, errors=errors, status_code=exc.status_code)
