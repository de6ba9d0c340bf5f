"""`jiesu audit …`: verify the event chain and the daily digests."""

from __future__ import annotations

import typer
from rich.progress import Progress

from jiesu.city.service import city_context
from jiesu.clikit import console, err_console, unit_of_work
from jiesu.kit.clock import utcnow
from jiesu.privacy.audit import make_digests, verify

app = typer.Typer(help="The audit chain.", no_args_is_help=True)


@app.command("verify")
def verify_cmd() -> None:
    """Check every event chain and digest; exit 1 naming the first broken request/event."""
    with unit_of_work() as session, Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("verifying events", total=None)
        report = verify(
            session, tz=city_context(session).tz, progress=lambda n: bar.update(task, completed=n)
        )
    if report.ok:
        console.print(
            f"audit chain intact: {report.requests} requests, {report.events} events, "
            f"{report.digests} daily digests; {report.reads} personal-data reads, "
            f"{report.purges} purges ({report.redacted} events redacted)"
        )
        if report.unsealed_purges:
            ids = ", ".join(f"#{i}" for i in report.unsealed_purges)
            console.print(f"purge {ids} running or interrupted: sealed when the next one starts")
        return
    err_console.print(f"[bold red]audit chain broken[/] ({len(report.breaks)} problem(s)); first:")
    err_console.print(f"  {report.breaks[0]}", highlight=False)
    for b in report.breaks[1:10]:
        err_console.print(f"  also: {b}", highlight=False)
    raise typer.Exit(1)


@app.command("digest")
def digest_cmd() -> None:
    """Write the daily digests of finished days that have none yet."""
    with unit_of_work() as session:
        rows = make_digests(session, now=utcnow(), tz=city_context(session).tz)
    console.print(f"wrote {len(rows)} daily digest(s)")
