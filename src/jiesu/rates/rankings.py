"""Rankings of one kind of unit for a period: rank, change, what drags each unit down, the
areas to focus on, and gaming signals.

- **Rank**: by composite score, highest first; equal scores share a rank (1, 2, 2, 4). A unit
  with fewer than ``min_answers`` call-back answers, or without a score, is listed unranked
  with the reason, so that a handful of callers cannot put a unit first or last.
- **Change**: the same computation for the previous period of the same kind (the month before a
  month); ``rank_change`` > 0 means places gained.
- **Drags**: the categories that pull the unit's score below the *reference* — all units of
  the kind pooled. For every rate r and category c, with d the rate's denominator:

      contribution(c) = 100 × Σ_r w_r × d_r(u, c) / d_r(u) × (rate_r(u, c) − rate_r(ref))

  The contributions add up exactly to the unit's score minus the reference score, so "noise
  complaints cost 6.1 points" is a share of the real gap, not an impression.
- **Focus areas**: the N areas (street level) with the lowest scores over all requests of the
  period, whatever unit handled them — the places where people are least well served.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import HandlingUnit
from jiesu.rates.definitions import RATES, Definitions
from jiesu.rates.groups import Grouper, area_grouper, category_grouper, unit_groups
from jiesu.rates.population import NO_HOOKS, Scope, Scored, scoring_population
from jiesu.rates.query import Query
from jiesu.rates.schemas import Drag, FocusArea, PeriodOut, RankedUnit, Ranking, RateFigures
from jiesu.rates.signals import unit_signals
from jiesu.rates.tally import Tally

DEFAULT_KIND = "street_office"
DEFAULT_FOCUS = 10
DEFAULT_DRAGS = 3


def unranked_reason(t: Tally, defs: Definitions) -> str | None:
    if t.score(defs) is None:
        missing = [r for r in RATES if defs.weights[r] and t.rate(r) is None]
        return f"no {' or '.join(missing)} figures in the period"
    if t.called_back < defs.min_answers:
        return f"{t.called_back} call-back answers; ranking needs {defs.min_answers}"
    return None


def rank_scores(scores: dict[int, float]) -> dict[int, int]:
    """Competition ranks, highest score first: equal scores share a rank (1, 2, 2, 4)."""
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    ranks: dict[int, int] = {}
    for i, (uid, score) in enumerate(ordered):
        prev = ordered[i - 1] if i else None
        ranks[uid] = ranks[prev[0]] if prev and round(prev[1], 9) == round(score, 9) else i + 1
    return ranks


def _unit_tallies(rows: Iterable[Scored], units: set[int], defs: Definitions) -> dict[int, Tally]:
    out: dict[int, Tally] = defaultdict(Tally)
    for s in rows:
        if s.unit_id in units:
            out[s.unit_id].add(s, defs)
    return out


def _ranks(tallies: dict[int, Tally], defs: Definitions) -> dict[int, int]:
    scores = {
        uid: score
        for uid, t in tallies.items()
        if unranked_reason(t, defs) is None and (score := t.score(defs)) is not None
    }
    return rank_scores(scores)


def drags(
    unit: Tally, by_category: dict[int | None, Tally], ref: Tally, defs: Definitions
) -> dict[int | None, float]:
    """Each category's contribution (points) to the unit's score minus the reference's."""
    out: dict[int | None, float] = defaultdict(float)
    for r in RATES:
        weight, den, ref_rate = defs.weights[r], unit.denominator(r), ref.rate(r)
        if not weight or not den or ref_rate is None:
            continue
        for cat, t in by_category.items():
            cat_rate = t.rate(r)
            if cat_rate is not None:
                out[cat] += 100.0 * weight * (t.denominator(r) / den) * (cat_rate - ref_rate)
    return dict(out)


def _worst_drags(contrib: dict[int | None, float], cats: Grouper, n: int) -> list[Drag]:
    worst = sorted((v, k) for k, v in contrib.items() if v < 0)[:n]
    return [
        Drag(code=cats.describe(k).code, name=cats.describe(k).name, points=round(v, 2))
        for v, k in worst
    ]


