"""Recent: an answer is reused within its time-to-live, rebuilt after it or when dropped, and
the oldest question gives way when the cache is full."""

from __future__ import annotations

import time

from jiesu.kit.cache import Recent, forget_everything


def test_reused_within_the_ttl_rebuilt_after_and_when_dropped() -> None:
    calls: list[int] = []

    def build() -> int:
        calls.append(1)
        return len(calls)

    cache: Recent[int] = Recent(ttl_seconds=0.2, max_items=2)
    assert cache.get("a", build) == (1, 0.0)
    value, age = cache.get("a", build)
    assert value == 1 and 0 <= age < 0.2 and len(calls) == 1
    cache.drop("a")
    assert cache.get("a", build)[0] == 2
    time.sleep(0.25)
    assert cache.get("a", build)[0] == 3
    cache.get("b", build)
    cache.get("c", build)  # full: "a", the oldest, goes
    assert cache.get("a", build)[0] == 6
    forget_everything()
    assert cache.get("c", build)[0] == 7
