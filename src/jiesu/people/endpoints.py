"""Sign-in: trade a username and password (and a one-time code where the account has a second
factor) for a bearer token; who am I; my second factor; my API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, CurrentActor, write
from jiesu.errors import BadInput, NotAuthenticated, NotFound, error_responses
from jiesu.people import second_factor
from jiesu.people.models import ApiToken, User
from jiesu.people.scopes import ACCOUNT, parse_scopes
from jiesu.people.service import authenticate, issue_token, token_hash

router = APIRouter(tags=["people"])
TOKEN_TTL = timedelta(hours=12)
# A token made for a script lives at most a year: a forgotten one stops working by itself.
MAX_TOKEN_DAYS = 366


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    username: str
    role: str
    scopes: str | None = Field(None, description="what the token may do; none: all the role allows")


class MeOut(BaseModel):
    username: str
    role: str
    unit_id: int | None
    second_factor: bool
    scopes: str | None


class EnrolmentOut(BaseModel):
    secret: str = Field(description="base32 secret for an authenticator app")
    uri: str = Field(description="otpauth:// link (usually shown as a QR code)")


class CodeIn(BaseModel):
    code: str = Field(min_length=6, max_length=8, description="the 6-digit code of the app")


class SecondFactorOut(BaseModel):
    enabled: bool


class NewTokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="what the token is for")
    scopes: list[str] = Field(
        min_length=1, description="e.g. ['requests:write'] (see docs/security.md)"
    )
    expires_in_days: int = Field(90, ge=1, le=MAX_TOKEN_DAYS)


class TokenInfo(BaseModel):
    id: int
    name: str
    scopes: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class NewTokenOut(TokenInfo):
    token: str = Field(description="shown once; only its hash is kept")


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses=error_responses(
        {
            401: "wrong username, password or one-time code, or the account is locked "
            "(code otp_required: send the code as 'otp')",
            422: "a field is missing or wrong, e.g. an unknown scope",
        }
    ),
)
async def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: DB,
    clock: ClockDep,
    otp: Annotated[str | None, Form(description="one-time code, for accounts with one")] = None,
) -> TokenOut:
    """Sign in with a form (`username`, `password`, and `otp` where the account has a second
    factor); the token lasts 12 hours. `scope` (OAuth2's field) narrows it, e.g.
    `requests:read`."""
    now = clock.now()
    roles = request.app.state.settings.second_factor_roles
    asked = parse_scopes(form.scopes) if form.scopes else None

    def work(s: Session) -> TokenOut:
        user = authenticate(s, form.username, form.password, now=now, otp=otp)
        forced = second_factor.sign_in_scopes(user, roles)
        scopes = forced or (" ".join(sorted(asked)) if asked else None)
        tok = issue_token(s, user, now=now, name="login", ttl=TOKEN_TTL, scopes=scopes)
        return TokenOut(access_token=tok, username=user.username, role=user.role, scopes=scopes)

    try:
        out = await db.run_sync(work)
    except NotAuthenticated:
        await db.commit()  # the wrong password is counted towards the lockout
        raise
    await db.commit()
    return out


@router.get("/me", response_model=MeOut)
async def me(actor: CurrentActor, db: DB) -> MeOut:
    user = await db.run_sync(lambda s: s.get(User, actor.user_id))
    return MeOut(
        username=actor.name,
        role=actor.role,
        unit_id=actor.unit_id,
        second_factor=bool(user and user.totp_secret),
        scopes=" ".join(sorted(actor.scopes)) if actor.scopes is not None else None,
    )


def _me(s: Session, actor: CurrentActor) -> User:
    user = s.get(User, actor.user_id)
    if user is None:
        raise NotFound("no such user")
    return user


@router.post("/me/second-factor", response_model=EnrolmentOut)
async def start_second_factor(actor: CurrentActor, db: DB) -> EnrolmentOut:
    """Start setting up a second factor: a new secret, asked for only once confirmed."""
    secret, uri = await write(db, lambda s: second_factor.start_enrolment(_me(s, actor)))
    return EnrolmentOut(secret=secret, uri=uri)


@router.post("/me/second-factor/confirm", response_model=SecondFactorOut)
async def confirm_second_factor(
    body: CodeIn, actor: CurrentActor, db: DB, clock: ClockDep
) -> SecondFactorOut:
    """Show a code of the new secret back: from now on signing in needs a code. A token
    limited to enrolment stays limited: sign in again, with a code."""
    now = clock.now()
    await write(db, lambda s: second_factor.confirm_enrolment(_me(s, actor), body.code, now=now))
    return SecondFactorOut(enabled=True)


@router.post("/me/second-factor/off", response_model=SecondFactorOut)
async def second_factor_off(
    request: Request, body: CodeIn, actor: CurrentActor, db: DB, clock: ClockDep
) -> SecondFactorOut:
    """Switch the second factor off with a current code (not for roles that must have one)."""
    now, roles = clock.now(), request.app.state.settings.second_factor_roles
    await write(
        db,
        lambda s: second_factor.switch_off(_me(s, actor), body.code, now=now, required_roles=roles),
    )
    return SecondFactorOut(enabled=False)


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        scopes=row.scopes,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


def _full_access(actor: CurrentActor) -> None:
    # A scoped token must not mint itself wider ones; a session limited to enrolment neither.
    if actor.scopes is not None:
        raise BadInput("token", "make tokens while signed in with your password, not with a token")


@router.post("/me/tokens", response_model=NewTokenOut, status_code=201)
async def new_token(body: NewTokenIn, actor: CurrentActor, db: DB, clock: ClockDep) -> NewTokenOut:
    """A token for a script or another system, with only the scopes it needs and an expiry."""
    _full_access(actor)
    scopes = parse_scopes(body.scopes)
    if scopes is None or ACCOUNT in scopes:
        raise BadInput("scopes", "name at least one scope such as requests:read")
    now = clock.now()

    def work(s: Session) -> NewTokenOut:
        tok = issue_token(
            s,
            _me(s, actor),
            now=now,
            name=body.name,
            ttl=timedelta(days=body.expires_in_days),
            scopes=" ".join(sorted(scopes)),
        )
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(tok))).one()
        return NewTokenOut(token=tok, **_info(row).model_dump())

    return await write(db, work)


@router.get("/me/tokens", response_model=list[TokenInfo])
async def my_tokens(actor: CurrentActor, db: DB, clock: ClockDep) -> list[TokenInfo]:
    """My tokens that still work (never the tokens themselves: only their hashes are kept)."""
    now = clock.now()

    def work(s: Session) -> list[TokenInfo]:
        rows = s.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == actor.user_id, ApiToken.revoked.is_(False))
            .order_by(ApiToken.id)
        )
        return [_info(r) for r in rows if r.expires_at is None or r.expires_at > now]

    return await db.run_sync(work)


@router.delete("/me/tokens/{token_id}", status_code=204)
async def revoke_my_token(token_id: int, actor: CurrentActor, db: DB) -> None:
    """End one of my tokens at once."""

    def work(s: Session) -> None:
        row = s.get(ApiToken, token_id)
        if row is None or row.user_id != actor.user_id:
            raise NotFound(f"no token {token_id} of yours")
        row.revoked = True

    await write(db, work)
