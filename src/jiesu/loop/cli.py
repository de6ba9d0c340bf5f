"""`jiesu callbacks`: the call-back queue and the loop's tick."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from jiesu.clikit import console, unit_of_work
from jiesu.kit.clock import utcnow
from jiesu.loop.callbacks import queue
from jiesu.loop.models import CALLBACK_STATUSES
from jiesu.loop.service import run_loop_tick

app = typer.Typer(help="Call-backs (回访): the operators' queue, and the loop's tick.")


@app.command("list")
def list_tasks(
    status: str = typer.Option("open", "--status", help="open | done | unreachable | cancelled"),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Call-back tasks, highest priority first, then the earliest due."""
    if status not in CALLBACK_STATUSES:
        console.print(f"[bold red]error:[/] --status must be one of {', '.join(CALLBACK_STATUSES)}")
        raise typer.Exit(1)
    with unit_of_work() as session:
        rows = [
            {
                "id": t.id,
                "ticket": t.request.ticket,
                "priority": t.priority,
                "reasons": list(t.priority_reasons or []),
                "due_at": t.due_at.isoformat() if t.due_at else None,
                "attempts": t.attempts,
                "status": t.status,
            }
            for t in queue(session, status=status, limit=limit)
        ]
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "ticket", "priority", "why", "due", "attempts", "status")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["ticket"]),
            str(r["priority"]),
            ", ".join(r["reasons"]),  # type: ignore[arg-type]
            str(r["due_at"] or ""),
            str(r["attempts"]),
            str(r["status"]),
        )
    console.print(table)


@app.command("tick")
def tick() -> None:
    """Create call-backs for missed deadlines; close or reopen answered requests."""
    with unit_of_work() as session:
        counts = run_loop_tick(session, now=utcnow())
    console.print(", ".join(f"{k}: {v}" for k, v in counts.items()))
