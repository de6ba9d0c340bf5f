"""`jiesu notify …`: the outbox, sending what is due, sending a dead letter again."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.errors import JiesuError
from jiesu.jobs import send_due_notifications
from jiesu.kit.clock import utcnow
from jiesu.notify.delivery import counts, outbox, retry
from jiesu.notify.models import STATUSES
from jiesu.notify.present import notification_out

app = typer.Typer(help="Notifications to citizens, units and supervisors.", no_args_is_help=True)


@app.command("outbox")
def outbox_cmd(
    status: Annotated[str | None, typer.Option(help=f"only: {', '.join(STATUSES)}")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    full: Annotated[bool, typer.Option(help="show each message's text and tries")] = False,
) -> None:
    """The newest messages (addresses masked), with the count by status."""
    if status is not None and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}")
    with unit_of_work() as session:
        rows = [notification_out(session, n) for n in outbox(session, status=status, limit=limit)]
        by_status = counts(session)
    console.print(
        "outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(by_status.items())) or "empty")
    )
    table = Table("id", "kind", "to", "ticket", "status", "tries")
    for r in rows:
        to = r.address or r.recipient
        table.add_row(
            str(r.id), r.kind, f"{r.recipient_kind} {to} ({r.channel})", r.ticket or "",
            r.status, str(r.attempts),
        )  # fmt: skip
    console.print(table)
    if full:
        for r in rows:
            console.print(f"[bold]#{r.id}[/bold] {r.subject or '(not yet rendered)'}")
            console.print(
                f"  to {r.recipient_kind} {r.address or r.recipient} by {r.channel};"
                f" created {r.created_at.isoformat(timespec='minutes')}; {r.status}"
                + (f"; last error: {r.last_error}" if r.last_error else "")
            )
            if r.body:
                console.print(r.body)
            for t in r.tries:
                console.print(
                    f"  {t.at.isoformat(timespec='seconds')} {t.gateway} {t.result}: {t.detail}"
                )


@app.command("send-due")
def send_due_cmd() -> None:
    """Send every message whose time has come (what the server's schedule also does)."""
    s = settings()
    try:
        with unit_of_work(s) as session:
            result = send_due_notifications(session, s, now=utcnow())
    except JiesuError as exc:
        fail(exc.message)
    if result is None:
        console.print("another process is sending right now; skipped this round")
        return
    console.print(
        f"sent {result.sent}, held for quiet hours {result.held}, to retry {result.retrying},"
        f" dead-lettered {result.dead}"
    )
    for e in result.errors:
        console.print(f"  {e}")


@app.command("retry")
def retry_cmd(notification: Annotated[int, typer.Argument(help="the message's id")]) -> None:
    """Send a dead-lettered message again (its tries start over)."""
    try:
        with unit_of_work() as session:
            n = retry(session, notification, now=utcnow())
            console.print(f"#{n.id} is pending again")
    except JiesuError as exc:
        fail(exc.message)
