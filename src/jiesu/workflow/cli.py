"""`jiesu workflow …`: scheduled checks."""

from __future__ import annotations

import typer

from jiesu.clikit import console, unit_of_work
from jiesu.jobs import run_tick
from jiesu.kit.clock import utcnow

app = typer.Typer(help="The work-order loop.", no_args_is_help=True)


@app.command("tick")
def tick() -> None:
    """Mark requests whose deadlines passed and write finished days' audit digests."""
    with unit_of_work() as session:
        result = run_tick(session, now=utcnow())
    console.print(
        f"overdue: {result.response_overdue} response, {result.handling_overdue} handling; "
        f"audit digests written: {result.digests}"
    )
