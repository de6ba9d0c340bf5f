"""The real server in its own process under steady write load: `kill -9` loses nothing it
answered and leaves nothing half-written; SIGTERM lets the answers in flight finish and exits 0.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.city.service import forget_city_context
from jiesu.cli import app
from jiesu.db.engine import make_engine
from jiesu.kit.clock import FixedClock, utcnow
from jiesu.ops.serving import served
from jiesu.people.service import issue_token
from jiesu.workflow.models import Contact, Event, ServiceRequest

from factories import make_world

WORKERS = 6
SHUTDOWN_BOUND = 25.0  # seconds: the server's grace period (20 s) and a margin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`jiesu serve` as a child process on a free port."""

    def __init__(self, db_url: str, data_dir: Path, log: Path) -> None:
        self.env = {
            **os.environ,
            "JIESU_DATABASE_URL": db_url,
            "JIESU_DATA_DIR": str(data_dir),
            "JIESU_REPORTS_IN_SERVE": "false",
            "JIESU_LOG_LEVEL": "WARNING",
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> str:
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}/api/v1"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jiesu.cli", "serve", "--port", str(port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited at start:\n{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/ready", timeout=1).status_code == 200:
                    return self.base
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail("the server did not become ready within 30 s")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    srv = Server(db_url, tmp_path / "data", tmp_path / "server.log")
    yield srv
    srv.stop()


@pytest.fixture
def token(session: Session, clock: FixedClock) -> str:
    world = make_world(session, clock.now())
    # The server runs on the wall clock: the token must be valid now.
    value = issue_token(session, world.users["op"], now=utcnow())
    session.commit()
    return value


@dataclass
class Outcome:
    key: str
    started: float
    ended: float
    status: int | None = None
    ticket: str | None = None
    error: str | None = None


class Load:
    """Several clients submitting requests as fast as they are answered, each on a fresh
    connection (so a refused connection is told apart from an answer lost in flight)."""

    def __init__(self, base: str, token: str, prefix: str) -> None:
        self.base, self.token, self.prefix = base, token, prefix
        self.outcomes: list[Outcome] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(WORKERS)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def body(self, key: str) -> dict[str, object]:
        return {
            "text": f"小区路灯不亮，晚上很黑（{key}）",
            "category": "010101",
            "area": "110101001",
            "contact": {"name": "市民", "phone": "13800001234"},
            "source_key": key,
        }

    def _run(self, n: int) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30, limits=limits) as http:
            i = 0
            while not self.stop.is_set():
                key = f"{self.prefix}-{n}-{i}"
                i += 1
                out = Outcome(key, time.monotonic(), 0.0)
                try:
                    r = http.post("/requests", json=self.body(key))
                    out.status, out.ticket = r.status_code, r.json().get("ticket")
                except httpx.TransportError as exc:
                    out.error = type(exc).__name__
                    self.stop.wait(0.05)
                out.ended = time.monotonic()
                self.outcomes.append(out)

    def created(self) -> dict[str, str]:
        return {o.key: o.ticket for o in self.outcomes if o.status == 201 and o.ticket}

    def wait_for(self, answered: int, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while len(self.created()) < answered and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.created()) >= answered, f"only {len(self.created())} answered"


def _stored(db_url: str, prefix: str) -> dict[str, tuple[str, int, int, int, str | None]]:
    """source_key → (ticket, event_count, events stored, contacts, first event's kind)."""
    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            events = (
                select(func.count()).where(Event.request_id == ServiceRequest.id).scalar_subquery()
            )
            contacts = (
                select(func.count())
                .where(Contact.request_id == ServiceRequest.id)
                .scalar_subquery()
            )
            first = (
                select(Event.kind)
                .where(Event.request_id == ServiceRequest.id, Event.seq == 1)
                .scalar_subquery()
            )
            rows = s.execute(
                select(
                    ServiceRequest.source_key,
                    ServiceRequest.ticket,
                    ServiceRequest.event_count,
                    events,
                    contacts,
                    first,
                ).where(ServiceRequest.source_key.like(f"{prefix}-%"))
            )
            return {str(k): (t, c, e, n, f) for k, t, c, e, n, f in rows}
    finally:
        engine.dispose()


def _audit_verify(server: Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """`jiesu audit verify` on the server's database (in this process: starting another
    interpreter costs more than the check)."""
    for name in ("JIESU_DATABASE_URL", "JIESU_DATA_DIR"):
        monkeypatch.setenv(name, server.env[name])
    forget_city_context()
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


def test_kill_9_under_write_load_loses_no_answered_request(
    server: Server, token: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = server.start()
    with Load(base, token, "crash") as load:
        load.wait_for(answered=30)
        server.signal(signal.SIGKILL)
        assert server.wait(10) == -signal.SIGKILL
        time.sleep(0.3)  # the clients meet the dead port
    answered = load.created()
    unanswered = {o.key for o in load.outcomes if o.status is None}
    assert not [o for o in load.outcomes if o.status not in (None, 201)]

    server.start()  # the same database, after the crash
    stored = _stored(db_url, "crash")
    missing = sorted(set(answered) - set(stored))
    assert not missing, f"answered with 201 but not in the database: {missing[:5]}"
    for key, (ticket, count, events, contacts, first) in stored.items():
        assert count == events >= 1, f"{key}: request records {count} events, {events} stored"
        assert contacts == 1 and first == "received", key
        if key in answered:
            assert ticket == answered[key]
    # Every stored request was answered, or was in flight when the server died.
    assert set(stored) <= set(answered) | unanswered
    assert "audit chain intact" in _audit_verify(server, monkeypatch)

    # Whatever was in flight is safe to send again: the same request if it was stored,
    # a new one if it was not — never two.
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=30) as http:
        for key in sorted(unanswered):
            r = http.post("/requests", json=load.body(key))
            assert r.status_code == (200 if key in stored else 201), (key, r.text)
    again = _stored(db_url, "crash")
    assert set(again) == set(stored) | unanswered
    server.signal(signal.SIGTERM)
    assert server.wait(SHUTDOWN_BOUND) == 0


def test_sigterm_lets_requests_in_flight_finish_and_exits_0(
    server: Server, token: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = server.start()
    with Load(base, token, "term") as load:
        load.wait_for(answered=15)
        asked = time.monotonic()
        server.signal(signal.SIGTERM)
        code = server.wait(SHUTDOWN_BOUND)
        took = time.monotonic() - asked
    assert code == 0, server.log.read_text()[-2000:]
    assert took < SHUTDOWN_BOUND
    in_flight = [o for o in load.outcomes if o.started < asked < o.ended and o.status == 201]
    assert in_flight, "no request was being answered when SIGTERM came; the test proved nothing"
    assert not [o for o in load.outcomes if o.status not in (None, 201)]
    stored = _stored(db_url, "term")
    # A graceful stop answers everything it stored: a client that got no answer was refused
    # before the server read its request (so a retry is simply a new request).
    assert set(stored) == set(load.created())
    assert "audit chain intact" in _audit_verify(server, monkeypatch)


def test_a_live_server_holds_the_serving_lease_and_a_killed_one_drops_it(
    server: Server, token: str, db_url: str
) -> None:
    assert not served(db_url)
    server.start()
    assert served(db_url)  # a restore would refuse now
    server.signal(signal.SIGKILL)
    server.wait(10)
    # The database (PostgreSQL) or the kernel (SQLite's flock) let go with the process.
    deadline = time.monotonic() + 10
    while served(db_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not served(db_url)
