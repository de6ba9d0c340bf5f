"""Open311 rate limits: each client system (by api_key) gets its own budget of calls per
minute, and anonymous readers one per address, so a runaway integration or a scraper slows
down alone instead of slowing the city's intake for everyone.

A token bucket per client: it holds up to a minute's worth of calls (a client may burst) and
refills continuously. Kept in the process: with N server processes a client can reach N times
its limit, which is still a bound; docs/security.md says so.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from jiesu.intake.open311.errors import Open311Error

# Addresses seen by a busy public server are many: the least recently seen are forgotten
# first (a forgotten client simply starts again with a full bucket).
MAX_CLIENTS = 100_000


class RateLimited(Open311Error):
    def __init__(self, retry_after: int, who: str) -> None:
        super().__init__(
            429, (429, f"too many requests for {who}: retry after {retry_after} second(s)")
        )
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, per_minute: int) -> float | None:
        """Spend one call of ``client``'s budget; None if allowed, else seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(client, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * per_minute / 60)
            allowed = tokens >= 1
            self._buckets[client] = (tokens - 1 if allowed else tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return None if allowed else (1 - tokens) * 60 / per_minute

    def check(self, client: str, per_minute: int, who: str) -> None:
        wait = self.take(client, per_minute)
        if wait is not None:
            raise RateLimited(max(1, math.ceil(wait)), who)
