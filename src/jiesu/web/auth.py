"""Sign-in and sign-out for staff, and the two switches every visitor has: language and the
large-text mode. The switches are plain links, so they work without JavaScript."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep
from jiesu.errors import NotAuthenticated
from jiesu.people.second_factor import SecondFactorNeeded, sign_in_scopes
from jiesu.people.service import AccountLocked, authenticate, issue_token, revoke_token
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import LANG_COOKIE, VIEW_COOKIE, render, safe_next
from jiesu.web.session import HOME, SECOND_FACTOR_PAGE, SESSION_COOKIE, SESSION_TTL, WebActor

router = APIRouter(include_in_schema=False)
YEAR = 365 * 24 * 3600


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.env == "production" or request.url.scheme == "https")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return render(
        request,
        "login.html",
        values={"next": request.query_params.get("next", "")},
        enrolled=bool(request.query_params.get("enrolled")),
        errors=FormErrors(),
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, db: DB, clock: ClockDep) -> Response:
    values = await form_dict(request)
    errors = FormErrors()
    username, password = values.get("username", "").strip(), values.get("password", "")
    if not username:
        errors.add("username", "请填写用户名", "enter your username")
    if not password:
        errors.add("password", "请填写密码", "enter your password")
    if not errors:
        now = clock.now()

        otp = values.get("otp", "").strip() or None
        roles = request.app.state.settings.second_factor_roles

        def work(s: Session) -> tuple[str, str, str | None]:
            user = authenticate(s, username, password, now=now, otp=otp)
            scopes = sign_in_scopes(user, roles)
            token = issue_token(s, user, now=now, name="web", ttl=SESSION_TTL, scopes=scopes)
            return token, user.role, scopes

        try:
            token, role, scopes = await db.run_sync(work)
            await db.commit()
        except AccountLocked as exc:
            await db.commit()
            errors.add("password", "密码错误次数过多，账号已暂时锁定，请15分钟后再试", exc.message)
        except SecondFactorNeeded:
            await db.commit()
            values["need_otp"] = "1"
            errors.add(
                "otp",
                "此账号已开启两步验证，请输入手机上的六位验证码",
                "enter the six-digit code from your phone",
            )
        except NotAuthenticated as exc:
            await db.commit()  # the wrong password or code is counted towards the lockout
            if otp and "code" in exc.message:
                values["need_otp"] = "1"
                errors.add("otp", "验证码不正确或已使用", "wrong or already used code")
            else:
                errors.add("password", "用户名或密码错误", "wrong username or password")
        else:
            home = SECOND_FACTOR_PAGE if scopes else HOME.get(role, "/")
            target = home if scopes else safe_next(values.get("next"), home)
            resp = RedirectResponse(target, status_code=303)
            resp.set_cookie(
                SESSION_COOKIE,
                token,
                max_age=int(SESSION_TTL.total_seconds()),
                httponly=True,
                samesite="lax",
                secure=_secure(request),
                path="/",
            )
            return resp
    values.pop("password", None)
    values.pop("otp", None)
    return render(
        request,
        "login.html",
        status_code=401 if {"password", "otp"} & errors.by_field.keys() else 422,
        values=values,
        errors=errors,
    )


@router.post("/logout")
async def logout(request: Request, actor: WebActor, db: DB, clock: ClockDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    await db.run_sync(lambda s: revoke_token(s, token))
    await db.commit()
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{lang}")
async def switch_lang(request: Request, lang: Literal["zh", "en"]) -> Response:
    resp = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    resp.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="lax", path="/")
    return resp


@router.get("/view/{mode}")
async def switch_view(request: Request, mode: Literal["large", "normal"]) -> Response:
    resp = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    resp.set_cookie(VIEW_COOKIE, mode, max_age=YEAR, samesite="lax", path="/")
    return resp
