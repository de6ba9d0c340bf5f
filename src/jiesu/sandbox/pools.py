"""Drawing step durations from the recorded ones (the empirical distribution of each step).

Handling and acceptance depend on the unit and the category (a heating repair is not a noise
complaint); when a unit has handled fewer than MIN_SAMPLES cases of a category, the draw falls
back to that category across units, then to the unit, then to every case.

Handling also depends on the time the unit has: units pace their work to the deadline (a case
taken on a Friday with three working days left is not worked like one taken on a Monday). A
handling draw therefore takes a recorded case whose time left (deadline − start) was within
WINDOW_BAND of the simulated case's and scales its duration by the ratio of the two (at most
±25 %), so the share of the time used is what was recorded. When fewer than MIN_SAMPLES cases
had such a window — a scenario's time limit never seen in history — the duration is drawn
from the whole group unscaled: the work takes as long as it took, and the new limit decides
whether that is on time.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from jiesu.sandbox.history import NEVER, Pools

MIN_SAMPLES = 8
WINDOW_BAND = 1.25
# Reopen shares are shrunk toward the city's own: a unit with three call-backs has no share yet.
PRIOR_CALL_BACKS = 20


class Handling:
    """A group's recorded handlings, ordered by the time the unit had for each."""

    __slots__ = ("durations", "windows")

    def __init__(self, pairs: list[tuple[float, float]]):
        pairs = sorted(pairs, key=lambda p: p[1])
        self.durations = [d for d, _ in pairs]
        self.windows = [w for _, w in pairs]

    def __len__(self) -> int:
        return len(self.durations)

    def paced(self, rng: random.Random, window: float) -> float | None:
        """A duration from cases that had about this much time, scaled to it; None if too
        few had."""
        a = bisect_left(self.windows, window / WINDOW_BAND)
        b = bisect_right(self.windows, window * WINDOW_BAND)
        if b - a < MIN_SAMPLES:
            return None
        i = a + int(rng.random() * (b - a))
        return self.durations[i] * (window / self.windows[i])

    def any(self, rng: random.Random) -> float:
        return self.durations[int(rng.random() * len(self.durations))]


@dataclass
class Fitted:
    """The pools, regrouped once per replay for the fall-backs."""

    pools: Pools
    accept_by_category: dict[str | None, list[float]] = field(default_factory=dict)
    accept_by_unit: dict[str, list[float]] = field(default_factory=dict)
    handling_exact: dict[tuple[str, str | None], Handling] = field(default_factory=dict)
    handling_by_category: dict[str | None, Handling] = field(default_factory=dict)
    handling_by_unit: dict[str, Handling] = field(default_factory=dict)
    accept_all: list[float] = field(default_factory=list)
    handling_all: Handling = field(default_factory=lambda: Handling([]))
    dispatch_all: list[float] = field(default_factory=list)
    reopen_all: float = 0.0

    @classmethod
    def of(cls, pools: Pools) -> Fitted:
        f = cls(pools)
        cats: dict[str | None, list[float]] = defaultdict(list)
        units: dict[str, list[float]] = defaultdict(list)
        for (unit, cat), values in pools.accept.items():
            cats[cat] += values
            units[unit] += values
            f.accept_all += values
        f.accept_by_category.update(cats)
        f.accept_by_unit.update(units)
        hcats: dict[str | None, list[tuple[float, float]]] = defaultdict(list)
        hunits: dict[str, list[tuple[float, float]]] = defaultdict(list)
        every: list[tuple[float, float]] = []
        for (unit, cat), pairs in pools.handling.items():
            f.handling_exact[(unit, cat)] = Handling(pairs)
            hcats[cat] += pairs
            hunits[unit] += pairs
            every += pairs
        f.handling_by_category = {k: Handling(v) for k, v in hcats.items()}
        f.handling_by_unit = {k: Handling(v) for k, v in hunits.items()}
        f.handling_all = Handling(every)
        for values in pools.dispatch.values():
            f.dispatch_all += values
        called = sum(pools.called_back.values())
        f.reopen_all = sum(pools.reopened.values()) / called if called else 0.0
        return f


def _pick(rng: random.Random, values: list[float], default: float = 0.0) -> float:
    return values[int(rng.random() * len(values))] if values else default


class Draw:
    """Durations for one run, from one random stream."""

    def __init__(self, fitted: Fitted, rng: random.Random):
        self.f, self.rng = fitted, rng
        self._accept: dict[tuple[str | None, str | None], list[float]] = {}
        self._handling: dict[tuple[str | None, str | None], Handling] = {}
        self._levels_cache: dict[tuple[str | None, str | None], list[Handling]] = {}

    def _pool(
        self,
        cache: dict[tuple[str | None, str | None], Any],
        exact: dict[tuple[str, str | None], Any],
        by_cat: dict[str | None, Any],
        by_unit: dict[str, Any],
        every: Any,
        unit: str | None,
        cat: str | None,
    ) -> Any:
        key = (unit, cat)
        hit = cache.get(key)
        if hit is None:
            hit = every
            for candidate in (
                exact.get((unit, cat)) if unit else None,
                by_cat.get(cat),
                by_unit.get(unit) if unit else None,
            ):
                if candidate and len(candidate) >= MIN_SAMPLES:
                    hit = candidate
                    break
            cache[key] = hit
        return hit

    def accept(self, unit: str | None, cat: str | None) -> float:
        f = self.f
        pool = self._pool(
            self._accept,
            f.pools.accept,
            f.accept_by_category,
            f.accept_by_unit,
            f.accept_all,
            unit,
            cat,
        )
        return _pick(self.rng, pool)

    def handling(self, unit: str | None, cat: str | None, window: float | None) -> float:
        f = self.f
        if window is not None and 0 < window < NEVER:
            for pool in self._levels(unit, cat):
                paced = pool.paced(self.rng, window)
                if paced is not None:
                    return paced
        pool = self._pool(
            self._handling,
            f.handling_exact,
            f.handling_by_category,
            f.handling_by_unit,
            f.handling_all,
            unit,
            cat,
        )
        return pool.any(self.rng) if len(pool) else 86_400.0

    def _levels(self, unit: str | None, cat: str | None) -> list[Handling]:
        key = (unit, cat)
        hit = self._levels_cache.get(key)
        if hit is None:
            f = self.f
            found = [
                f.handling_exact.get((unit, cat)) if unit else None,
                f.handling_by_category.get(cat),
                f.handling_by_unit.get(unit) if unit else None,
                f.handling_all,
            ]
            hit = [h for h in found if h is not None and len(h) >= MIN_SAMPLES]
            self._levels_cache[key] = hit
        return hit

    def dispatch(self, channel: str) -> float:
        values = self.f.pools.dispatch.get(channel)
        if not values or len(values) < MIN_SAMPLES:
            values = self.f.dispatch_all
        return _pick(self.rng, values)

    def returned(self) -> float:
        return _pick(self.rng, self.f.pools.returned, 6 * 3600.0)

    def redispatch(self) -> float:
        return _pick(self.rng, self.f.pools.redispatch, 2 * 3600.0)

    def call_back(self) -> float:
        return _pick(self.rng, self.f.pools.call_back, 86_400.0)

    def reopen_delay(self) -> float:
        return _pick(self.rng, self.f.pools.reopen_delay, 3 * 3600.0)

    def reopen_share(self, unit: str | None) -> float:
        p = self.f.pools
        called = p.called_back.get(unit or "", 0)
        reopened = p.reopened.get(unit or "", 0)
        return (reopened + PRIOR_CALL_BACKS * self.f.reopen_all) / (called + PRIOR_CALL_BACKS)
