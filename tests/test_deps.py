"""The write queue (deps.write): a burst of signed-in and public writes all get answered.

On SQLite writers queue on an in-process lock. A public write has no sign-in that would have
taken a database connection before it queued; if it reached the front of the queue with the
pool emptied by the signed-in writers waiting behind it, every one of them waited for the
pool's 30 s time-out. The soak test found it; this test makes the same crowd on purpose.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.db.engine import pool_options
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token

from factories import make_world

SIGNED_IN = 40  # more than the pool's 15 connections
PUBLIC = 8


async def _burst(app: object, token: str) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://soak.test") as http:

        async def staff(i: int) -> httpx.Response:
            body = {"text": f"小区路灯不亮，第{i}盏", "category": "010101", "area": "110101001"}
            headers = {"Authorization": f"Bearer {token}"}
            return await http.post("/api/v1/requests", json=body, headers=headers)

        async def public(i: int) -> httpx.Response:
            return await http.post("/api/v1/public/requests", json={"text": f"井盖丢了（{i}）"})

        calls = [public(i) for i in range(PUBLIC)] + [staff(i) for i in range(SIGNED_IN)]
        return await asyncio.wait_for(asyncio.gather(*calls), timeout=25)


def test_a_burst_of_signed_in_and_public_writes_is_answered_without_stalling(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    token = issue_token(session, world.users["op"], now=clock.now())
    session.commit()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    started = time.monotonic()
    # A loop of its own in a thread of its own: the browser tests leave one running in this one.
    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, _burst(app, token)).result()
    took = time.monotonic() - started
    assert [r.status_code for r in answers] == [201] * (PUBLIC + SIGNED_IN), [
        r.text[:200] for r in answers if r.status_code != 201
    ]
    # Stuck writers are freed only by the pool's 30 s time-out; a healthy queue answers in a
    # few seconds even on a loaded machine.
    assert took < 20, f"{took:.1f} s"


def test_the_servers_pool_is_fixed_on_sqlite_and_may_grow_on_postgresql(tmp_path: Path) -> None:
    file = Settings(data_dir=tmp_path, db_pool_size=7)
    app = create_app(file, schedule=False)
    pool = app.state.engine.sync_engine.pool
    assert isinstance(pool, QueuePool) and pool.size() == 7 and pool._max_overflow == 0
    pg = Settings(data_dir=tmp_path, database_url="postgresql://h/db", db_pool_size=4)
    assert pool_options(pg) == {"pool_size": 4, "max_overflow": 4}
    assert pool_options(Settings(data_dir=tmp_path, database_url="sqlite://")) == {}
