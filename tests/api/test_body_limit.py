"""Oversized bodies are refused early: a declared length over the ceiling before a byte is
read, a chunked body as soon as its count crosses it; over real HTTP and at the ASGI level,
where what the server pulled from the client can be counted."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.intake.open311.keys import create_key
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token
from jiesu.workflow.models import ServiceRequest

from factories import make_world

LIMIT = 8 * 1024
UPLOADS = 32 * 1024


def _app(db_url: str, clock: FixedClock, tmp_path: Path) -> FastAPI:
    settings = Settings(
        database_url=db_url, data_dir=tmp_path, max_body_bytes=LIMIT, max_upload_bytes=UPLOADS
    )
    return create_app(settings, clock=clock, schedule=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server on a free loopback port; yields its base URL."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 10
        while not srv.started and time.monotonic() < end:
            time.sleep(0.05)
        assert srv.started, "server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def _chunks(total: int, size: int = 1024) -> Iterator[bytes]:
    # A JSON body sent without a length (Transfer-Encoding: chunked), the text padded out.
    head, tail = b'{"text": "', b'"}'
    yield head
    for _ in range((total - len(head) - len(tail)) // size):
        yield b"x" * size
    yield tail


def _assert_too_large(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert error["code"] == "too_large" and str(LIMIT) in error["message"]
    assert error["fields"] == [{"field": "body", "problem": error["message"]}]
    assert r.headers["x-content-type-options"] == "nosniff"  # still a full answer


def test_over_real_http_with_a_length_and_chunked(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    token = issue_token(session, world.users["op"], now=clock.now())
    key = create_key(session, "a-client", now=clock.now())[1]
    session.commit()
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    big = json.dumps({"text": "噪音" * LIMIT}).encode()
    assert len(big) > 2 * LIMIT
    with running(_app(db_url, clock, tmp_path)) as base, httpx.Client(base_url=base) as http:
        _assert_too_large(http.post("/api/v1/requests", content=big, headers=auth))
        _assert_too_large(http.post("/api/v1/requests", content=_chunks(4 * LIMIT), headers=auth))
        # A body just under the ceiling, chunked, is read whole and accepted.
        near = http.post("/api/v1/requests", content=_chunks(LIMIT - 16), headers=auth)
        assert near.status_code == 201, near.text

        # Open311 answers in its own error shape (the spec's statuses: 400, the code 413).
        form = {"api_key": key, "service_code": "010101", "description": "x" * (2 * LIMIT)}
        encoded = str(httpx.QueryParams(form)).encode()
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        in_two = iter([encoded[:100], encoded[100:]])
        chunked = http.post("/open311/v2/requests.json", content=in_two, headers=ctype)
        assert chunked.status_code == 400, chunked.text
        [error] = chunked.json()
        assert error["code"] == 413 and "larger than" in error["description"]
        with_length = http.post("/open311/v2/requests.json", content=encoded, headers=ctype)
        assert with_length.status_code == 400, with_length.text  # declared: the same shape
        [error] = with_length.json()
        assert error["code"] == 413 and "larger than" in error["description"]
        as_xml = http.post("/open311/v2/requests.xml", content=encoded, headers=ctype)
        assert as_xml.status_code == 400 and "<code>413</code>" in as_xml.text
        page = http.post("/track", content=b"z" * (2 * LIMIT), headers=ctype)
        assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
        assert "Too large" in page.text

        # The admin desk's upload routes have their own, larger ceiling.
        upload = {"Content-Type": "application/octet-stream"}
        between = http.post("/desk/admin/city/pack", content=b"z" * (2 * LIMIT), headers=upload)
        assert between.status_code != 413  # past the size check: refused for no session
        beyond = http.post("/desk/admin/city/pack", content=b"z" * (UPLOADS + 1), headers=upload)
        assert beyond.status_code == 413 and str(UPLOADS) in beyond.text  # a page: the desk
        web_form = http.post("/desk/admin/users", content=b"z" * (2 * LIMIT), headers=upload)
        assert web_form.status_code == 413  # only the upload routes

    stored = session.scalar(select(func.count()).select_from(ServiceRequest))
    assert stored == 1  # only the one that fitted


# ---------------------------------------------------------------- at the ASGI level
class Client:
    """Plays the HTTP server's part: hands the app the body chunk by chunk and counts what
    the app pulled, which real HTTP cannot show (the kernel buffers what the client sent)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if not self.chunks:
            await asyncio.sleep(3600)  # the client is still there, sending nothing more
        chunk = self.chunks.pop(0)
        self.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def status(self) -> int:
        return int(self.sent[0]["status"])

    def raw(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    def body(self) -> Any:
        return json.loads(self.raw())


def _call(app: FastAPI, client: Client, path: str, length: int | None) -> None:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    # A loop of its own in a thread of its own: the browser tests keep one running in this one.
    call = asyncio.wait_for(app(scope, client.receive, client.send), timeout=30)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, call).result()


@pytest.mark.parametrize("path", ["/api/v1/requests", "/api/v1/public/requests", "/login"])
def test_a_declared_length_over_the_ceiling_is_refused_before_reading(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path, path: str
) -> None:
    client = Client([b"x" * 1024] * 64)
    _call(_app(db_url, clock, tmp_path), client, path, length=64 * 1024)
    assert client.status() == 413 and client.pulled == 0
    if path.startswith("/api/"):
        assert client.body()["error"]["code"] == "too_large"
    else:  # the sign-in form is a web page: the refusal is one too
        assert b"Too large" in client.raw()


@pytest.mark.parametrize("chunk", [1000, 4096, 7000])
def test_a_chunked_body_is_cut_off_at_the_ceiling(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path, chunk: int
) -> None:
    client = Client([b"x" * chunk] * 100)
    _call(_app(db_url, clock, tmp_path), client, "/api/v1/public/requests", length=None)
    assert client.status() == 413
    assert client.body()["error"]["fields"][0]["field"] == "body"
    # Never more than the ceiling plus the one chunk that crossed it.
    assert LIMIT < client.pulled <= LIMIT + chunk
