"""One run of the loop, event by event: arrival → dispatch → (return → re-dispatch) → accept →
wait for a free handler → handle → reply → call-back → (reopen → handle again).

Step durations are drawn from the recorded ones of the same kind (pools.py), so a run is a
plausible re-living of the period; the spread over runs with different seeds is the
uncertainty of the result. The recorded handling durations already contain whatever waiting
a unit's workload caused, so in the baseline no unit has a limit. A scenario that sets a
unit's handlers gives it K: at most K cases in hand at once (its handlers, each with the cases
one person carries, relative to the most it held at once in the period); a case accepted while
all K are busy waits its turn, first come, first served. A stuck case (handling that never
ended in the records) is parked: it stays open but takes no one's time.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jiesu.kit.calendar import CalendarRangeError
from jiesu.kit.timelimits import TimeLimit, due_at
from jiesu.sandbox.history import NEVER
from jiesu.sandbox.pools import Draw
from jiesu.sandbox.setup import Plan, Planned

ARRIVE, DISPATCH, RETURN, ACCEPT, REPLY, CALL_BACK, REOPEN = range(7)
DAY = 86_400.0
# A call-back reopens a case at most this often (no recorded case went round more).
MAX_REOPENS = 2


@dataclass
class UnitState:
    slots: int | None  # None: no limit (works as recorded)
    peak: int  # the most it held at once in the period's records
    busy: int = 0
    queue: deque[int] = field(default_factory=deque)
    handled: int = 0
    busy_seconds: float = 0.0
    waited: float = 0.0
    peak_queue: int = 0


@dataclass
class Case:
    plan: Planned
    unit: str | None = None
    due: float | None = None
    accepted: float = 0.0
    started: float = 0.0
    replied: float | None = None
    returns: int = 0
    reopens: int = 0
    in_hand: bool = False


@dataclass
class RunResult:
    n: int
    on_time: int
    returns: int
    reopens: int
    backlog: list[int]  # open cases at each day's end (local midnight)
    units: dict[str, UnitState]

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.n if self.n else None


def _dt(s: float) -> datetime:
    return datetime.fromtimestamp(s, UTC)


def run_once(plan: Plan, rng: random.Random) -> RunResult:
    """Simulate the period once; ``plan`` says who goes where under which rules."""
    draw = Draw(plan.pools, rng)
    cases = [Case(p) for p in plan.expand(rng)]
    units = {code: UnitState(plan.capacity.get(code), k) for code, k in plan.peak.items()}
    for code, k in plan.capacity.items():
        units.setdefault(code, UnitState(k, 0))
    heap: list[tuple[float, int, int, int]] = []
    seq = 0

    def at(t: float, kind: int, i: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, kind, i))

    deadlines: dict[tuple[float, str], float] = {}

    def deadline(c: Case, start: float, fresh: bool) -> float | None:
        p = c.plan
        if p.limit is not None:
            due = _due(start, p.limit)
        elif p.offset is not None:
            due = start + p.offset
        else:
            return c.due if not fresh else None
        # Deadlines only move forward on a re-dispatch; a reopen starts a fresh cycle.
        return due if fresh or c.due is None else max(due, c.due)

    def _due(start: float, limit: TimeLimit) -> float:
        key = (start // 60, str(limit))
        hit = deadlines.get(key)
        if hit is None:
            try:
                hit = due_at(_dt(start), limit, plan.calendar, plan.tz).timestamp()
            except CalendarRangeError:
                hit = start + limit.amount * (3600 if limit.unit == "h" else DAY)
            deadlines[key] = hit
        return hit

    for i, c in enumerate(cases):
        at(c.plan.received, ARRIVE, i)
    horizon = plan.horizon
    day_ends = plan.day_ends
    backlog: list[int] = []
    open_now = 0
    next_day = 0

    def start_handling(i: int, t: float) -> None:
        c = cases[i]
        # Paced to the time the unit had when it took the case: waiting for a free handler
        # eats into the deadline, it does not make the work itself quicker.
        window = c.due - c.accepted if c.due is not None else None
        took = draw.handling(c.unit, c.plan.category, window)
        u = units.get(c.unit or "")
        if u is not None:
            u.handled += 1
            u.waited += t - c.accepted
            if took != NEVER:
                u.busy += 1
        c.started = t
        c.in_hand = took != NEVER
        if c.in_hand:
            at(t + took, REPLY, i)

    while heap:
        t, _, kind, i = heapq.heappop(heap)
        if t > horizon:
            break
        while next_day < len(day_ends) and day_ends[next_day] <= t:
            backlog.append(open_now)
            next_day += 1
        c = cases[i]
        p = c.plan
        if kind == ARRIVE:
            open_now += 1
            at(t + draw.dispatch(p.channel), DISPATCH, i)
        elif kind == DISPATCH:
            c.unit = p.first_unit if c.returns == 0 else p.unit
            c.due = deadline(c, t, fresh=False)
            if c.returns < p.returns:
                # Sent where it was sent back from (or to a unit that is not its own).
                at(t + draw.returned(), RETURN, i)
            else:
                c.unit = p.unit
                at(t + draw.accept(p.unit, p.category), ACCEPT, i)
        elif kind == RETURN:
            c.returns += 1
            at(t + draw.redispatch(), DISPATCH, i)
        elif kind == ACCEPT:
            c.accepted = t
            u = units.get(c.unit or "")
            if u is None or u.slots is None or u.busy < u.slots:
                start_handling(i, t)
            else:
                u.queue.append(i)
                u.peak_queue = max(u.peak_queue, len(u.queue))
        elif kind == REPLY:
            c.replied = t
            open_now -= 1
            c.in_hand = False
            u = units.get(c.unit or "")
            if u is not None:
                u.busy -= 1
                u.busy_seconds += t - c.started
                if u.queue:
                    start_handling(u.queue.popleft(), t)
            if p.calls_back:
                at(t + draw.call_back(), CALL_BACK, i)
        elif kind == CALL_BACK:
            if c.reopens < MAX_REOPENS and rng.random() < draw.reopen_share(c.unit):
                at(t + draw.reopen_delay(), REOPEN, i)
        elif kind == REOPEN:
            c.reopens += 1
            c.replied = None
            open_now += 1
            c.due = deadline(c, t, fresh=True)
            at(t + draw.accept(c.unit, p.category), ACCEPT, i)
    while next_day < len(day_ends):
        backlog.append(open_now)
        next_day += 1
    # Cases in hand at the horizon: their busy time so far counts as load.
    # (A parked stuck case is left out: it takes no one's time.)
    for c in cases:
        if c.replied is None and c.started and c.unit in units and c.in_hand:
            units[c.unit].busy_seconds += horizon - c.started
    on_time = sum(_on_time(c) for c in cases)
    return RunResult(
        n=len(cases),
        on_time=on_time,
        returns=sum(c.returns for c in cases),
        reopens=sum(c.reopens for c in cases),
        backlog=backlog,
        units=units,
    )


def _on_time(c: Case) -> bool:
    """The rates module's rule (rates/ontime.py), judged when the case would be judged."""
    judge = c.plan.judge_at
    if c.due is None:
        return True
    if c.replied is not None and c.replied <= judge:
        return c.replied <= c.due
    return not c.due < judge
