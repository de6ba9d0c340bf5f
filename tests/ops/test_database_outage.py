"""Losing the database: while PostgreSQL cannot be reached every call answers 503 with the
reason and Retry-After (JSON, Open311 and readiness alike) and nothing is half-done; when it is
back the same server process serves again by itself, and every request it accepted is there.

The outage is real: the app reaches PostgreSQL through a TCP relay on loopback that the test
cuts (every open connection dropped, no new ones taken) and then restores.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.db.engine import is_sqlite
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token
from jiesu.workflow.models import ServiceRequest

from factories import make_world


class Relay:
    """A TCP relay 127.0.0.1:port → target that can be cut and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._conns: list[socket.socket] = []
        self._server: socket.socket | None = None

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        if self._server is not None:
            # shutdown() first: on Linux it wakes the thread blocked in accept(), which a
            # close() alone would leave listening.
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        for c in self._conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self._conns.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def _count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


def test_an_outage_answers_503_and_service_comes_back_by_itself(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    if is_sqlite(db_url):
        pytest.skip("a file database cannot be cut off the network")
    world = make_world(session, clock.now())
    token = issue_token(session, world.users["op"], now=clock.now())
    session.commit()
    url = make_url(db_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.start()
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    s = Settings(database_url=relayed, data_dir=tmp_path, open311_rate_per_minute=1_000_000)
    h = {"Authorization": f"Bearer {token}"}
    body = {"text": "小区停水一天了", "category": "010102", "area": "110101001"}
    accepted: list[str] = []
    with TestClient(create_app(s, clock=clock, schedule=False)) as c:
        first = c.post("/api/v1/requests", headers=h, json=body)
        assert first.status_code == 201
        accepted.append(first.json()["ticket"])

        relay.cut()
        for call in (
            lambda: c.get("/api/v1/requests", headers=h),
            lambda: c.post("/api/v1/requests", headers=h, json=body),
        ):
            r = call()
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "database_unavailable"
            assert r.headers["Retry-After"] == "5"
        assert c.get("/api/v1/ready").status_code == 503
        o311 = c.get("/open311/v2/requests.json")
        assert o311.status_code == 503 and o311.json()[0]["code"] == 503
        c.cookies.set("jiesu_session", token)  # a desk page says so too, as a page
        assert c.get("/desk/requests").status_code == 503
        c.cookies.clear()

        relay.start()
        # The same process serves again: at most the first call meets a dropped connection.
        answers = [c.get("/api/v1/requests", headers=h).status_code for _ in range(3)]
        assert answers[-1] == 200 and answers.count(200) >= 2, answers
        again = c.post("/api/v1/requests", headers=h, json=body)
        assert again.status_code == 201
        accepted.append(again.json()["ticket"])
    relay.cut()
    # Exactly what was accepted is stored: nothing from the outage, nothing lost.
    assert _count(session) == len(accepted)
