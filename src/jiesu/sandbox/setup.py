"""What a run replays: the period's requests with where each goes first and which deadline
rule it runs under, the units' capacities and the surges — once for the unchanged baseline
and once for the scenario."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jiesu.city.service import CityContext
from jiesu.dispatch.directory import Directory
from jiesu.dispatch.engine import Case, decide
from jiesu.kit.calendar import WorkCalendar
from jiesu.kit.timelimits import TimeLimit
from jiesu.sandbox.history import History, Trace
from jiesu.sandbox.pools import Fitted
from jiesu.sandbox.scenario import Scenario, Surge

# Extra arrivals of a surge come within this much of the request they copy: the same kind of
# problem in the same place on about the same day.
SURGE_JITTER = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Planned:
    received: float
    channel: str
    category: str | None
    unit: str | None
    first_unit: str | None
    # Times it is sent back before it reaches its unit (退单): as recorded in the baseline.
    returns: int
    limit: TimeLimit | None
    offset: float | None
    judge_at: float
    calls_back: bool


@dataclass
class Plan:
    planned: list[Planned]
    # Per planned case, the surges' factor (1.0 = as recorded).
    factors: list[float]
    pools: Fitted
    # Units the scenario limits: at most this many cases in hand at once. Others (all units in
    # the baseline) work as recorded, whatever waiting there was already in the durations.
    capacity: dict[str, int]
    # The most cases each unit held at once in the period: the reference for "handlers".
    peak: dict[str, int]
    calendar: WorkCalendar
    tz: ZoneInfo
    horizon: float
    day_ends: list[float]

    def expand(self, rng: random.Random) -> list[Planned]:
        """The run's arrivals: each case as recorded, thinned or copied by its surge factor."""
        out: list[Planned] = []
        for p, factor in zip(self.planned, self.factors, strict=True):
            if factor == 1.0:
                out.append(p)
                continue
            whole = int(factor)
            copies = whole + (rng.random() < factor - whole)
            for k in range(copies):
                if k == 0:
                    out.append(p)
                else:
                    shift = rng.uniform(-SURGE_JITTER, SURGE_JITTER)
                    out.append(replace(p, received=p.received + shift, judge_at=self.horizon))
        return out


def day_ends(start: datetime, end: datetime, tz: ZoneInfo) -> list[float]:
    """Local midnights after each day of [start, end)."""
    local = start.astimezone(tz)
    day = local.date()
    out = []
    while True:
        day += timedelta(days=1)
        t = datetime(day.year, day.month, day.day, tzinfo=tz)
        if t > end:
            break
        out.append(t.timestamp())
    return out


def _default_limit(t: Trace, ctx: CityContext, limits: dict[str | None, TimeLimit]) -> TimeLimit:
    key = f"{t.urgency}:{t.category}"
    hit = limits.get(key)
    if hit is None:
        spec = ctx.urgency_classes.get(t.urgency) or ctx.urgency_classes["general"]
        hit = TimeLimit.parse(spec["handling"])
        limits[key] = hit
    return hit


def _planned(
    t: Trace, ctx: CityContext, limits: dict[str | None, TimeLimit], calls_back: bool
) -> Planned:
    limit = t.limit
    if limit is None and not t.imported and t.unit is not None:
        limit = _default_limit(t, ctx, limits)
    return Planned(
        t.received,
        t.channel,
        t.category,
        t.unit,
        t.first_unit,
        t.returns,
        limit,
        t.offset,
        t.judge_at,
        calls_back and not t.imported,
    )


def baseline_plan(history: History, ctx: CityContext) -> Plan:
    w = history.window
    limits: dict[str | None, TimeLimit] = {}
    calls_back = bool(history.pools.call_back)
    planned = [_planned(t, ctx, limits, calls_back) for t in history.traces]
    horizon = max([p.judge_at for p in planned], default=w.as_of.timestamp())
    return Plan(
        planned,
        [1.0] * len(planned),
        Fitted.of(history.pools),
        {},
        dict(history.capacity),
        ctx.calendar,
        ctx.tz,
        horizon,
        day_ends(w.start, w.end, ctx.tz),
    )


def _factor(t: Trace, surges: tuple[Surge, ...], tz: ZoneInfo) -> float:
    day = datetime.fromtimestamp(t.received, tz).date()
    factor = 1.0
    for s in surges:
        if s.covers(t.category_path, t.category_name, t.area_path, day):
            factor *= s.factor
    return factor


def _district(t: Trace) -> str | None:
    """The first two levels of the area path (city/district/): where a unit works."""
    if not t.area_path:
        return None
    return "/".join(t.area_path.split("/")[:2])


def _handles(history: History) -> set[tuple[str, str | None]]:
    """(unit, category) and (unit, district) pairs the records show a unit handling."""
    out: set[tuple[str, str | None]] = set()
    for t in history.traces:
        if t.unit is not None:
            out.add((t.unit, t.category))
            out.add((t.unit, _district(t)))
    return out


def scenario_plan(
    base: Plan, history: History, scenario: Scenario, ctx: CityContext, directory: Directory
) -> tuple[Plan, dict[str, int]]:
    """The baseline with the scenario's changes; also how many first dispatches moved."""
    moved = {
        "decided": 0,
        "moved": 0,
        "to_the_unit_that_handled_it": 0,
        "to_a_unit_that_handles_such_cases": 0,
        "sent_back": 0,
    }
    handles = _handles(history)
    planned = []
    for t, p in zip(history.traces, base.planned, strict=True):
        unit, first, limit, returns = p.unit, p.first_unit, p.limit, p.returns
        if scenario.catalogue is not None and t.unit is not None:
            local = datetime.fromtimestamp(t.received, ctx.tz)
            case = Case(
                t.text, t.category, t.area, t.urgency, t.channel, local.hour * 60 + local.minute
            )
            d = decide(scenario.catalogue, directory, case)
            if d.unit is not None:
                moved["decided"] += 1
                if d.unit != p.first_unit:
                    moved["moved"] += 1
                if d.unit == t.unit:
                    # Sent to the unit that handled it: nothing comes back.
                    returns = 0
                    moved["to_the_unit_that_handled_it"] += d.unit != p.first_unit
                elif (d.unit, t.category) in handles and (d.unit, _district(t)) in handles:
                    # A unit that handled such cases in this district keeps it, and its own
                    # recorded handling applies.
                    unit, returns = d.unit, 0
                    moved["to_a_unit_that_handles_such_cases"] += d.unit != p.first_unit
                elif d.unit != p.first_unit:
                    # A unit that never handled such a case here sends it back (at least once;
                    # as often as recorded if it went there then too), and it goes on.
                    returns = max(1, p.returns)
                    moved["sent_back"] += 1
                first = d.unit
                if d.handling_limit:
                    limit = TimeLimit.parse(d.handling_limit)
        override = scenario.limit_for(t.category_path)
        if override is not None and t.unit is not None:
            limit = override
        planned.append(replace(p, unit=unit, first_unit=first, limit=limit, returns=returns))
    capacity = {u: h.apply(base.peak.get(u, 1)) for u, h in scenario.handlers.items()}
    factors = [_factor(t, scenario.surges, ctx.tz) for t in history.traces]
    plan = Plan(
        planned,
        factors,
        base.pools,
        capacity,
        base.peak,
        base.calendar,
        base.tz,
        base.horizon,
        base.day_ends,
    )
    return plan, moved
