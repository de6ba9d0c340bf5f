"""Outcomes by group, with intervals, so that uneven service is visible.

For the requests received in a period (from the warehouse: merged, invalid and directly
answered ones left out), per district, channel, phone-vs-online and — where the city records it
in the request's ``caller_group`` attribute (older callers, migrants …) — per caller group:

- time to reply: hours from receipt to the unit's reply (to the closing where the source system
  recorded no reply, as imported history often does), median with a bootstrap 95 % interval;
  against the rest by the Mann–Whitney U test;
- resolved: solved at call-back among the requests called back; satisfied: satisfied or
  basically satisfied among those who answered; returned (退单 at least once); reopened
  (重办 at least once); late (past the handling deadline): each a share with its Wilson 95 %
  interval, against the rest by Fisher's exact or the z test.

A group is flagged on an outcome when it does worse than the rest and the difference survives
the Benjamini–Hochberg adjustment over every group and outcome of its dimension (q < 0.05);
groups with fewer than MIN_GROUP requests are shown and never tested.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from scipy import stats as sps
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.algoaudit.labels import CHANNEL_FAMILIES
from jiesu.algoaudit.records import channel_family
from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.errors import BadInput
from jiesu.kit.stats import benjamini_hochberg, bootstrap_median, median, two_proportions, wilson
from jiesu.workflow.models import ServiceRequest

MIN_GROUP = 20
ALPHA = 0.05
MAX_SPAN_DAYS = 3 * 366
GROUP_ATTRIBUTE = "caller_group"
SHARES = {
    "resolved": "solved at call-back, of those called back",
    "satisfied": "satisfied or basically satisfied, of those who answered",
    "returned": "returned by a unit at least once (退单)",
    "reopened": "reopened at least once (重办)",
    "late": "past the handling deadline, of those dispatched",
}
# For these a higher share is worse.
WORSE_IF_HIGHER = frozenset({"returned", "reopened", "late"})
DIMENSIONS = ("district", "channel", "channel_family", "caller_group")


@dataclass
class Outcomes:
    hours: list[float] = field(default_factory=list)
    counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    n: int = 0


QUERY = """
SELECT r.id, r.channel, a.code AS district, a.name AS district_name,
       epoch(coalesce(r.replied_at, r.closed_at)) - epoch(r.received_at) AS reply_s,
       r.solved, r.satisfaction, r.return_count, r.reopen_count,
       r.handling_overdue, r.dispatched_at IS NOT NULL AS dispatched
FROM requests r LEFT JOIN areas a ON a.id = r.district_id
WHERE r.day BETWEEN ? AND ? AND r.status NOT IN ('merged', 'invalid', 'answered')
  AND r.duplicate_of_id IS NULL
