"""Shapes of the reports, shared by the API (response models), the CLI (--json) and exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from jiesu.rates.ontime import OnTimeTally
from jiesu.rates.periods import Period
from jiesu.rates.tally import Tally

RATE_DIGITS = 6
SCORE_DIGITS = 2


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class PeriodOut(BaseModel):
    label: str
    first: date
    last: date
    start: datetime = Field(description="first instant, UTC (local midnight of the first day)")
    end: datetime = Field(description="end instant, UTC, exclusive")

    @classmethod
    def of(cls, p: Period, start: datetime, end: datetime) -> PeriodOut:
        return cls(label=p.label, first=p.first, last=p.last, start=start, end=end)


class RateFigures(BaseModel):
    response: float | None = Field(description="responded in time / response deadlines judged")
    resolution: float | None = Field(description="points for 'solved?' / call-backs answered")
    satisfaction: float | None = Field(description="points for 'satisfied?' / answers")
    score: float | None = Field(description="composite 0–100; null when a weighted rate is")
    reopen_rate: float | None = Field(description="assessed requests reopened at least once")

    @classmethod
    def of(cls, t: Tally, score: float | None) -> RateFigures:
        rates = t.rates()
        return cls(
            response=_round(rates["response"], RATE_DIGITS),
            resolution=_round(rates["resolution"], RATE_DIGITS),
            satisfaction=_round(rates["satisfaction"], RATE_DIGITS),
            score=_round(score, SCORE_DIGITS),
            reopen_rate=_round(t.reopen_rate, RATE_DIGITS),
        )


class OnTimeFigures(BaseModel):
    n: int = Field(description="requests received in the period (with a unit or a target)")
    on_time: int
    no_target: int
    done_on_time: int
    done_late: int
    open_overdue: int
    open_not_due: int
    share: float | None = Field(description="on time / n (the city's OnTime_Status share)")
    closed_share: float | None = Field(description="done on time / done with a target")

    @classmethod
    def of(cls, t: OnTimeTally) -> OnTimeFigures:
        return cls(
            **t.counts(),
            share=_round(t.share, RATE_DIGITS),
            closed_share=_round(t.closed_share, RATE_DIGITS),
        )


class RateRow(BaseModel):
    code: str
    name: str
    kind: str = Field(description="unit kind, area level or category level")
    parent: str | None = None
    counts: dict[str, int]
    rates: RateFigures
    ontime: OnTimeFigures | None = None
    assisted: int | None = Field(
        None, description="units: assessed requests the unit assisted on (not in its rates)"
    )


class RatesReport(BaseModel):
    by: str
    level: str | None
    period: PeriodOut
    as_of: datetime
    filters: dict[str, str | None]
    definitions: dict[str, Any]
    basis: dict[str, str]
    import_snapshots: dict[str, datetime] = Field(
        default_factory=dict, description="as-of used for open imported requests, per mapping"
    )
    total: RateRow
    rows: list[RateRow]


class Drag(BaseModel):
    code: str
    name: str
    points: float = Field(description="this category's share of the gap to the reference, points")


class RankedUnit(BaseModel):
    rank: int | None = Field(description="null: not ranked (see unranked_reason)")
    code: str
    name: str
    parent: str | None = None
    counts: dict[str, int]
    rates: RateFigures
    previous_rank: int | None
    rank_change: int | None = Field(description="places gained since the previous period")
    previous_score: float | None
    score_change: float | None
    unranked_reason: str | None = None
    drags: list[Drag] = Field(default_factory=list)
    signals: list[Signal] = Field(default_factory=list)


class Signal(BaseModel):
    code: str
    message: str
    value: float | None = None
    cases: int = 0


class FocusArea(BaseModel):
    code: str
    name: str
    level: str
    counts: dict[str, int]
    rates: RateFigures


class Ranking(BaseModel):
    kind: str
    period: PeriodOut
    previous_period: PeriodOut
    as_of: datetime
    definitions: dict[str, Any]
    reference: RateFigures = Field(description="all units of the kind pooled: drags are gaps to it")
    units: list[RankedUnit]
    focus_areas: list[FocusArea]
    signals_not_available: list[str] = Field(default_factory=list)


RankedUnit.model_rebuild()
