"""The three rates and the composite from a walked month, checked against hand arithmetic.

November 2026 (see conftest.py), default definitions (weights 0.2/0.4/0.4, basically = 0.8):

Unit A (ST-110101001): R1 accepted in time, solved, satisfied, closed; R2 accepted late
(30 h > 24 h), solved, basically satisfied, closed; R3 accepted in time, unsolved and
unsatisfied, reopened, accepted in time again, unsolved and unsatisfied again, closed;
R4 accepted in time, solved, satisfied, called back but not closed yet. R8 (merged into R1)
and R9 (invalid) are not scored.
    response     = 3 in time / 4 deadlines                    = 0.75
    resolution   = (1 + 1 + 0 + 1) / 4 answers                = 0.75
    satisfaction = (1 + 0.8 + 0 + 1) / 4                      = 0.70
    score        = 100 × (0.2×0.75 + 0.4×0.75 + 0.4×0.70)     = 73.0
    reopen rate  = 1 / 4; heat = 2 (R1 with R8) + 1 + 1 + 1   = 5

Unit B (ST-110101008): R5 in time, solved, satisfied, closed (synthetic); R6 never accepted
(late once its deadline passed); R7 accepted late, unsolved, basically satisfied, closed.
    response     = 1 / 3
    resolution   = (1 + 0) / 2                                = 0.5
    satisfaction = (1 + 0.8) / 2                              = 0.9
    score        = 100 × (0.2/3 + 0.4×0.5 + 0.4×0.9)          = 62.666…
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from jiesu.rates.compute import rates_report
from jiesu.rates.definitions import DEFAULTS, parse_definitions
from jiesu.rates.population import Scope, Window, scoring_population
from jiesu.rates.query import build_query
from jiesu.rates.schemas import RateRow, RatesReport
from jiesu.workflow.models import ServiceRequest

A, B = "ST-110101001", "ST-110101008"
AS_OF = datetime(2026, 12, 5, tzinfo=UTC)
Walk = Any  # the conftest's walk fixture


def report(walk: Walk, **kw: object) -> RatesReport:
    q = build_query(walk.session, as_of=AS_OF, period="2026-11", **kw)  # type: ignore[arg-type]
    return rates_report(walk.session, q)


def row(r: RatesReport, code: str) -> RateRow:
    return next(x for x in r.rows if x.code == code)


def test_rates_per_unit_match_hand_arithmetic(walk: Walk) -> None:
    r = report(walk, by="unit")
    a, b = row(r, A), row(r, B)
    assert a.counts["response_due"] == 4 and a.counts["responded_in_time"] == 3
    assert a.counts["assessed"] == 4 and a.counts["called_back"] == 4
    assert (a.counts["solved"], a.counts["unsolved"]) == (3, 1)
    assert (a.counts["satisfied"], a.counts["basically"], a.counts["unsatisfied"]) == (2, 1, 1)
    assert a.counts["reopened"] == 1 and a.counts["heat"] == 5
    assert a.rates.response == 0.75
    assert a.rates.resolution == 0.75
    assert a.rates.satisfaction == pytest.approx(0.7)
    assert a.rates.score == pytest.approx(73.0)
    assert a.rates.reopen_rate == 0.25

    assert (b.counts["response_due"], b.counts["responded_in_time"]) == (3, 1)
    assert b.counts["response_late"] == 2 and b.counts["response_pending"] == 0
    assert b.counts["assessed"] == 2 and b.counts["synthetic"] == 1
    assert b.rates.response == pytest.approx(1 / 3, abs=1e-6)
    assert b.rates.resolution == 0.5
    assert b.rates.satisfaction == pytest.approx(0.9)
    assert b.rates.score == pytest.approx(100 * (0.2 / 3 + 0.4 * 0.5 + 0.4 * 0.9), abs=0.01)

    # All units together: response 4/7, resolution 4/6, satisfaction (2.8 + 1.8) / 6.
    t = r.total
    assert t.rates.response == pytest.approx(4 / 7, abs=1e-6)
    assert t.rates.resolution == pytest.approx(4 / 6, abs=1e-6)
    assert t.rates.satisfaction == pytest.approx(4.6 / 6, abs=1e-6)


def test_by_area_and_category(walk: Walk) -> None:
    by_area = report(walk, by="area")
    assert {x.code: x.rates.score for x in by_area.rows} == {
        "110101001": pytest.approx(73.0),
        "110101008": pytest.approx(62.67, abs=0.01),
    }
    # Noise (R1, R2, R4, R5, R6): response 3/5, resolution 4/4, satisfaction 3.8/4
    #   score = 100 × (0.2×0.6 + 0.4×1 + 0.4×0.95) = 90.
    # Demolition (R3, R7): response 1/2, resolution 0/2, satisfaction 0.8/2
    #   score = 100 × (0.2×0.5 + 0 + 0.4×0.4) = 26.
    by_cat = report(walk, by="category", level="3")
    scores = {x.code: x.rates.score for x in by_cat.rows}
    assert scores == {"010101": pytest.approx(90.0), "010104": pytest.approx(26.0)}
    assert report(walk, by="category").rows[0].code == "01"  # level 1 by default


def test_definitions_change_the_numbers(walk: Walk) -> None:
    # Basically satisfied worth 0.5: unit A satisfaction = (1 + 0.5 + 0 + 1) / 4 = 0.625.
    defs = parse_definitions({"satisfaction": {"basically": 0.5}})
    assert row(report(walk, defs=defs), A).rates.satisfaction == 0.625
    # Weights 1/0/0: the score is the response rate.
    defs = parse_definitions({"weights": {"response": 1, "resolution": 0, "satisfaction": 0}})
    assert row(report(walk, defs=defs), A).rates.score == 75.0
    # Without synthetic requests unit B loses R5: response 0/2, resolution 0/1,
    # satisfaction 0.8/1, score = 100 × 0.4 × 0.8 = 32.
    b = row(report(walk, defs=replace(DEFAULTS, include_synthetic=False)), B)
    assert (b.rates.response, b.rates.resolution, b.rates.score) == (0.0, 0.0, 32.0)


def test_scope_and_period(walk: Walk) -> None:
    only_a = report(walk, unit=A)
    assert [x.code for x in only_a.rows] == [A]
    assert report(walk, kind="city_bureau").rows == []
    october = rates_report(walk.session, build_query(walk.session, as_of=AS_OF, period="2026-10"))
    assert october.rows == []


def test_pending_response_is_left_out_until_due(walk: Walk) -> None:
    # Judged one hour after dispatch, R6 is not late yet: pending, outside the rate.
    q = build_query(walk.session, as_of=walk.T0 + timedelta(hours=1), period="2026-11")
    b = row(rates_report(walk.session, q), B)
    assert b.counts["response_pending"] == 1


class Hooks:
    """What the call-back and exclusion records will provide."""

    def __init__(self, excluded: dict[int, str], unreachable: set[int]):
        self._excluded, self._unreachable = excluded, unreachable

    def excluded(self, session: Session, ids: Sequence[int]) -> Mapping[int, str]:
        return {i: r for i, r in self._excluded.items() if i in ids}

    def unreachable(self, session: Session, ids: Sequence[int]) -> set[int]:
        return self._unreachable & set(ids)


def test_hooks_exclude_requests_and_unreachable_callbacks(walk: Walk) -> None:
    s = walk.session
    ids = {
        name: s.query(ServiceRequest.id).filter_by(ticket=t).scalar()
        for name, t in walk.tickets.items()
    }
    # R3 excluded as unreasonable; R2's call-back never reached the caller.
    hooks = Hooks({ids["R3"]: "不合理诉求"}, {ids["R2"]})
    a = row(report(walk, hooks=hooks), A)
    # Left: R1, R2 (unreachable), R4. Response 2/3 (R1, R4 in time, R2 late);
    # resolution 2/2, satisfaction 2/2 (R2 is out of both denominators).
    assert a.counts["excluded"] == 1 and a.counts["unreachable"] == 1
    assert a.counts["assessed"] == 3 and a.counts["called_back"] == 2
    assert a.rates.response == pytest.approx(2 / 3, abs=1e-6)
    assert (a.rates.resolution, a.rates.satisfaction) == (1.0, 1.0)


def test_population_counts_each_request_once(walk: Walk) -> None:
    q = build_query(walk.session, as_of=AS_OF, period="2026-11")
    rows = scoring_population(walk.session, q.window, DEFAULTS, Scope())
    # R1–R7 once each; not R8 (merged into R1) nor R9 (invalid).
    assert len(rows) == len({r.id for r in rows}) == 7
    assert isinstance(q.window, Window)
