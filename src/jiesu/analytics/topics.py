"""The monthly topic (每月一题): candidates for the one hard, common problem the city takes on
at the root next month, and the follow-up of the topics it adopted.

A candidate is a category (second level of the taxonomy, where "heating" or "property
management" live; the leaf where the taxonomy is flatter) across the city, judged on the last
six months up to the month in question. The score adds four shares, each in [0, 1]:

    score = 0.35·volume + 0.25·persistence + 0.25·unresolved + 0.15·spread

- volume: the month's requests over the largest candidate's (how common);
- persistence: the share of the six months in which it was among the top quarter of
  categories (how lasting — a one-month spike is a warning, not a topic);
- unresolved: 1 − (solved + satisfied) / 2 over the six months' answered call-backs, with
  the city's own average standing in until a category has 20 answers (how hard);
- spread: distinct lead units over the six months, over the most of any candidate (how many
  departments it takes — what no single unit fixes alone).

Weights are a default a city may change; every component is shown beside the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.models import MonthlyTopic
from jiesu.city.models import Category, HandlingUnit
from jiesu.errors import BadInput, Conflict, Forbidden, NotFound
from jiesu.people.service import Actor

WEIGHTS = {"volume": 0.35, "persistence": 0.25, "unresolved": 0.25, "spread": 0.15}
MONTHS = 6
MIN_ANSWERS = 20
TOP = 10
MIN_REQUESTS = 3  # fewer in the month: not a city's topic


@dataclass
class Candidate:
    category_id: int
    code: str
    name: str
    n: int
    per_month: list[int]
    persistence: float
    answered: int
    solved_share: float | None
    satisfied_share: float | None
    units: int
    top_units: list[tuple[str, int]]
    top_streets: list[tuple[str, int]]
    components: dict[str, float]
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "category_id": self.category_id,
            "code": self.code,
            "name": self.name,
            "n": self.n,
            "per_month": self.per_month,
            "persistence": self.persistence,
            "answered": self.answered,
            "solved_share": self.solved_share,
            "satisfied_share": self.satisfied_share,
            "units": self.units,
            "top_units": [{"name": n, "n": c} for n, c in self.top_units],
            "top_streets": [{"name": n, "n": c} for n, c in self.top_streets],
            "components": self.components,
            "score": self.score,
        }


def month_span(month: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError:
        raise BadInput("month", f"{month!r} is not a month; write YYYY-MM") from None
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def _months_back(first: date, n: int) -> list[date]:
    out = [first]
    for _ in range(n - 1):
        out.append((out[-1] - timedelta(days=1)).replace(day=1))
    return out[::-1]


def _level(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT max(level) FROM categories").fetchone()
    deepest = int(row[0] or 1) if row else 1
    return "cat2_id" if deepest >= 2 else "category_id"


def candidates(con: duckdb.DuckDBPyConnection, month: str, top: int = TOP) -> list[Candidate]:
    first, last = month_span(month)
    starts = _months_back(first, MONTHS)
    col = _level(con)
    rows = con.execute(
        f"""SELECT {col}, CAST(date_trunc('month', day) AS DATE) m, count(*) FROM requests
            WHERE day BETWEEN ? AND ? AND {col} IS NOT NULL GROUP BY ALL""",
        [starts[0], last],
    ).fetchall()
    per: dict[int, dict[date, int]] = {}
    for cid, m, n in rows:
        per.setdefault(cid, {})[m] = int(n)
    if not per:
        return []
    # Persistence: in the top quarter of categories in a month.
    top_quarter: dict[date, int] = {}
    for m in starts:
        counts = sorted((v.get(m, 0) for v in per.values()), reverse=True)
        top_quarter[m] = counts[max(0, len(counts) // 4 - 1)] if counts else 0
    outcomes = {
        cid: (int(a), int(s), int(t), int(u))
        for cid, a, s, t, u in con.execute(
            f"""SELECT {col},
                  count(*) FILTER (WHERE resolution IS NOT NULL OR solved IS NOT NULL),
                  count(*) FILTER (WHERE resolution = 'solved'
                                   OR (resolution IS NULL AND solved)),
                  count(*) FILTER (WHERE satisfaction = 'satisfied'),
                  count(DISTINCT lead_unit_id)
                FROM requests WHERE day BETWEEN ? AND ? AND {col} IS NOT NULL GROUP BY 1""",
            [starts[0], last],
        ).fetchall()
    }
    answered_all = sum(o[0] for o in outcomes.values())
    city_unresolved = (
        1
        - (sum(o[1] for o in outcomes.values()) + sum(o[2] for o in outcomes.values()))
        / (2 * answered_all)
        if answered_all
        else 0.0
    )
    eligible = [cid for cid, v in per.items() if v.get(first, 0) >= MIN_REQUESTS]
    if not eligible:
        return []
    max_n = max(per[c].get(first, 0) for c in eligible)
    max_units = max(outcomes.get(c, (0, 0, 0, 0))[3] for c in eligible) or 1
    scored = []
    for cid in eligible:
        n = per[cid].get(first, 0)
        answered, solved, satisfied, units = outcomes.get(cid, (0, 0, 0, 0))
        persistence = sum(1 for m in starts if per[cid].get(m, 0) >= max(top_quarter[m], 1)) / len(
            starts
        )
        own = 1 - (solved + satisfied) / (2 * answered) if answered else city_unresolved
        # Few answers say little: lean on the city's average until there are enough.
        w = min(answered, MIN_ANSWERS) / MIN_ANSWERS
        unresolved = w * own + (1 - w) * city_unresolved
        comp = {
            "volume": round(n / max_n, 4),
            "persistence": round(persistence, 4),
            "unresolved": round(unresolved, 4),
            "spread": round(units / max_units, 4),
        }
        score = round(100 * sum(WEIGHTS[k] * v for k, v in comp.items()), 2)
        scored.append((score, cid, n, answered, solved, satisfied, units, persistence, comp))
    scored.sort(key=lambda x: (-x[0], x[1]))
    out = []
    for score, cid, n, answered, solved, satisfied, units, persistence, comp in scored[:top]:
        code, name = con.execute(
            "SELECT code, coalesce((SELECT p.name || ' / ' FROM categories p "
            "WHERE p.id = c.parent_id), '') || c.name FROM categories c WHERE id = ?",
            [cid],
        ).fetchone() or ("?", "?")
        out.append(
            Candidate(
                category_id=cid,
                code=code,
                name=name,
                n=n,
                per_month=[per[cid].get(m, 0) for m in starts],
                persistence=round(persistence, 4),
                answered=answered,
                solved_share=round(solved / answered, 4) if answered else None,
                satisfied_share=round(satisfied / answered, 4) if answered else None,
                units=units,
                top_units=_top(con, col, cid, "units", "lead_unit_id", starts[0], last),
                top_streets=_top(con, col, cid, "areas", "street_id", first, last),
                components=comp,
                score=score,
            )
        )
    return out


def _top(
    con: duckdb.DuckDBPyConnection, col: str, cid: int, dim: str, key: str, first: date, last: date
) -> list[tuple[str, int]]:
    rows = con.execute(
        f"""SELECT d.name, count(*) FROM requests r JOIN {dim} d ON d.id = r.{key}
            WHERE r.day BETWEEN ? AND ? AND r.{col} = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5""",
        [first, last, cid],
    ).fetchall()
    return [(str(n), int(c)) for n, c in rows]


def adopt(
    session: Session,
    candidate: Candidate,
    month: str,
    *,
    actor: Actor,
    now: datetime,
    lead_unit: str | None = None,
    note: str = "",
) -> MonthlyTopic:
    if actor.role not in ("supervisor", "admin"):
        raise Forbidden("only a supervisor or an admin adopts a monthly topic")
    month_span(month)
    exists = session.scalar(
        select(MonthlyTopic).where(
            MonthlyTopic.month == month, MonthlyTopic.category_id == candidate.category_id
        )
    )
    if exists is not None:
        raise Conflict(f"{candidate.name} is already the topic of {month}")
    unit_id = None
    if lead_unit:
        unit = session.scalar(select(HandlingUnit).where(HandlingUnit.code == lead_unit))
        if unit is None:
            raise BadInput("lead_unit", f"no handling unit with code {lead_unit!r}")
        unit_id = unit.id
    topic = MonthlyTopic(
        month=month,
        category_id=candidate.category_id,
        title=candidate.name,
        score=candidate.score,
        evidence=candidate.as_dict(),
        status="adopted",
        lead_unit_id=unit_id,
        note=note.strip(),
        adopted_at=now,
        adopted_by=actor.name,
    )
    session.add(topic)
    session.flush()
    return topic


def adopted(session: Session) -> list[MonthlyTopic]:
    return list(session.scalars(select(MonthlyTopic).order_by(MonthlyTopic.month.desc())))


def get_topic(session: Session, tid: int) -> MonthlyTopic:
    t = session.get(MonthlyTopic, tid)
    if t is None:
        raise NotFound(f"no monthly topic {tid}")
    return t


def follow_up(
    con: duckdb.DuckDBPyConnection, session: Session, topic: MonthlyTopic, *, upto: date
) -> dict[str, Any]:
    """The topic's monthly volume from three months before its month until ``upto``, and the
    change of the months since against the three before (did the volume fall?)."""
    cat = session.get(Category, topic.category_id)
    col = {1: "cat1_id", 2: "cat2_id", 3: "cat3_id"}.get(cat.level if cat else 0, "category_id")
    first, _ = month_span(topic.month)
    start = _months_back(first, 4)[0]
    rows = dict(
        con.execute(
            f"""SELECT CAST(date_trunc('month', day) AS DATE), count(*) FROM requests
                WHERE day BETWEEN ? AND ? AND {col} = ? GROUP BY 1""",
            [start, upto, topic.category_id],
        ).fetchall()
    )
    months = []
    m = start
    while m <= upto:
        months.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    counts = [int(rows.get(m, 0)) for m in months]
    series = [{"month": m.strftime("%Y-%m"), "n": n} for m, n in zip(months, counts, strict=True)]
    before, after = counts[:3], counts[4:]
    base = sum(before) / len(before) if before else 0
    since = sum(after) / len(after) if after else None
    change = (since - base) / base if since is not None and base else None
    return {"series": series, "baseline": round(base, 2), "since": since, "change": change}
