"""`jiesu bench soak`: the command, its table and its JSON."""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType
from typing import Any

import typer
from rich.table import Table

from jiesu.clikit import console, err_console, fail
from jiesu.errors import JiesuError
from jiesu.logs import configure_logging
from jiesu.ops.soak.run import SoakPlan, run_soak


def bench_soak(
    minutes: float = typer.Option(10.0, help="how long the load runs (e.g. 0.5 for 30 s)"),
    rate: float = typer.Option(50.0, help="calls per second, sent on schedule (open loop)"),
    read_share: float = typer.Option(0.7, help="share of the calls that are reads (0–1)"),
    db_url: str = typer.Option(
        None,
        help="a PostgreSQL server URL: the soak creates a database of its own there and drops "
        "it afterwards; default: a SQLite file in a temporary folder",
    ),
    window: float = typer.Option(10.0, help="seconds per window: the server is sampled each"),
    warmup: float = typer.Option(
        None,
        help="seconds at the start left out of the memory and latency trend; default 60, or "
        "a third of a shorter soak",
    ),
    history: int = typer.Option(1000, help="synthetic requests seeded before the load"),
    seed: int = typer.Option(1, help="random seed of the history and the load"),
    keep: bool = typer.Option(False, "--keep", help="keep the scratch database and folder"),
    as_json: bool = typer.Option(False, "--json", help="print only the JSON result"),
) -> None:
    """The real server on a scratch installation under a steady mix of reads and writes over
    HTTP: errors, latency per window, memory over time, and `jiesu audit verify` at the end.
    Exit 1 when the verdict fails (any error, memory up > 10 % after the warm-up, the last
    window's p99 above 1.5x the first's, or a broken audit chain)."""
    configure_logging("WARNING")  # the seeding's info lines would bury the progress
    plan = SoakPlan(
        seconds=minutes * 60,
        rate=rate,
        read_share=read_share,
        window=window,
        warmup=min(60.0, minutes * 60 / 3) if warmup is None else warmup,
        history=history,
        seed=seed,
        db_url=db_url,
        keep=keep,
    )
    # SIGTERM (and Ctrl+C) end the load early but still stop the server and drop the scratch
    # database: the soak never leaves a server or a database behind.
    before = {}
    if threading.current_thread() is threading.main_thread():  # only it may set handlers
        before = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        result = run_soak(plan, say=lambda line: err_console.print(line, highlight=False))
    except JiesuError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        fail("stopped before the end: server stopped, scratch database removed", code=130)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print(result)
    if not result["verdict"]["passed"]:
        raise typer.Exit(1)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _print(r: dict[str, Any]) -> None:
    table = Table(title=f"soak on {r['database']}: {r['duration_s']:g} s at {r['rate']['asked']:g}"
                  " calls/s")  # fmt: skip
    for col in ("window s", "calls", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "RSS MB",
                "server CPU"):  # fmt: skip
        table.add_column(col, justify="right")
    for w in r["windows"]:
        table.add_row(
            f"{w['start_s']:g}–{w['end_s']:g}",
            str(w["calls"]),
            str(w["errors"]),
            *(_cell(w[k]) for k in ("p50", "p95", "p99", "max", "rss_mb", "server_cpu")),
        )
    console.print(table)
    lat, rss, rate, v = r["latency_ms"]["overall"], r["rss_mb"], r["rate"], r["verdict"]
    console.print(
        f"calls {r['calls']['total']} ({rate['answered_per_s']:g}/s answered of "
        f"{rate['asked']:g}/s asked), errors {r['errors']['total']}; "
        f"latency p50 {_cell(lat['p50'])} p95 {_cell(lat['p95'])} p99 {_cell(lat['p99'])} ms"
    )
    console.print(
        f"server RSS first {_cell(rss['first'])} MB, after warm-up {_cell(rss['at_warmup'])}, "
        f"last {_cell(rss['last'])}, max {_cell(rss['max'])}; after warm-up "
        f"{_cell(rss['growth_pct'])} %, {_cell(rss['slope_mb_per_min'])} MB/min"
    )
    console.print(f"by kind: {r['calls']['by_kind']}")
    for e in r["errors"]["examples"][:5]:
        console.print(f"  error {e['kind']} at {e['at_s']} s: {e['error']}", highlight=False)
    audit = r["audit"]["output"].splitlines()
    console.print(f"audit (exit {r['audit']['exit_code']}): {audit[-1] if audit else ''}")
    console.print(
        (
            "[bold green]PASSED[/]"
            if v["passed"]
            else "[bold red]FAILED[/]: " + "; ".join(v["reasons"])
        )
        + f"  (p99 last/first window after warm-up: {_cell(v['p99_ratio'])}; worst window "
        f"p99 {_cell(v['p99_worst_window_ms'])} ms at {_cell(v['worst_window_start_s'])} s)"
    )


def _cell(value: object) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
