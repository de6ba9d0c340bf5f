"""Which declared event a new request belongs to: pure, so intake, the operator desk's script
and the tests share one rule.

A request matches an event when it was received inside the event's span, its area lies in one
of the event's areas, and it names one of the event's keywords or is of one of its categories
(a category matches its whole subtree). When several events match, the one over the smallest
area that holds the request wins, then the latest declared: the narrower, newer declaration
knows more about this place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Trigger:
    """What matching needs to know about one event."""

    event_id: int
    name: str
    declared_at: datetime
    starts_at: datetime
    ends_at: datetime
    keywords: tuple[str, ...]
    categories: tuple[str, ...]
    # Declared area code → the id of its master case.
    areas: Mapping[str, int]
    script: str = ""


@dataclass(frozen=True)
class Match:
    trigger: Trigger
    area: str  # the declared area that holds the request
    depth: int  # how deep that area lies in the tree (deeper = narrower)
    reasons: tuple[str, ...]

    @property
    def case_id(self) -> int:
        return self.trigger.areas[self.area]


def match(
    trigger: Trigger,
    *,
    text: str,
    category_path: tuple[str, ...],
    area_path: tuple[str, ...],
    at: datetime,
) -> Match | None:
    """The match of one request against one event, or None."""
    if not trigger.starts_at <= at < trigger.ends_at:
        return None
    inside = [(depth, code) for depth, code in enumerate(area_path) if code in trigger.areas]
    if not inside:
        return None
    depth, area = max(inside)
    lowered = text.lower()
    words = [k for k in trigger.keywords if k.lower() in lowered]
    cats = [c for c in trigger.categories if c in category_path]
    if not words and not cats:
        return None
    reasons = [f"area {area}"]
    if cats:
        reasons.append("category " + ", ".join(cats))
    if words:
        reasons.append("keyword " + ", ".join(words))
    return Match(trigger, area, depth, tuple(reasons))


def best(matches: Iterable[Match]) -> Match | None:
    """The one event a request attaches to among several that match."""
    ranked = sorted(
        matches, key=lambda m: (m.depth, m.trigger.declared_at, m.trigger.event_id), reverse=True
    )
    return ranked[0] if ranked else None
