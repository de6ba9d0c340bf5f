"""A value built from one database and kept for a short while (city context, classifiers).

Such values change a few times a year but are read on every request. A change made in this
process clears the cache at once; one made elsewhere shows within the time-to-live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
_every: list[PerDatabase[Any]] = []


def forget_everything() -> None:
    """Clear every per-database cache: after a city pack load (areas, categories, gazetteer,
    understanding settings all change together) or when a database is replaced."""
    for cache in _every:
        cache.clear()


class PerDatabase(Generic[T]):
    def __init__(self, ttl_seconds: float):
        self.ttl = ttl_seconds
        self._items: dict[str, tuple[float, T]] = {}
        _every.append(self)

    def get(self, session: Session, build: Callable[[Session], T]) -> T:
        key = str(session.get_bind().engine.url)
        hit = self._items.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        value = build(session)
        self._items[key] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        self._items.clear()


class Recent(Generic[T]):
    """Answers to heavy questions, kept for ``ttl_seconds`` by the question asked (a key the
    caller builds: database, who asks, what is asked). Pages that use it say when the figures
    were computed; a week-old month's rates do not change between two clicks."""

    def __init__(self, ttl_seconds: float, max_items: int = 256):
        self.ttl, self.max_items = ttl_seconds, max_items
        self._items: dict[Any, tuple[float, T]] = {}
        _every.append(self)  # type: ignore[arg-type]

    def get(self, key: Any, build: Callable[[], T]) -> tuple[T, float]:
        """The value and how many seconds ago it was computed."""
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1], now - hit[0]
        value = build()
        if len(self._items) >= self.max_items:
            # Drop the oldest: questions asked long ago are the least likely to come back.
            del self._items[min(self._items, key=lambda k: self._items[k][0])]
        self._items[key] = (now, value)
        return value, 0.0

    def drop(self, key: Any) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