"""


def check_period(first: date, last: date) -> None:
    if last < first:
        raise BadInput("to", f"{last} is before from ({first})")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise BadInput("from", f"a period of at most {MAX_SPAN_DAYS} days, please")


def _add(o: Outcomes, row: tuple[Any, ...]) -> None:
    _, _, _, _, reply_s, solved, satisfaction, returns, reopens, overdue, dispatched = row
    o.n += 1
    if reply_s is not None and reply_s >= 0:
        o.hours.append(reply_s / 3600)
    if solved is not None:
        o.counts["resolved"][0] += bool(solved)
        o.counts["resolved"][1] += 1
    if satisfaction is not None:
        o.counts["satisfied"][0] += satisfaction in ("satisfied", "basically")
        o.counts["satisfied"][1] += 1
    o.counts["returned"][0] += (returns or 0) > 0
    o.counts["returned"][1] += 1
    o.counts["reopened"][0] += (reopens or 0) > 0
    o.counts["reopened"][1] += 1
    if dispatched:
        o.counts["late"][0] += bool(overdue)
        o.counts["late"][1] += 1


def _share(k: int, n: int) -> dict[str, Any]:
    ci = wilson(k, n)
    return {
        "k": k,
        "n": n,
        "rate": round(k / n, 4) if n else None,
        "ci": [round(ci[0], 4), round(ci[1], 4)] if ci else None,
    }


def _hours(values: list[float], seed: int) -> dict[str, Any]:
    med = median(values)
    ci = bootstrap_median(values, resamples=500, seed=seed)
    return {
        "n": len(values),
        "median": round(med, 2) if med is not None else None,
        "ci": [round(ci[0], 2), round(ci[1], 2)] if ci else None,
    }


def _dimension(groups: dict[str, Outcomes], names: dict[str, str]) -> list[dict[str, Any]]:
    total = Outcomes()
    for o in groups.values():
        total.n += o.n
        total.hours += o.hours
        for outcome, (a, b) in o.counts.items():
            total.counts[outcome][0] += a
            total.counts[outcome][1] += b
    rows: list[dict[str, Any]] = []
    tests: list[tuple[dict[str, Any], str, float, bool]] = []
    for i, (key, o) in enumerate(sorted(groups.items(), key=lambda kv: -kv[1].n)):
        row: dict[str, Any] = {
            "group": key,
            "name": names.get(key, key),
            "n": o.n,
            "reply_hours": _hours(o.hours, seed=i),
        }
        for name in SHARES:
            k, n = o.counts[name]
            row[name] = _share(k, n)
        row["tests"] = {}
        if o.n >= MIN_GROUP and total.n - o.n >= MIN_GROUP:
            rest = [h for g, other in groups.items() if g != key for h in other.hours]
            if len(o.hours) >= MIN_GROUP and len(rest) >= MIN_GROUP:
                u = sps.mannwhitneyu(o.hours, rest, alternative="two-sided")
                worse = (median(o.hours) or 0) > (median(rest) or 0)
                tests.append((row, "reply_hours", float(u.pvalue), worse))
            for name in SHARES:
                k, n = o.counts[name]
                rk, rn = total.counts[name][0] - k, total.counts[name][1] - n
                if n >= MIN_GROUP and rn >= MIN_GROUP:
                    c = two_proportions(k, n, rk, rn)
                    if c is not None:
                        worse = c.difference > 0 if name in WORSE_IF_HIGHER else c.difference < 0
                        tests.append((row, name, c.p_value, worse))
        rows.append(row)
    qs = benjamini_hochberg([p for _, _, p, _ in tests])
    for (row, name, p, worse), q in zip(tests, qs, strict=True):
        row["tests"][name] = {
            "p_value": round(p, 4),
            "q_value": round(q, 4),
            "worse": worse,
            "flag": worse and q < ALPHA,
        }
    return rows


def caller_groups(pairs: list[tuple[int, Any]]) -> dict[int, str]:
    """Request id → caller group, from the ``caller_group`` attribute where it is set."""
    out = {}
    for rid, attributes in pairs:
        value = (attributes or {}).get(GROUP_ATTRIBUTE) if isinstance(attributes, dict) else None
        if isinstance(value, str) and value.strip():
            out[rid] = value.strip()[:64]
    return out


def equity(
    con: duckdb.DuckDBPyConnection, first: date, last: date, groups_of: dict[int, str]
) -> dict[str, Any]:
    check_period(first, last)
    rows = con.execute(QUERY, [first, last]).fetchall()
    by: dict[str, dict[str, Outcomes]] = {d: defaultdict(Outcomes) for d in DIMENSIONS}
    names: dict[str, dict[str, str]] = {d: {} for d in DIMENSIONS}
    names["channel_family"] = dict(CHANNEL_FAMILIES)
    for row in rows:
        rid, channel, district, district_name = row[:4]
        keys = {
            "district": district or "(none)",
            "channel": channel,
            "channel_family": channel_family(channel),
            "caller_group": groups_of.get(rid),
        }
        if district:
            names["district"][district] = district_name
        for dim, key in keys.items():
            if key is not None:
                _add(by[dim][key], row)
    dims = {d: _dimension(g, names[d]) for d, g in by.items() if g}
    flags = [
        {"dimension": d, "group": r["group"], "name": r["name"], "outcome": o, **t}
        for d, rs in dims.items()
        for r in rs
        for o, t in r["tests"].items()
        if t["flag"]
    ]
    return {
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "requests": len(rows),
        "caller_groups_recorded": bool(groups_of),
        "outcomes": {
            "reply_hours": "hours from receipt to the reply, else the closing (median)",
            **SHARES,
        },
        "method": {
            "min_group": MIN_GROUP,
            "alpha": ALPHA,
            "intervals": "Wilson 95 % for shares; bootstrap 95 % (500 resamples) for medians",
            "tests": "each group against the rest: Mann–Whitney U for reply hours, "
            "Fisher's exact (small cells) or z for shares; Benjamini–Hochberg "
            "over the dimension",
        },
        "dimensions": dims,
        "flags": flags,
    }


def recorded_groups(session: Session, first: date, last: date, tz: ZoneInfo) -> dict[int, str]:
    """Caller groups of the period's requests, read from the operational table (the warehouse
    does not copy request attributes)."""
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    r = ServiceRequest
    pairs = session.execute(
        select(r.id, r.attributes).where(r.received_at >= start, r.received_at < end)
    ).all()
    return caller_groups([(rid, attrs) for rid, attrs in pairs])


def equity_report(
    session: Session, warehouse: Warehouse, first: date, last: date
) -> dict[str, Any]:
    check_period(first, last)
    groups_of = recorded_groups(session, first, last, city_context(session).tz)
    with warehouse.connect() as con:
        out = equity(con, first, last, groups_of)
    return {"refreshed_at": warehouse.state().get("refreshed_at"), **out}
