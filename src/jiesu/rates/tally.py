"""Counts of one group of requests and the three rates and composite score made from them.

    response rate     = responded in time / response deadlines in the period (pending left out)
    resolution rate   = Σ points(answer to "solved?") / call-backs answered
    satisfaction rate = Σ points(answer to "satisfied?") / call-backs answered
    score (0–100)     = 100 × (w_response × response + w_resolution × resolution
                               + w_satisfaction × satisfaction)

Only the caller's answers at call-back count for resolution and satisfaction, never the
unit's own claim in its reply. A score needs every rate that has a weight: a unit without any
call-back answer has no score rather than a score made of its response rate alone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from jiesu.rates.definitions import RATES, Definitions
from jiesu.rates.population import Scored


def resolution_answer(solved: bool | None, resolution: str | None = None) -> str | None:
    # The call-back records a graded answer; older records (and imports) have only yes/no.
    if resolution is not None:
        return resolution
    if solved is None:
        return None
    return "solved" if solved else "unsolved"


@dataclass
class Tally:
    assessed: int = 0  # closed or called back in the period
    excluded: int = 0  # taken out of scoring (approved unreasonable requests)
    response_due: int = 0  # response deadlines in the period, pending ones included
    responded_in_time: int = 0
    response_late: int = 0
    response_pending: int = 0
    called_back: int = 0  # assessed with an answer at call-back
    unreachable: int = 0  # call-back never reached the caller
    solved: int = 0
    partly: int = 0
    unsolved: int = 0
    satisfied: int = 0
    basically: int = 0
    unsatisfied: int = 0
    resolution_points: float = 0.0
    satisfaction_points: float = 0.0
    reopened: int = 0  # assessed requests reopened at least once on the way
    heat: int = 0  # callers behind the assessed requests, merged duplicates included
    synthetic: int = 0

    def add(self, s: Scored, defs: Definitions) -> None:
        if s.excluded is not None:
            self.excluded += 1
            return
        if s.response is not None:
            self.response_due += 1
            if s.response == "in_time":
                self.responded_in_time += 1
            elif s.response == "late":
                self.response_late += 1
            else:
                self.response_pending += 1
        if not s.assessed:
            return
        self.assessed += 1
        self.heat += s.heat
        self.synthetic += int(s.synthetic)
        self.reopened += int(s.reopen_count > 0)
        if s.unreachable:
            self.unreachable += 1
            return
        answer = resolution_answer(s.solved, s.resolution)
        if answer is not None:
            self.called_back += 1
            setattr(self, answer, getattr(self, answer) + 1)
            self.resolution_points += defs.resolution[answer]
        # The workflow admits only the three answers; anything else is not an answer.
        if s.satisfaction in defs.satisfaction:
            assert s.satisfaction is not None
            setattr(self, s.satisfaction, getattr(self, s.satisfaction) + 1)
            self.satisfaction_points += defs.satisfaction[s.satisfaction]

    def merge(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    # ------------------------------------------------------------------ rates
    @property
    def response_judged(self) -> int:
        return self.responded_in_time + self.response_late

    @property
    def satisfaction_answers(self) -> int:
        return self.satisfied + self.basically + self.unsatisfied

    def denominator(self, rate: str) -> int:
        if rate == "response":
            return self.response_judged
        if rate == "resolution":
            return self.called_back
        return self.satisfaction_answers

    def numerator(self, rate: str) -> float:
        if rate == "response":
            return float(self.responded_in_time)
        if rate == "resolution":
            return self.resolution_points
        return self.satisfaction_points

    def rate(self, rate: str) -> float | None:
        den = self.denominator(rate)
        return self.numerator(rate) / den if den else None

    def rates(self) -> dict[str, float | None]:
        return {r: self.rate(r) for r in RATES}

    def score(self, defs: Definitions) -> float | None:
        total = 0.0
        for r in RATES:
            weight = defs.weights[r]
            if weight == 0:
                continue
            value = self.rate(r)
            if value is None:
                return None
            total += weight * value
        return 100.0 * total

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.assessed if self.assessed else None

    def counts(self) -> dict[str, int]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("resolution_points", "satisfaction_points")
        }
