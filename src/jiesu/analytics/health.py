"""City health check (城市体检): indicators per area for a month, read from the requests — how
much people ask, how urgent, how late, how often it comes back, how well it ends — each with
its change against the month before and the area's rank among its peers.

Shares are plain proportions of the month's requests (solved and satisfied: of the answered
call-backs), not the assessment's rates. The shares compare areas of any size; the count does
not (a big district asks more for being big), and requests per 10,000 residents need a
population the city pack does not carry yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from jiesu.analytics.heat import LEVELS
from jiesu.analytics.topics import month_span
from jiesu.errors import BadInput

# Indicator → (SQL over the month's rows, True when higher is worse).
INDICATORS: dict[str, tuple[str, bool]] = {
    "requests": ("count(*)", True),
    "emergency_share": ("avg(CASE WHEN urgency = 'emergency' THEN 1.0 ELSE 0.0 END)", True),
    "late_share": (
        "avg(CASE WHEN response_overdue OR handling_overdue THEN 1.0 ELSE 0.0 END)",
        True,
    ),
    "reopened_share": ("avg(CASE WHEN reopen_count > 0 THEN 1.0 ELSE 0.0 END)", True),
    "returned_share": ("avg(CASE WHEN return_count > 0 THEN 1.0 ELSE 0.0 END)", True),
    "solved_share": (
        "sum(CASE WHEN resolution = 'solved' OR (resolution IS NULL AND solved) THEN 1.0 END)"
        " / nullif(count(*) FILTER (WHERE resolution IS NOT NULL OR solved IS NOT NULL), 0)",
        False,
    ),
    "satisfied_share": (
        "sum(CASE WHEN satisfaction = 'satisfied' THEN 1.0 END)"
        " / nullif(count(*) FILTER (WHERE satisfaction IS NOT NULL), 0)",
        False,
    ),
}


@dataclass
class AreaHealth:
    code: str
    name: str
    values: dict[str, float | None]
    previous: dict[str, float | None]
    ranks: dict[str, int | None] = field(default_factory=dict)

    def change(self, key: str) -> float | None:
        now, before = self.values.get(key), self.previous.get(key)
        return None if now is None or before is None else round(now - before, 4)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "values": self.values,
            "previous": self.previous,
            "change": {k: self.change(k) for k in self.values},
            "ranks": self.ranks,
        }


def _month_values(
    con: duckdb.DuckDBPyConnection, level: str, first: date, last: date
) -> dict[str, tuple[str, dict[str, float | None]]]:
    cols = ", ".join(f"{sql} AS {name}" for name, (sql, _) in INDICATORS.items())
    rows = con.execute(
        f"""SELECT a.code, a.name, {cols} FROM requests r JOIN areas a ON a.id = r.{level}_id
            WHERE r.day BETWEEN ? AND ? GROUP BY a.code, a.name""",
        [first, last],
    ).fetchall()
    names = list(INDICATORS)
    out: dict[str, tuple[str, dict[str, float | None]]] = {}
    for code, name, *vals in rows:
        values = {
            k: None if v is None else round(float(v), 4) for k, v in zip(names, vals, strict=True)
        }
        out[code] = (name, values)
    return out


def health_check(
    con: duckdb.DuckDBPyConnection,
    month: str,
    *,
    level: str = "district",
) -> list[AreaHealth]:
    """Every area of ``level`` with requests in ``month``, worst volume first; rank 1 is the
    worst of its peers for each indicator."""
    if level not in LEVELS:
        raise BadInput("level", f"{level!r} is not an area level; use one of {', '.join(LEVELS)}")
    first, last = month_span(month)
    before_last = first - timedelta(days=1)
    now = _month_values(con, level, first, last)
    before = _month_values(con, level, before_last.replace(day=1), before_last)
    out = [
        AreaHealth(code, name, values, before.get(code, ("", {}))[1])
        for code, (name, values) in now.items()
    ]
    for key, (_, higher_is_worse) in INDICATORS.items():
        sign = 1.0 if higher_is_worse else -1.0
        known = [sign * v for a in out if (v := a.values.get(key)) is not None]
        for a in out:
            v = a.values.get(key)
            # Competition ranking: equal values share a rank; 1 is the worst.
            a.ranks[key] = None if v is None else 1 + sum(1 for k in known if k > sign * v)
    return sorted(out, key=lambda a: (-(a.values["requests"] or 0), a.code))
