"""`sandbox run`: the scenario against the unchanged baseline, over repeated runs.

Run i of the baseline and run i of the scenario share a seed (common random numbers), so the
difference between them is the scenario's effect and not the luck of the draw; the report
gives each measure's mean and the 2.5–97.5 % range over the runs, and the same for the
paired differences.

Validation: the baseline replays history unchanged, so its on-time share must come close to
the one the rates module computes from the records (rates/ontime.py, the same rule and the
same population); the report states the gap.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.city.service import city_context
from jiesu.dispatch.directory import directory
from jiesu.errors import BadInput
from jiesu.rates.definitions import DEFAULTS
from jiesu.rates.ontime import OnTimeTally, ontime_population
from jiesu.rates.population import Window
from jiesu.sandbox.history import History, load_history
from jiesu.sandbox.scenario import Names, Scenario
from jiesu.sandbox.setup import baseline_plan, scenario_plan
from jiesu.sandbox.simulate import RunResult, run_once
from jiesu.workflow.models import ServiceRequest

MAX_RUNS = 500


def scenario_names(session: Session) -> Names:
    """The codes and names a scenario may use, and the dates history covers."""
    ctx = city_context(session)
    # A name or alias two units share names neither (None): the scenario must use a code.
    units: dict[str, str | None] = {}
    for code, name, aliases in session.execute(
        select(HandlingUnit.code, HandlingUnit.name, HandlingUnit.aliases)
    ):
        for label in {name, *(aliases or [])}:
            units[label] = code if units.get(label, code) == code else None
    for code in session.scalars(select(HandlingUnit.code)):
        units[code] = code
    cats = _named(session.execute(select(Category.code, Category.name, Category.path)).all())
    areas = _named(session.execute(select(Area.code, Area.name, Area.path)).all())
    first, last = session.execute(
        select(func.min(ServiceRequest.received_at), func.max(ServiceRequest.received_at))
    ).one()
    return Names(
        units,
        cats,
        areas,
        first.astimezone(ctx.tz).date() if first else None,
        last.astimezone(ctx.tz).date() if last else None,
    )


def _named(rows: Sequence[Any]) -> dict[str, tuple[str, ...]]:
    """Code → its path; name → the paths of every node of that name."""
    by_name: dict[str, list[str]] = {}
    out: dict[str, tuple[str, ...]] = {}
    for _code, name, path in rows:
        by_name.setdefault(name, []).append(path)
    for name, paths in by_name.items():
        out[name] = tuple(sorted(paths))
    for code, _name, path in rows:
        out[code] = (path,)
    return out


def period_window(session: Session, scenario: Scenario, names: Names, now: datetime) -> Window:
    if names.first_day is None or names.last_day is None:
        raise BadInput("period", "there is no recorded history to replay")
    tz = city_context(session).tz
    start_day: date = scenario.start or names.first_day
    end_day: date = scenario.end or names.last_day
    start = datetime.combine(start_day, dtime(0), tzinfo=tz)
    end = datetime.combine(end_day + timedelta(days=1), dtime(0), tzinfo=tz)
    return Window(start, end, now)


def _summary(values: Sequence[float | None]) -> dict[str, float | None]:
    xs = np.array([v for v in values if v is not None], dtype=float)
    if xs.size == 0:
        return {"mean": None, "low": None, "high": None}
    return {
        "mean": float(xs.mean()),
        "low": float(np.percentile(xs, 2.5)),
        "high": float(np.percentile(xs, 97.5)),
    }


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def _measures(r: RunResult) -> dict[str, float | None]:
    return {
        "requests": float(r.n),
        "on_time_share": r.on_time_share,
        "returns": float(r.returns),
        "reopens": float(r.reopens),
        "backlog_mean": float(np.mean(r.backlog)) if r.backlog else 0.0,
        "backlog_peak": float(max(r.backlog)) if r.backlog else 0.0,
    }


def _units(runs: list[RunResult], seconds: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    codes = sorted({u for r in runs for u in r.units})
    for u in codes:
        states = [r.units[u] for r in runs if u in r.units]
        out[u] = {
            "handled": _summary([s.handled for s in states]),
            "wait_hours": _summary(
                [s.waited / s.handled / 3600 if s.handled else 0.0 for s in states]
            ),
            "in_hand_mean": _summary(
                [s.busy_seconds / seconds if seconds else None for s in states]
            ),
            "peak_queue": _summary([s.peak_queue for s in states]),
            "recorded_peak_in_hand": states[0].peak,
            "limit": states[0].slots,
        }
    return out


def _series(runs: list[RunResult]) -> list[dict[str, float | None]]:
    if not runs or not runs[0].backlog:
        return []
    width = min(len(r.backlog) for r in runs)
    return [_summary([r.backlog[d] for r in runs]) for d in range(width)]


def _recorded(session: Session, window: Window, history: History) -> dict[str, Any]:
    tally = OnTimeTally()
    for t in ontime_population(session, window, DEFAULTS).rows:
        tally.add(t)
    return {
        "requests": tally.n,
        "on_time_share": tally.share,
        "returns": sum(t.returns for t in history.traces),
        "reopens": sum(t.reopens for t in history.traces),
    }


def run_sandbox(
    session: Session,
    scenario: Scenario,
    names: Names,
    *,
    runs: int,
    seed: int,
    now: datetime,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Replay the period ``runs`` times unchanged and ``runs`` times with the scenario."""
    if not 1 <= runs <= MAX_RUNS:
        raise BadInput("runs", f"must be between 1 and {MAX_RUNS}, not {runs}")
    began = time.monotonic()
    ctx = city_context(session)
    d = directory(session)
    window = period_window(session, scenario, names, now)

    def read(step: str, n: int) -> None:
        if progress:
            progress(step, n, 0)

    history = load_history(session, window, with_text=scenario.catalogue is not None, progress=read)
    if not history.traces:
        raise BadInput("period", "no dispatched request was received in the period")
    base = baseline_plan(history, ctx)
    plan, moved = scenario_plan(base, history, scenario, ctx, d)
    recorded = _recorded(session, window, history)
    total = 2 * runs
    done = 0
    baseline_runs: list[RunResult] = []
    scenario_runs: list[RunResult] = []
    for i in range(runs):
        for which, p, into in (
            ("baseline", base, baseline_runs),
            ("scenario", plan, scenario_runs),
        ):
            into.append(run_once(p, random.Random(seed * 1_000_003 + i)))
            done += 1
            if progress:
                progress(f"{which} run {i + 1}", done, total)
    seconds = max(0.0, min(base.horizon, window.end.timestamp()) - window.start.timestamp())
    days = len(base.day_ends)
    b = [_measures(r) for r in baseline_runs]
    s = [_measures(r) for r in scenario_runs]
    keys = list(b[0])
    diff = {k: _summary([_minus(y[k], x[k]) for x, y in zip(b, s, strict=True)]) for k in keys}
    base_share = _summary([m["on_time_share"] for m in b])
    rec = recorded["on_time_share"]
    validation = {
        "recorded_on_time_share": rec,
        "simulated_on_time_share": base_share,
        "error_points": (
            round(100 * (base_share["mean"] - rec), 2)
            if rec is not None and base_share["mean"] is not None
            else None
        ),
        "recorded_requests": recorded["requests"],
        "simulated_requests": len(history.traces),
        "recorded_returns": recorded["returns"],
        "simulated_returns": _summary([m["returns"] for m in b]),
        "recorded_reopens": recorded["reopens"],
        "simulated_reopens": _summary([m["reopens"] for m in b]),
    }
    bu, su = _units(baseline_runs, seconds), _units(scenario_runs, seconds)
    changed = sorted(
        su,
        key=lambda u: (
            -abs((su[u]["wait_hours"]["mean"] or 0) - (bu.get(u, su[u])["wait_hours"]["mean"] or 0))
            - (su[u]["handled"]["mean"] or 0) / 1e6
        ),
    )
    return {
        "scenario": scenario.describe(),
        "period": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "judged_at": now.isoformat(),
            "days": days,
        },
        "runs": runs,
        "seed": seed,
        "seconds": round(time.monotonic() - began, 1),
        "validation": validation,
        "baseline": {k: _summary([m[k] for m in b]) for k in keys},
        "scenario_result": {k: _summary([m[k] for m in s]) for k in keys},
        "difference": diff,
        "dispatch_changes": moved if scenario.catalogue is not None else None,
        "backlog": {
            "day_ends": [
                datetime.fromtimestamp(t, ctx.tz).date().isoformat() for t in base.day_ends
            ],
            "baseline": _series(baseline_runs),
            "scenario": _series(scenario_runs),
        },
        "units": [
            {
                "unit": u,
                "name": history.unit_names.get(u, u),
                "baseline": bu.get(u),
                "scenario": su[u],
            }
            for u in changed
        ],
        "units_total": len(su),
    }
