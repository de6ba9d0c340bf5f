"""Staff sign-in for the web: an API token kept in an HttpOnly cookie, and a CSRF check.

The browser holds the same kind of token the API issues (hashed in `api_tokens`, 12 hours),
so signing out or revoking a token ends a web session too. Every form that changes something
carries a CSRF value derived from the token with the installation's secret: a page of another
site can make the browser send the cookie but cannot know that value.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep
from jiesu.errors import Forbidden, JiesuError, NotAuthenticated
from jiesu.people.service import Actor, actor_for_token

SESSION_COOKIE = "jiesu_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL = timedelta(hours=12)

# The desk each role lands on after signing in.
HOME: dict[str, str] = {
    "operator": "/desk/intake",
    "dispatcher": "/desk/dispatch",
    "handler": "/desk/unit",
    "supervisor": "/desk/overview",
    "analyst": "/desk/overview",
    "admin": "/desk/admin",
    "citizen": "/",
}


class SignInNeeded(JiesuError):
    """A staff page without a valid session: the browser is sent to the sign-in page."""

    status_code = 401
    code = "not_authenticated"

    def __init__(self, next_path: str):
        super().__init__("sign in first")
        self.next_path = next_path


class EnrolmentNeeded(JiesuError):
    """Signed in, but the role needs a second factor first: the browser is sent to set it up."""

    status_code = 403
    code = "second_factor_needed"

    def __init__(self) -> None:
        super().__init__("set up a second factor first")


# The pages a session limited to enrolling a second factor may still open.
SECOND_FACTOR_PAGE = "/account/second-factor"


def csrf_for(token: str, secret: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:32]


async def web_actor(request: Request, db: DB, clock: ClockDep) -> Actor:
    """The signed-in staff member of this browser, or a redirect to /login."""
    token = request.cookies.get(SESSION_COOKIE)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise SignInNeeded(here)
    now = clock.now()

    def lookup(s: Session) -> Actor:
        return actor_for_token(s, token, now=now)

    try:
        actor = await db.run_sync(lookup)
    except NotAuthenticated:
        raise SignInNeeded(here) from None
    if db.dirty:
        await db.commit()
    on_account = request.url.path.startswith("/account/") or request.url.path == "/logout"
    if actor.scopes is not None and not on_account:
        # A role that must have a second factor and has none yet reaches only its enrolment.
        raise EnrolmentNeeded()
    secret = request.app.state.settings.secret_key
    request.state.web_user = actor
    request.state.csrf = csrf_for(token, secret)
    if request.method not in ("GET", "HEAD"):
        await _check_csrf(request, token, secret)
    return actor


async def _check_csrf(request: Request, token: str, secret: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # Starlette caches it: the route reads it again for free
        value: Any = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, csrf_for(token, secret)):
        raise Forbidden("this form has expired or came from another site; reload the page")


WebActor = Annotated[Actor, Depends(web_actor)]


async def maybe_actor(request: Request, db: DB, clock: ClockDep) -> Actor | None:
    """Whoever is signed in on a public page, or None: the portal works for everyone, and a
    signed-in citizen also finds their own requests. CSRF is checked where it matters (see
    ``csrf_ok``), never by raising here."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    now = clock.now()
    try:
        actor = await db.run_sync(lambda s: actor_for_token(s, token, now=now))
    except NotAuthenticated:
        return None
    request.state.web_user = actor
    request.state.csrf = csrf_for(token, request.app.state.settings.secret_key)
    return actor


def csrf_ok(request: Request, sent: str | None) -> bool:
    expected = getattr(request.state, "csrf", "")
    return bool(expected and sent and hmac.compare_digest(sent, expected))


MaybeActor = Annotated[Actor | None, Depends(maybe_actor)]


def need(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this page is for {', '.join(roles)}; you are signed in as {actor.role}")
