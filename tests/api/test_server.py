"""A real uvicorn server on a loopback port: HTTP end to end and the in-server tick."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token
from jiesu.workflow.service import apply_action

from factories import make_request, make_world


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server on a free loopback port; yields the API base URL."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        assert _wait_for(lambda: srv.started), "server did not start"
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _wait_for(check: object, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_http_round_trip_and_scheduled_overdue_check(
    session: Session, clock: FixedClock, db_url: str, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    token = issue_token(session, world.users["disp"], now=clock.now())
    late = make_request(session, world, clock.now(), category="010102")
    apply_action(
        session,
        late,
        "dispatch",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"unit": "PS-WATER"},
    )
    session.commit()
    clock.advance(timedelta(hours=3))  # past the 2-hour response limit
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path, tick_seconds=5), clock=clock)
    with running(app) as base:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            made = http.post("/requests", json={"text": "路灯不亮", "category": "010101"})
            assert made.status_code == 201
            assert http.get(f"/requests/{made.json()['ticket']}").json()["status"] == "received"

            def flagged() -> bool:
                body = http.get(f"/requests/{late.ticket}").json()
                return bool(body["response_overdue"])

            assert _wait_for(flagged), "the in-server tick never marked the late request"
            timeline = http.get(f"/requests/{late.ticket}").json()["timeline"]
            assert timeline[-1]["kind"] == "overdue" and timeline[-1]["actor"] == "system"


def test_concurrent_writers_never_get_a_server_error(
    session: Session, clock: FixedClock, db_url: str, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from jiesu.privacy.audit import verify

    world = make_world(session, clock.now())
    token = issue_token(session, world.users["op"], now=clock.now())
    session.commit()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    with running(app) as base:
        headers = {"Authorization": f"Bearer {token}"}
        body = {"text": "井盖丢失", "category": "010101", "source_key": "retry-1"}
        with (
            httpx.Client(base_url=base, headers=headers, timeout=30) as http,
            ThreadPoolExecutor(8) as pool,
        ):
            same_key = list(pool.map(lambda _: http.post("/requests", json=body), range(8)))
            assert sorted(r.status_code for r in same_key) == [200] * 7 + [201]
            assert len({r.json()["ticket"] for r in same_key}) == 1
            ticket = same_key[0].json()["ticket"]
            notes = list(
                pool.map(
                    lambda i: http.post(f"/requests/{ticket}/notes", json={"text": f"n{i}"}),
                    range(8),
                )
            )
            assert {r.status_code for r in notes} <= {200, 409}
            ok = sum(r.status_code == 200 for r in notes)
            timeline = http.get(f"/requests/{ticket}").json()["timeline"]
            assert len(timeline) == 1 + ok
    session.expire_all()
    assert verify(session, tz=world.ctx.tz).ok
