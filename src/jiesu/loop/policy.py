"""The loop's rules in one place: attempts, windows, when a call-back reopens, priorities."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

RESOLUTIONS = ("solved", "partly", "unsolved")


@dataclass(frozen=True)
class LoopPolicy:
    # Beijing tries a caller several times before recording 联系不上; three is its common rule.
    max_attempts: int = 3
    # How long operators have to call back after the reply (the task's due time).
    callback_within: timedelta = timedelta(hours=48)
    # A private link is a bearer secret: short-lived, and good for one answer only.
    link_valid: timedelta = timedelta(days=7)
    # Automatic 重办: a verdict in these sets sends the request back to the same unit.
    auto_reopen: bool = True
    reopen_on_resolution: frozenset[str] = field(default_factory=lambda: frozenset({"unsolved"}))
    reopen_on_satisfaction: frozenset[str] = field(
        default_factory=lambda: frozenset({"unsatisfied"})
    )
    # After this many reopenings the request closes on its verdict and a supervisor decides:
    # an endless loop between caller and unit helps neither.
    max_reopens: int = 2
    # Priority signals. Sentiment is a weak signal: it raises priority, never decides anything.
    angry_below: float = -0.3
    urgent_score: float = 60.0
    weights: dict[str, int] = field(
        default_factory=lambda: {
            "base": 10,
            "angry": 20,
            "reopened": 25,
            "vulnerable": 20,
            "vulnerable_caller": 25,
            "repeat_caller": 15,
            "urgent": 15,
            "heat": 5,  # per extra caller, at most heat_cap
            "overdue": 10,
        }
    )
    heat_cap: int = 15

    def reopens(self, resolution: str | None, satisfaction: str | None, reopen_count: int) -> bool:
        if not self.auto_reopen or reopen_count >= self.max_reopens:
            return False
        return (
            resolution in self.reopen_on_resolution or satisfaction in self.reopen_on_satisfaction
        )


DEFAULT_POLICY = LoopPolicy()