def focus_areas(rows: list[Scored], defs: Definitions, areas: Grouper, n: int) -> list[FocusArea]:
    tallies: dict[int, Tally] = defaultdict(Tally)
    for s in rows:
        gid = areas.key(s)
        if gid is not None:
            tallies[gid].add(s, defs)
    eligible = [
        (score, gid)
        for gid, t in tallies.items()
        if unranked_reason(t, defs) is None and (score := t.score(defs)) is not None
    ]
    out = []
    for _, gid in sorted(eligible, key=lambda sg: (sg[0], areas.describe(sg[1]).code))[:n]:
        g, t = areas.describe(gid), tallies[gid]
        out.append(
            FocusArea(
                code=g.code,
                name=g.name,
                level=g.kind,
                counts=t.counts(),
                rates=RateFigures.of(t, t.score(defs)),
            )
        )
    return out


def ranking(
    session: Session,
    query: Query,
    *,
    kind: str = DEFAULT_KIND,
    focus: int = DEFAULT_FOCUS,
    drag_count: int = DEFAULT_DRAGS,
    only_unit: int | None = None,
) -> Ranking:
    """The ranking of units of ``kind``; ``only_unit`` keeps that unit's entry alone, without
    signals (what the unit's own handler may see), after ranking among all."""
    defs = query.defs
    units = set(
        session.scalars(
            select(HandlingUnit.id).where(HandlingUnit.kind == kind, HandlingUnit.active.is_(True))
        )
    )
    # One population for the whole city: units are picked from it, and focus areas use all of it.
    scope = Scope(area_path=query.scope.area_path, category_path=query.scope.category_path)
    rows = scoring_population(session, query.window, defs, scope, query.hooks)
    info = unit_groups(session)
    # Units no longer active still answer for the period they worked in.
    units |= {s.unit_id for s in rows if s.unit_id is not None and info[s.unit_id].kind == kind}
    tallies = _unit_tallies(rows, units, defs)
    prev_query = query.for_period(query.period.previous(), session)
    prev_rows = scoring_population(session, prev_query.window, defs, scope, query.hooks)
    prev_tallies = _unit_tallies(prev_rows, units, defs)
    ranks, prev_ranks = _ranks(tallies, defs), _ranks(prev_tallies, defs)

    reference = Tally()
    for t in tallies.values():
        reference.merge(t)
    cats = category_grouper(session, defs.drag_category_level)
    by_unit_cat: dict[int, dict[int | None, Tally]] = defaultdict(lambda: defaultdict(Tally))
    rows_by_unit: dict[int, list[Scored]] = defaultdict(list)
    for s in rows:
        if s.unit_id in units:
            by_unit_cat[s.unit_id][cats.key(s)].add(s, defs)
            rows_by_unit[s.unit_id].append(s)
    signals = unit_signals(session, rows_by_unit, tallies, defs.signals)

    entries: list[RankedUnit] = []
    for uid in units:
        t, pt = tallies.get(uid) or Tally(), prev_tallies.get(uid)
        score, prev_score = t.score(defs), pt.score(defs) if pt else None
        rank, prev_rank = ranks.get(uid), prev_ranks.get(uid)
        contrib = drags(t, by_unit_cat[uid], reference, defs) if score is not None else {}
        entries.append(
            RankedUnit(
                rank=rank,
                code=info[uid].code,
                name=info[uid].name,
                parent=info[uid].parent,
                counts=t.counts(),
                rates=RateFigures.of(t, score),
                previous_rank=prev_rank,
                rank_change=prev_rank - rank if rank and prev_rank else None,
                previous_score=round(prev_score, 2) if prev_score is not None else None,
                score_change=round(score - prev_score, 2)
                if score is not None and prev_score is not None
                else None,
                unranked_reason=unranked_reason(t, defs),
                drags=_worst_drags(contrib, cats, drag_count),
                signals=signals.get(uid, []),
            )
        )
    entries.sort(key=lambda e: (e.rank is None, e.rank or 0, e.code))
    if only_unit is not None:
        # A unit sees its own standing; gaming signals are for its supervisors.
        mine = info[only_unit].code
        entries = [e.model_copy(update={"signals": []}) for e in entries if e.code == mine]
    prev_start, prev_end = prev_query.window.start, prev_query.window.end
    return Ranking(
        kind=kind,
        period=PeriodOut.of(query.period, query.window.start, query.window.end),
        previous_period=PeriodOut.of(prev_query.period, prev_start, prev_end),
        as_of=query.window.as_of,
        definitions=defs.as_dict(),
        reference=RateFigures.of(reference, reference.score(defs)),
        units=entries,
        focus_areas=[]
        if only_unit is not None
        else focus_areas(rows, defs, area_grouper(session, "street"), focus),
        signals_not_available=["unreachable_callbacks"] if query.hooks is NO_HOOKS else [],
    )
