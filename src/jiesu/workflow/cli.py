"""`jiesu workflow …`: scheduled checks."""

from __future__ import annotations

import typer

from jiesu.clikit import console, settings, unit_of_work
from jiesu.jobs import run_tick_once
from jiesu.kit.clock import utcnow

app = typer.Typer(help="The work-order loop.", no_args_is_help=True)


@app.command("tick")
def tick() -> None:
    """Mark overdue requests and summons, create due call-backs, settle answers, write digests."""
    hours = settings().notify_due_soon_hours
    with unit_of_work() as session:
        result = run_tick_once(session, now=utcnow(), due_soon_hours=hours)
    if result is None:
        console.print("another process is running the tick right now; skipped this round")
        return
    console.print(
        f"overdue: {result.response_overdue} response, {result.handling_overdue} handling, "
        f"{result.summons_overdue} summoned units not reported; "
        f"call-backs created: {result.callbacks_created}; closed {result.closed},"
        f" reopened {result.reopened}; events ended: {result.events_ended};"
        f" audit digests written: {result.digests};"
        f" units told of requests nearly due: {result.due_soon};"
        f" owners reminded of articles running out: {result.articles_reminded}"
    )
