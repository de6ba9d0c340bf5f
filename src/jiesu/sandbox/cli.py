"""`jiesu sandbox run --scenario FILE`: a policy tried on history before it ships."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jiesu.clikit import console, err_console, unit_of_work
from jiesu.dispatch.directory import directory
from jiesu.kit.clock import utcnow
from jiesu.sandbox.scenario import load_scenario
from jiesu.sandbox.service import run_sandbox, scenario_names

app = typer.Typer(
    help="Policy sandbox: replay history through a simulation of the loop.", no_args_is_help=True
)
TOP_UNITS = 12


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:,.1f}"


def _range(m: dict[str, Any], fmt: Any = _num) -> str:
    if m.get("mean") is None:
        return "—"
    if m.get("low") is None:
        return fmt(m["mean"])
    return f"{fmt(m['mean'])} [{fmt(m['low'])} – {fmt(m['high'])}]"


def _show(result: dict[str, Any]) -> None:
    v = result["validation"]
    p = result["period"]
    console.print(
        f"[bold]{result['scenario']['name']}[/]: {p['start'][:10]} → {p['end'][:10]} "
        f"({p['days']} days), {v['simulated_requests']:,} requests, {result['runs']} runs "
        f"× 2, seed {result['seed']}, {result['seconds']} s"
    )
    console.print(
        f"validation: recorded on-time {_pct(v['recorded_on_time_share'])}, unchanged replay "
        f"{_range(v['simulated_on_time_share'], _pct)}, error {v['error_points']} points"
    )
    t = Table("measure", "baseline (mean [95 % of runs])", "scenario", "difference")
    for key, label, fmt in (
        ("requests", "requests", _num),
        ("on_time_share", "on-time share", _pct),
        ("returns", "returns (退单)", _num),
        ("reopens", "reopens (重办)", _num),
        ("backlog_mean", "backlog, mean of day ends", _num),
        ("backlog_peak", "backlog, peak", _num),
    ):
        t.add_row(
            label,
            _range(result["baseline"][key], fmt),
            _range(result["scenario_result"][key], fmt),
            _range(result["difference"][key], fmt),
        )
    console.print(t)
    _backlog(result["backlog"])
    if result.get("dispatch_changes"):
        m = result["dispatch_changes"]
        console.print(
            f"catalogue: decides {m['decided']:,}; the first dispatch moves for "
            f"{m['moved']:,}: {m['to_the_unit_that_handled_it']:,} to the unit that handled "
            f"it, {m['to_a_unit_that_handles_such_cases']:,} to another unit that handled such "
            f"cases there, {m['sent_back']:,} to a unit that would send it back"
        )
    u = Table(
        "unit",
        "most in hand (recorded) / limit",
        "handled",
        "wait h (base → scenario)",
        "mean in hand (base → scenario)",
    )
    for row in result["units"][:TOP_UNITS]:
        b, s = row["baseline"] or row["scenario"], row["scenario"]
        limit = s["limit"]
        u.add_row(
            f"{row['name']} ({row['unit']})",
            f"{s['recorded_peak_in_hand']} / {limit if limit is not None else 'as recorded'}",
            _num(s["handled"]["mean"]),
            f"{_num(b['wait_hours']['mean'])} → {_range(s['wait_hours'])}",
            f"{_num(b['in_hand_mean']['mean'])} → {_num(s['in_hand_mean']['mean'])}",
        )
    console.print(u)


def _backlog(backlog: dict[str, Any]) -> None:
    """Backlog over time: a row a week for short periods, every four weeks for long ones."""
    days, base, scen = backlog["day_ends"], backlog["baseline"], backlog["scenario"]
    if not base:
        return
    step = 7 if len(base) <= 120 else 28
    t = Table("day end", "backlog: baseline", "scenario", title="backlog over time")
    for i in range(step - 1, min(len(base), len(scen)), step):
        t.add_row(days[i], _range(base[i]), _range(scen[i]))
    console.print(t)


@app.command("run")
def run(
    scenario: Path = typer.Option(
        ..., "--scenario", exists=True, dir_okay=False, help="the scenario YAML"
    ),
    runs: int = typer.Option(20, "--runs", min=1, max=500, help="repeated runs per side"),
    seed: int = typer.Option(
        1, "--seed", help="seed of the runs: the same seed gives the same result"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the whole result as JSON"),
) -> None:
    """Replay a period of history unchanged and with the scenario; compare with uncertainty."""
    with unit_of_work() as session:
        names = scenario_names(session)
        sc = load_scenario(scenario, names, directory(session))
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("reading history", total=None)

            def tick(step: str, done: int, total: int) -> None:
                bar.update(task, description=step, completed=done, total=total or None)

            result = run_sandbox(
                session, sc, names, runs=runs, seed=seed, now=utcnow(), progress=tick
            )
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False))
        return
    _show(result)
