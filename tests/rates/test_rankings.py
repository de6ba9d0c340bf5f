"""Rankings: order, change against the previous month, drags that add up, focus areas, signals.

October 2026: unit A's one request is accepted late, unsolved, unsatisfied (score 0); unit B's
is in time, solved, satisfied (score 100). So October ranks B 1st, A 2nd. November is the walk
of conftest.py: A 73.0, B 62.67 — A 1st (+1 place, +73 points), B 2nd (−1, −37.33).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jiesu.city.service import find_unit
from jiesu.nlp.shingles import NO_CORPUS
from jiesu.rates.definitions import parse_definitions
from jiesu.rates.groups import category_grouper
from jiesu.rates.population import scoring_population
from jiesu.rates.query import build_query
from jiesu.rates.rankings import drags, rank_scores, ranking
from jiesu.rates.signals import Reply, copies
from jiesu.rates.tally import Tally

A, B = "ST-110101001", "ST-110101008"
AS_OF = datetime(2026, 12, 5, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 12, 1, 30, tzinfo=UTC)  # a Monday after the National Day week
DEFS = parse_definitions({"min_answers": 1, "drag_category_level": 3})


def add_october(walk: Any) -> None:
    a = walk.new("O1", A, at=OCTOBER)
    walk.handle(
        a, accept_after=timedelta(hours=30), solved=False, satisfaction="unsatisfied", start=OCTOBER
    )
    b = walk.new("O2", B, at=OCTOBER)
    walk.handle(
        b, accept_after=timedelta(hours=1), solved=True, satisfaction="satisfied", start=OCTOBER
    )
    walk.session.commit()


def november_ranking(walk: Any, **kw: Any) -> Any:
    q = build_query(walk.session, as_of=AS_OF, period="2026-11", defs=DEFS, kind="street_office")
    return ranking(walk.session, q, **kw)


def test_rank_and_change_against_previous_month(walk: Any) -> None:
    add_october(walk)
    r = november_ranking(walk)
    assert r.previous_period.label == "2026-10"
    a, b = r.units
    assert (a.code, a.rank, a.previous_rank, a.rank_change) == (A, 1, 2, 1)
    assert (b.code, b.rank, b.previous_rank, b.rank_change) == (B, 2, 1, -1)
    assert (a.rates.score, a.previous_score, a.score_change) == (73.0, 0.0, 73.0)
    assert b.previous_score == 100.0 and b.score_change == pytest.approx(-37.33, abs=0.01)


def test_drags_add_up_to_the_gap_from_the_reference(walk: Any) -> None:
    r = november_ranking(walk)
    # Reference = both units pooled: response 4/7, resolution 4/6, satisfaction 4.6/6.
    ref_score = 100 * (0.2 * 4 / 7 + 0.4 * 4 / 6 + 0.4 * 4.6 / 6)
    assert r.reference.score == pytest.approx(ref_score, abs=0.01)
    b = next(u for u in r.units if u.code == B)
    # B's demolition case R7 (late, unsolved, basically satisfied) costs
    #   100 × [0.2 × 1/3 × (0 − 4/7) + 0.4 × 1/2 × (0 − 4/6) + 0.4 × 1/2 × (0.8 − 4.6/6)]
    #   = −16.48 points; noise adds +10.38; together 62.67 − 68.76 = −6.10.
    assert [(d.code, d.points) for d in b.drags] == [("010104", -16.48)]

    # Exactly additive, on the unrounded numbers.
    s = walk.session
    q = build_query(s, as_of=AS_OF, period="2026-11", defs=DEFS)
    cats = category_grouper(s, 3)
    unit, ref, per_cat = Tally(), Tally(), {}
    for row in scoring_population(s, q.window, DEFS):
        ref.add(row, DEFS)
        if row.unit_id is not None and row.unit_id == _unit_id(walk, B):
            unit.add(row, DEFS)
            per_cat.setdefault(cats.key(row), Tally()).add(row, DEFS)
    contributions = drags(unit, per_cat, ref, DEFS)
    gap = (unit.score(DEFS) or 0) - (ref.score(DEFS) or 0)
    assert sum(contributions.values()) == pytest.approx(gap, abs=1e-9)


def _unit_id(walk: Any, code: str) -> int:
    return find_unit(walk.session, code).id


def test_too_few_answers_are_listed_unranked(walk: Any) -> None:
    q = build_query(walk.session, as_of=AS_OF, period="2026-11", kind="street_office")
    r = ranking(walk.session, q)  # default definitions: ranking needs 10 answers
    assert [u.rank for u in r.units] == [None, None]
    assert "4 call-back answers; ranking needs 10" in (r.units[0].unranked_reason or "")


def test_focus_areas_worst_first(walk: Any) -> None:
    r = november_ranking(walk, focus=1)
    assert [a.code for a in r.focus_areas] == ["110101008"]
    # Call-back records exist now: every signal, unreachable call-backs included, is available.
    assert r.signals_not_available == []


def test_only_own_unit_keeps_rank_among_all(walk: Any) -> None:
    r = november_ranking(walk, only_unit=_unit_id(walk, B))
    assert [(u.code, u.rank) for u in r.units] == [(B, 2)]
    assert r.focus_areas == []


def test_equal_scores_share_a_rank() -> None:
    assert rank_scores({1: 90.0, 2: 80.0, 3: 80.0, 4: 70.0}) == {1: 1, 2: 2, 3: 2, 4: 4}


PROBLEMS = (
    "小区门口路灯坏了一周，晚上很黑",
    "楼下饭店油烟直排，熏得无法开窗",
    "人行道井盖缺失，老人孩子容易摔倒",
    "公园健身器材损坏，螺丝松动很危险",
)


def test_gaming_signals(walk: Any) -> None:
    """Unit B in December: four different problems, each reopened once and then 'satisfied'
    (high satisfaction, reopen rate 100 %), each answered at the last moment with the same
    three characters (late and short; the second to fourth copy the first)."""
    s = walk.session
    dec = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # Monday
    for i, problem in enumerate(PROBLEMS):
        req = walk.new(f"D{i}", B, at=dec, text=problem)
        walk.handle(
            req,
            accept_after=timedelta(hours=1),
            solved=True,
            satisfaction="satisfied",
            close=False,
            start=dec,
        )
        walk.act(req, "reopen", "op", reason="仍未解决")
        # Reply just before the handling deadline: in the last 10 % of the time allowed.
        assert req.handling_due is not None and req.dispatched_at is not None
        window = req.handling_due - req.dispatched_at
        walk.at(req.dispatched_at + timedelta(hours=1))
        walk.act(req, "accept", "h2")
        walk.at(req.dispatched_at + window * 0.95)
        walk.act(req, "reply", "h2", text="已处理。")
        walk.act(req, "call_back", "op", solved=True, satisfaction="satisfied")
        walk.act(req, "close", "op")
    s.commit()
    defs = parse_definitions({"min_answers": 1, "signals": {"min_cases": 3}})
    q = build_query(
        s,
        as_of=datetime(2027, 1, 20, tzinfo=UTC),
        period="2026-12",
        defs=defs,
        kind="street_office",
    )
    r = ranking(s, q)
    b = next(u for u in r.units if u.code == B)
    signals = {sig.code: sig for sig in b.signals}
    expected = {"high_satisfaction_high_reopen", "late_short_replies", "duplicate_replies"}
    assert set(signals) == expected
    assert (signals["late_short_replies"].cases, signals["late_short_replies"].value) == (4, 1.0)
    assert (signals["duplicate_replies"].cases, signals["duplicate_replies"].value) == (3, 0.75)
    a = next(u for u in r.units if u.code == A)
    assert a.signals == []


def test_same_answer_to_a_repeated_problem_is_no_copy() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    same = "楼下饭店每天夜里施工，噪音很大，影响休息"
    answer = "已联系施工单位，夜间22点后停止施工，城管队每晚巡查。"
    replies = [
        Reply(1, at, answer, same, None, None),
        Reply(2, at + timedelta(hours=1), answer, same, None, None),  # the same problem again
        Reply(3, at + timedelta(hours=2), answer, PROBLEMS[0], None, None),  # another one
    ]
    assert copies(replies, NO_CORPUS) == 1
