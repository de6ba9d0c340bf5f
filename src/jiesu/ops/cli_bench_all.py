"""`jiesu bench all`: the command, its table and its JSON."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from jiesu.clikit import console, err_console, fail
from jiesu.errors import JiesuError
from jiesu.ops.bench_all import NAMES, Plan, Sizes, headline, run_all
from jiesu.ops.soak.site import check_server_url


def bench_all(
    db_url: str = typer.Option(
        None,
        help="a PostgreSQL server URL: a database of its own is made there and dropped "
        "afterwards; default: a SQLite file in a temporary folder",
    ),
    only: list[str] = typer.Option(
        None, "--only", help=f"run only these (repeat): {', '.join(NAMES)}"
    ),
    scale: float = typer.Option(
        1.0, help="multiply every size (0.1 for a quick look, 5 for a steadier run)"
    ),
    seed: int = typer.Option(1, help="random seed of the generated data"),
    as_json: bool = typer.Option(False, "--json", help="print only the JSON result"),
) -> None:
    """Every benchmark (intake over HTTP, import, understanding, dispatch, analysis) on a
    scratch installation with data generated here, each in a process of its own: throughput,
    latency, peak memory and failures, as one JSON. About 10 minutes on two cores at scale 1.
    Exit 1 when a benchmark failed."""
    try:
        check_server_url(db_url)
        plan = Plan(
            sizes=Sizes().scaled(scale), only=tuple(only or NAMES), db_url=db_url, seed=seed
        )
        result = run_all(plan, lambda line: err_console.print(line, highlight=False))
    except JiesuError as exc:
        fail(exc.message)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        table = Table(title=f"jiesu bench all ({result['database']}, {result['seconds']} s)")
        for col in ("benchmark", "result", "seconds", "peak MB", "state"):
            table.add_column(col)
        for name, part in result["parts"].items():
            table.add_row(
                name,
                headline(name, part["result"]),
                f"{part['seconds']:.1f}",
                f"{part['peak_rss_mb']:.0f}",
                "ok" if part["error"] is None else "failed",
            )
        console.print(table)
    if result["failed"]:
        raise typer.Exit(1)
