"""The period of history a scenario replays: one trace per request, and the durations of
every step of the loop as it really went (the pools the simulation draws from).

A request lived natively in Jiesu when its events say so (dispatch, accept, reply, call-back,
reopen, return); an imported request has only the columns its source system exported
(dispatched, replied or closed, its deadline), so its steps are read from those.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.kit.timelimits import TimeLimit
from jiesu.rates.ontime import IMPORT_PREFIX, import_snapshots
from jiesu.rates.population import NOT_SCORED, Window
from jiesu.workflow.models import Event, ServiceRequest

CLOCK_STARTS = frozenset({"dispatch", "transfer", "redispatch", "uphold_dispute"})
STEP_KINDS = (*CLOCK_STARTS, "reopen", "accept", "return", "reply", "call_back")
BATCH = 2_000
# A case still open when judged is censored: its handling lasted at least so long. Open for
# longer than STUCK, it counts as a handling that never ends (the simulation's copy stays open
# too); a shorter open case is left out of the pool — it would have finished like the
# finished cases of its kind did.
NEVER = math.inf
STUCK = 30 * 86_400.0


@dataclass(slots=True)
class Trace:
    """One request of the period, as the simulation needs it."""

    id: int
    received: float  # UTC seconds
    category: str | None  # code
    category_path: str | None
    category_name: str
    area: str | None
    area_path: str | None
    channel: str
    urgency: str
    unit: str | None  # the unit that finally held it: the right one for this case
    first_unit: str | None  # where it went first (a return follows when that was wrong)
    returns: int
    reopens: int
    # The deadline rule: a limit counted from each clock start (native) or the fixed time the
    # source system gave (imported), or neither.
    limit: TimeLimit | None
    offset: float | None
    judge_at: float  # when an open case is judged (now, or the export's snapshot)
    imported: bool = False  # its deadline is the source system's (or none), never ours
    text: str = ""


@dataclass
class Pools:
    """Recorded durations (seconds), by the key they depend on."""

    dispatch: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    accept: dict[tuple[str, str | None], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Handling as (duration, time the unit had for it: deadline − start, or NEVER).
    handling: dict[tuple[str, str | None], list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    returned: list[float] = field(default_factory=list)
    redispatch: list[float] = field(default_factory=list)
    call_back: list[float] = field(default_factory=list)
    reopen_delay: list[float] = field(default_factory=list)
    called_back: Counter[str] = field(default_factory=Counter)
    reopened: Counter[str] = field(default_factory=Counter)
    # (start, end) of every recorded handling, per unit: how many cases it held at once.
    spells: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class History:
    window: Window
    traces: list[Trace]
    pools: Pools
    capacity: dict[str, int]  # unit → most cases in hand at once in the period
    unit_names: dict[str, str]


def _ts(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt is not None else None


def peak_in_hand(spells: list[tuple[float, float]]) -> int:
    """The most intervals open at the same moment (an end before a start at a tie)."""
    marks = sorted([(s, 1) for s, _ in spells] + [(e, -1) for _, e in spells])
    best = now = 0
    for _, step in marks:
        now += step
        best = max(best, now)
    return best


def load_history(
    session: Session,
    window: Window,
    *,
    with_text: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> History:
    r = ServiceRequest
    lead, cat, area = aliased(HandlingUnit), aliased(Category), aliased(Area)
    cols = [
        r.id,
        r.received_at,
        cat.code,
        cat.path,
        cat.name,
        area.code,
        area.path,
        r.channel,
        r.urgency,
        lead.code,
        r.dispatched_at,
        r.replied_at,
        r.closed_at,
        r.handling_due,
        r.return_count,
        r.reopen_count,
        r.source_key,
    ]
    if with_text:
        cols += [r.title, r.text]
    stmt = (
        select(*cols)
        .outerjoin(lead, lead.id == r.lead_unit_id)
        .outerjoin(cat, cat.id == r.category_id)
        .outerjoin(area, area.id == r.area_id)
        .where(
            r.received_at >= window.start,
            r.received_at < window.end,
            r.status.not_in(NOT_SCORED),
            r.duplicate_of_id.is_(None),
            (r.lead_unit_id.is_not(None)) | (r.handling_due.is_not(None)),
        )
        .order_by(r.id)
        .execution_options(yield_per=BATCH)
    )
    snapshots = {k: v.timestamp() for k, v in import_snapshots(session).items()}
    as_of = window.as_of.timestamp()
    pools = Pools()
    traces: list[Trace] = []
    imported: dict[int, tuple[float | None, float | None, float]] = {}
    for result_row in session.execute(stmt):
        row: tuple[Any, ...] = tuple(result_row)
        (
            rid,
            received,
            code,
            cpath,
            cname,
            acode,
            apath,
            channel,
            urgency,
            unit,
            dispatched,
            replied,
            closed,
            due,
            returns,
            reopens,
            key,
        ) = row[:17]
        judge = as_of
        offset = None
        if key and key.startswith(IMPORT_PREFIX):
            mapping = key[len(IMPORT_PREFIX) :].split(":", 1)[0]
            judge = min(as_of, snapshots.get(mapping, as_of))
            start = _ts(dispatched) or received.timestamp()
            offset = due.timestamp() - start if due is not None else None
            imported[rid] = (_ts(dispatched), _ts(replied or closed), judge)
        text = f"{row[17]}\n{row[18]}" if with_text else ""
        traces.append(
            Trace(
                rid,
                received.timestamp(),
                code,
                cpath,
                cname or "",
                acode,
                apath,
                channel,
                urgency,
                unit,
                unit,
                returns or 0,
                reopens or 0,
                None,
                offset,
                judge,
                rid in imported,
                text,
            )
        )
        if progress and len(traces) % 10_000 == 0:
            progress("read requests", len(traces))
    by_id = {t.id: t for t in traces}
    _native_steps(session, window, by_id, pools, progress)
    for rid, (dispatched_s, done_s, judge) in imported.items():
        t = by_id[rid]
        if t.unit is None:
            continue
        start = dispatched_s if dispatched_s is not None else t.received
        pools.dispatch[t.channel].append(max(0.0, start - t.received))
        pools.accept[(t.unit, t.category)].append(0.0)
        if done_s is not None and done_s <= judge:
            left = t.offset if t.offset is not None else NEVER
            pools.handling[(t.unit, t.category)].append((max(0.0, done_s - start), left))
            pools.spells[t.unit].append((start, done_s))
        else:
            _censored(pools, t, start, judge)
    capacity = {u: max(1, peak_in_hand(s)) for u, s in pools.spells.items()}
    names = {c: n for c, n in session.execute(select(HandlingUnit.code, HandlingUnit.name))}
    return History(window, traces, pools, capacity, names)


def _native_steps(
    session: Session,
    window: Window,
    by_id: dict[int, Trace],
    pools: Pools,
    progress: Callable[[str, int], None] | None,
) -> None:
    """Walk the step events of the period's requests: every duration into its pool, the
    first unit and the recorded limit onto the trace."""
    e, r = Event, ServiceRequest
    stmt = (
        select(e.request_id, e.kind, e.at, e.payload)
        .join(r, r.id == e.request_id)
        .where(
            r.received_at >= window.start,
            r.received_at < window.end,
            e.kind.in_(STEP_KINDS),
        )
        .order_by(e.request_id, e.seq)
        .execution_options(yield_per=BATCH)
    )
    current: Trace | None = None
    unit: str | None = None
    clock = accepted = replied = returned = called = None
    due: float | None = None
    seen = 0
    for rid, kind, at, payload in session.execute(stmt):
        t = by_id.get(rid)
        if t is None:
            continue
        s = at.replace(tzinfo=UTC).timestamp() if at.tzinfo is None else at.timestamp()
        if t is not current:
            current, unit = t, None
            clock = accepted = replied = returned = called = due = None
            seen += 1
            if progress and seen % 10_000 == 0:
                progress("read steps", seen)
        key_cat = t.category
        if kind in CLOCK_STARTS:
            unit = payload.get("unit") or unit
            if clock is None:
                t.first_unit = unit
                pools.dispatch[t.channel].append(max(0.0, s - t.received))
                limit = payload.get("handling_limit")
                if limit:
                    t.limit = TimeLimit.parse(limit)
            elif returned is not None:
                pools.redispatch.append(s - returned)
            clock, returned, accepted = s, None, None
            due = _due(payload, due)
        elif kind == "return" and clock is not None:
            pools.returned.append(s - clock)
            returned = s
        elif kind == "accept" and clock is not None and unit:
            pools.accept[(unit, key_cat)].append(s - clock)
            accepted = s
        elif kind == "reply" and accepted is not None and unit:
            left = due - accepted if due is not None else NEVER
            pools.handling[(unit, key_cat)].append((s - accepted, left))
            pools.spells[unit].append((accepted, s))
            replied, accepted = s, None
        elif kind == "call_back" and replied is not None and unit:
            pools.call_back.append(s - replied)
            pools.called_back[unit] += 1
            called = s
        elif kind == "reopen" and called is not None:
            pools.reopen_delay.append(s - called)
            pools.reopened[unit or ""] += 1
            unit = payload.get("unit") or unit
            clock, called = s, None
            due = _due(payload, None)
    _open_spells(session, window, by_id, pools)


def _due(payload: dict[str, object], before: float | None) -> float | None:
    """The handling deadline a clock start set (it only moves forward, as in the workflow)."""
    text = payload.get("handling_due")
    if not isinstance(text, str):
        return before
    due = datetime.fromisoformat(text).timestamp()
    return due if before is None else max(due, before)


def _censored(pools: Pools, t: Trace, start: float, judge: float) -> None:
    assert t.unit is not None
    pools.spells[t.unit].append((start, judge))
    if judge - start >= STUCK:
        left = t.offset if t.offset is not None else NEVER
        pools.handling[(t.unit, t.category)].append((NEVER, left))


def _open_spells(session: Session, window: Window, by_id: dict[int, Trace], pools: Pools) -> None:
    """Native cases accepted and not yet replied: in hand until they are judged."""
    r = ServiceRequest
    lead = aliased(HandlingUnit)
    rows = session.execute(
        select(r.id, r.accepted_at, lead.code)
        .join(lead, lead.id == r.lead_unit_id)
        .where(
            r.received_at >= window.start,
            r.received_at < window.end,
            r.accepted_at.is_not(None),
            r.replied_at.is_(None),
        )
    ).all()
    for rid, accepted, _unit in rows:
        t = by_id.get(rid)
        if t is None or t.offset is not None or t.unit is None or accepted is None:
            continue
        _censored(pools, t, accepted.timestamp(), t.judge_at)
