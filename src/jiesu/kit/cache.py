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
