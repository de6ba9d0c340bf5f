"""Sign-in: trade a username and password for a bearer token; who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, CurrentActor
from jiesu.errors import NotAuthenticated
from jiesu.people.service import authenticate, issue_token

router = APIRouter(tags=["people"])
TOKEN_TTL = timedelta(hours=12)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    username: str
    role: str


class MeOut(BaseModel):
    username: str
    role: str
    unit_id: int | None


@router.post(
    "/auth/token", response_model=TokenOut, responses={401: {"description": "wrong login"}}
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DB, clock: ClockDep
) -> TokenOut:
    """Sign in with a form (`username`, `password`); the token lasts 12 hours."""
    now = clock.now()

    def work(s: Session) -> TokenOut:
        user = authenticate(s, form.username, form.password, now=now)
        tok = issue_token(s, user, now=now, name="login", ttl=TOKEN_TTL)
        return TokenOut(access_token=tok, username=user.username, role=user.role)

    try:
        out = await db.run_sync(work)
    except NotAuthenticated:
        await db.commit()  # the wrong password is counted towards the lockout
        raise
    await db.commit()
    return out


@router.get("/me", response_model=MeOut)
async def me(actor: CurrentActor) -> MeOut:
    return MeOut(username=actor.name, role=actor.role, unit_id=actor.unit_id)
