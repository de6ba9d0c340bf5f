"""Typed FastAPI dependencies: the database session, the clock and the current actor."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from jiesu.errors import Conflict, Forbidden, NotAuthenticated
from jiesu.kit.clock import Clock
from jiesu.people import scopes
from jiesu.people.service import Actor, actor_for_token

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per HTTP request; endpoints commit, anything unhandled rolls back."""
    async with request.app.state.sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


DB = Annotated[AsyncSession, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]


async def get_actor(
    request: Request,
    db: DB,
    clock: ClockDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if creds is None:
        raise NotAuthenticated("sign in first: send 'Authorization: Bearer <token>'")
    now = clock.now()

    def lookup(s: Any) -> Actor:
        return actor_for_token(s, creds.credentials, now=now)

    actor = await db.run_sync(lookup)
    if db.dirty:
        await db.commit()  # last_used_at moved (at most every few minutes)
    # Checked here, once for every API call: a scoped token can never reach further, whatever
    # the route forgets. Roles and data scopes are still checked in the services.
    scopes.require(actor.scopes, request.method, request.url.path)
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this needs one of the roles {', '.join(roles)}; you are {actor.role}")


T = TypeVar("T")
WRITE_ATTEMPTS = 3


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_writer(db: AsyncSession) -> asyncio.Lock | None:
    """SQLite takes one writer at a time; the others sleep in its busy handler and retry.
    Queueing writers in the process instead turns that sleeping into waiting in line."""
    bind = db.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    # A lock belongs to one event loop; tests and server workers may run several.
    locks = _writers.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(str(bind.engine.url), asyncio.Lock())


async def write(db: AsyncSession, work: Callable[[Session], T]) -> T:
    """Run a writing service and commit, retrying when a concurrent writer got there first.

    Two clerks acting on one request at once both read event #n and both try to append #n+1;
    the unique index lets one win. The loser's work is retried on fresh state, where the action
    either still applies or is refused as illegal with the allowed actions — never a 500.
    The same holds for two submissions with one idempotency key: the retry finds the first.
    """
    lock = _sqlite_writer(db)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            if lock is None:
                result = await db.run_sync(work)
                await db.commit()
                return result
            # A connection first, then the queue. A writer with none yet (a public form: no
            # sign-in looked one up) that got to the front would wait for the pool while the
            # writers behind it hold every connection and wait for it: all of them stuck until
            # the pool's 30 s time-out, and the server with them (found by the soak test).
            await db.connection()
            async with lock:
                result = await db.run_sync(work)
                await db.commit()
                return result
        except IntegrityError:
            await db.rollback()
            if attempt == WRITE_ATTEMPTS:
                raise Conflict("someone else changed this at the same moment; try again") from None
    raise AssertionError("unreachable")
