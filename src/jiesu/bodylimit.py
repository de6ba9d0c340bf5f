"""A ceiling on request bodies, enforced before they are read: a gigabyte posted to any route
must not fill the server's memory or disk, nor keep a worker busy reading it.

A declared ``Content-Length`` above the ceiling is answered at once, without reading a
byte of the body and without running any route, in the shape of the door it was sent to: the
API's error JSON (413), the Open311 error list (the spec's 400 with code 413, JSON or XML), a
short page for the web (413). A body without a length (chunked) is counted
as it arrives, and the first chunk that crosses the ceiling raises ``HTTPException(413)`` in
the reading route, so each door answers in its own shape (the API's error JSON, the Open311
error list, the web's error page). Pure ASGI, like ``headers.py``: nothing is buffered here.
"""

from __future__ import annotations

import json
import re
from html import escape

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiesu.errors import Refused

# The admin desk's uploads: a city pack .zip (≤ 50 MB, desk_admin_pack.MAX_ZIP), the sensors
# registry and the dispatch catalogue as YAML text. Everything else takes the API's ceiling.
UPLOAD_PATHS = ("/desk/admin/city/pack", "/desk/admin/sensors/", "/desk/admin/dispatch/")
# Forms and routes that carry evidence files (photos, PDFs; each file also has its own limit,
# JIESU_EVIDENCE_MAX_FILE_BYTES): the public submission, the API upload, the desks' file and
# reply/call-back forms.
UPLOAD_ROUTES = re.compile(
    r"^(/|/api/v1/requests/[^/]+/files|/desk/requests/[^/]+/(files|act/(reply|call_back)))$"
)


def too_large(limit: int) -> str:
    size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit / 2**10:g} KB"
    return f"is larger than {size} ({limit} bytes), the most accepted here"


class BodyLimit:
    """ASGI middleware: ``default`` bytes for every body, ``uploads`` for ``UPLOAD_PATHS``."""

    def __init__(self, app: ASGIApp, *, default: int, uploads: int) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads

    def limit_for(self, path: str) -> int:
        if path.startswith(UPLOAD_PATHS) or UPLOAD_ROUTES.match(path):
            return self.uploads
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, scope["path"])
            return

        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if started:
                        # An answer is already going out (a streamed export listening for the
                        # client leaving): stop taking the body instead of failing mid-answer.
                        return {"type": "http.disconnect"}
                    raise HTTPException(413, f"the body {too_large(limit)}")
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted, watched)


def _content_length(scope: Scope) -> int | None:
    values = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
    lengths = [int(v) for v in values if v.strip().isdigit()]
    # A malformed length is the HTTP server's to refuse; several lengths count as the largest.
    return max(lengths) if lengths else None


def _answer(limit: int, path: str) -> tuple[int, bytes, bytes]:
    """Status, content type and body of the refusal, in the door's own shape."""
    said = f"the body {too_large(limit)}"
    if path.startswith("/open311/"):
        if path.endswith(".xml"):
            xml = (
                '<?xml version="1.0" encoding="utf-8"?>\n<errors><error><code>413</code>'
                f"<description>{escape(said)}</description></error></errors>"
            )
            return 400, b"text/xml; charset=utf-8", xml.encode()
        listed = [{"code": 413, "description": said}]
        return 400, b"application/json", json.dumps(listed, ensure_ascii=False).encode()
    if path.startswith("/api/"):
        error = Refused(413, said).to_dict()
        return 413, b"application/json", json.dumps(error, ensure_ascii=False).encode()
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>413</title>'
        f"<h1>提交的内容太大 · Too large</h1><p>{escape(said)}.</p>"
        '<p><a href="/">首页 · Home</a></p></html>'
    )
    return 413, b"text/html; charset=utf-8", page.encode()


async def _refuse(send: Send, limit: int, path: str) -> None:
    status, ctype, body = _answer(limit, path)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", ctype),
                (b"content-length", str(len(body)).encode()),
                # The unread body is still on the way: this connection cannot be used again.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
