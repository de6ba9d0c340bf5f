"""`jiesu bench dispatch`: how fast the catalogue decides, as JSON.

Cases are drawn from the loaded city (every active leaf category × street-level or deeper
area, random urgency, channel and hour, the category's name and keywords as text) and decided
one at a time against the active catalogue, the way intake and the dry run call the engine.
Without a loaded catalogue the city pack's own is not guessed: the command says so.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from typing import Any

import typer

from jiesu.city.models import URGENCY_CLASSES
from jiesu.clikit import console, fail, unit_of_work
from jiesu.dispatch.directory import Directory, directory
from jiesu.dispatch.engine import Case, decide
from jiesu.dispatch.service import active_catalogue
from jiesu.workflow.models import CHANNELS


def _cases(d: Directory, n: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    parents = {code for path in d.category_paths.values() for code in path[:-1]}
    leaves = [c for c in d.category_paths if c not in parents]
    areas = [a for a, level in d.area_levels.items() if level in ("street", "community", "grid")]
    if not leaves or not areas:
        fail("the loaded city has no leaf categories or no street-level areas to draw from")
    out = []
    for _ in range(n):
        cat = rng.choice(leaves)
        text = f"{d.category_names.get(cat, '')} 夜里施工 停水 滴滴 美团"[: rng.randint(4, 30)]
        area, urgency = rng.choice(areas), rng.choice(URGENCY_CLASSES)
        out.append(Case(text, cat, area, urgency, rng.choice(CHANNELS), rng.randrange(1440)))
    return out


def bench_dispatch(
    cases: int = typer.Option(20_000, "--cases", min=100, max=10_000_000),
    seed: int = typer.Option(1, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Decisions per second and latency of the dispatch catalogue (one process, one core)."""
    with unit_of_work() as session:
        catalogue = active_catalogue(session)
        if not catalogue.rules:
            fail("no dispatch catalogue is active: `jiesu dispatch rules import FILE` first")
        d = directory(session)
        drawn = _cases(d, cases, seed)
    latencies: list[float] = []
    decided = 0
    started = time.perf_counter()
    for case in drawn:
        t0 = time.perf_counter()
        decision = decide(catalogue, d, case)
        latencies.append(time.perf_counter() - t0)
        decided += decision.unit is not None
    elapsed = time.perf_counter() - started
    latencies.sort()
    result: dict[str, Any] = {
        "benchmark": "dispatch",
        "cases": cases,
        "rules": len(catalogue.rules),
        "units": len(d.units),
        "decided_share": round(decided / cases, 4),
        "decisions_per_second": round(cases / elapsed),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 3),
    }
    if as_json:
        console.print_json(json.dumps(result))
    else:
        console.print(", ".join(f"{k}: {v}" for k, v in result.items()))
