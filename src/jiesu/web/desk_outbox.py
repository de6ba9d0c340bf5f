"""The outbox on the admin desk: every message, its tries and its state, addresses masked;
a dead letter can be sent again from here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, write
from jiesu.notify.delivery import counts, outbox, retry
from jiesu.notify.models import STATUSES
from jiesu.notify.present import NotificationOut, notification_out
from jiesu.web.forms import form_dict
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)

STATUS_NAMES = {
    "pending": ("待发送", "waiting"),
    "held": ("免打扰暂缓", "held (quiet hours)"),
    "sent": ("已发送", "sent"),
    "dead": ("发送失败", "dead letter"),
}


@router.get("/desk/admin/outbox", response_class=HTMLResponse)
async def outbox_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, "admin")
    status = request.query_params.get("status") or None
    if status not in (None, *STATUSES):
        status = None

    def work(s: Session) -> tuple[list[NotificationOut], dict[str, int]]:
        return [notification_out(s, n) for n in outbox(s, status=status, limit=200)], counts(s)

    rows, by_status = await db.run_sync(work)
    return render(
        request,
        "staff/admin_outbox.html",
        rows=rows,
        counts=by_status,
        status=status or "",
        statuses=STATUS_NAMES,
        done=request.query_params.get("done", ""),
    )


@router.post("/desk/admin/outbox/{nid}/retry")
async def retry_post(
    request: Request, nid: int, db: DB, actor: WebActor, clock: ClockDep
) -> Response:
    need(actor, "admin")
    await form_dict(request)  # the CSRF check reads the form
    now = clock.now()

    def work(s: Session) -> None:
        retry(s, nid, now=now)

    await write(db, work)
    return RedirectResponse(f"/desk/admin/outbox?done={nid}", status_code=303)
