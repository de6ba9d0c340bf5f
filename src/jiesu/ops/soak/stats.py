"""The soak's figures: latency per window, the server's memory trend, and the verdict.

Pure functions over what a run recorded (every call, and the server's memory every window), so
that a 30-second test and a 10-minute run are judged by the same code, from their own data.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024
# The verdict's bounds (decision 0012): memory may grow this much after the warm-up, and the
# last window's p99 may be this many times the first window's after the warm-up.
RSS_GROWTH_LIMIT_PCT = 10.0
P99_RATIO_LIMIT = 1.5


@dataclass(frozen=True)
class Call:
    """One call of the load, as it ended."""

    kind: str
    at: float  # when it was due, seconds from the start of the load
    ms: float  # from when it was due to the end of its answer (a late send counts as wait)
    status: int | None  # None: no answer (refused connection, time-out, never sent)
    error: str | None  # why it counts as an error; None when answered as expected
    late_ms: float = 0.0  # how late the load generator sent it


@dataclass(frozen=True)
class Sample:
    """The server process at one moment."""

    at: float  # seconds from the start of the load
    rss_bytes: int
    cpu_seconds: float
    parts: dict[str, int] = field(default_factory=dict)  # RSS by kind: anon, file, shmem


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q (0–1) of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(q * len(ordered))) - 1)]


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def latency(calls: Sequence[Call]) -> dict[str, float | None]:
    """p50/p95/p99/max in ms of the calls that were answered as expected."""
    ms = [c.ms for c in calls if c.error is None]
    return {
        "p50": _r(percentile(ms, 0.50)),
        "p95": _r(percentile(ms, 0.95)),
        "p99": _r(percentile(ms, 0.99)),
        "max": _r(max(ms) if ms else None),
    }


def windows(
    calls: Sequence[Call], samples: Sequence[Sample], *, window: float, duration: float
) -> list[dict[str, Any]]:
    """One row per window of the load: calls due in it, errors, latency, the server's memory
    and CPU share at its end."""
    count = max(1, math.ceil(duration / window - 1e-9))
    buckets: list[list[Call]] = [[] for _ in range(count)]
    for c in calls:
        buckets[min(count - 1, int(c.at // window))].append(c)
    rows = []
    for i, bucket in enumerate(buckets):
        start, end = i * window, min(duration, (i + 1) * window)
        before = _sample_at(samples, start)
        after = _sample_at(samples, end)
        cpu = None
        if before is not None and after is not None and after.at > before.at:
            cpu = (after.cpu_seconds - before.cpu_seconds) / (after.at - before.at)
        rows.append(
            {
                "start_s": round(start, 1),
                "end_s": round(end, 1),
                "calls": len(bucket),
                "errors": sum(c.error is not None for c in bucket),
                **latency(bucket),
                "rss_mb": _r(after.rss_bytes / MB) if after is not None else None,
                "server_cpu": _r(cpu, 2),
            }
        )
    return rows


def _sample_at(samples: Sequence[Sample], at: float) -> Sample | None:
    """The sample taken nearest to ``at``."""
    return min(samples, key=lambda s: abs(s.at - at), default=None)


def rss_trend(samples: Sequence[Sample], *, warmup: float) -> dict[str, Any]:
    """Memory first, at the end of the warm-up, last and highest; growth after the warm-up in
    per cent of the warm-up's level, and the least-squares slope after it in MB per minute;
    by kind (anon, file, shmem) at the end of the warm-up and at the end, where known."""
    if not samples:
        return dict.fromkeys(
            ("first", "at_warmup", "last", "max", "growth_pct", "slope_mb_per_min", "parts")
        )
    after = [s for s in samples if s.at >= warmup - 1e-9]
    base = after[0] if after else samples[-1]
    last = samples[-1]
    growth = (last.rss_bytes - base.rss_bytes) / base.rss_bytes * 100 if base.rss_bytes else None
    return {
        "first": _r(samples[0].rss_bytes / MB),
        "at_warmup": _r(base.rss_bytes / MB),
        "last": _r(last.rss_bytes / MB),
        "max": _r(max(s.rss_bytes for s in samples) / MB),
        "growth_pct": _r(growth, 2),
        "slope_mb_per_min": _r(_slope([(s.at / 60, s.rss_bytes / MB) for s in after]), 3),
        "parts": {
            kind: {"at_warmup": _r(base.parts[kind] / MB), "last": _r(last.parts[kind] / MB)}
            for kind in base.parts
            if kind in last.parts
        },
    }


def _slope(points: Sequence[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / var


def error_summary(calls: Sequence[Call], examples: int = 20) -> dict[str, Any]:
    bad = [c for c in calls if c.error is not None]
    return {
        "total": len(bad),
        "by_kind": dict(sorted(Counter(c.kind for c in bad).items())),
        "examples": [
            {"kind": c.kind, "at_s": round(c.at, 2), "status": c.status, "error": c.error}
            for c in bad[:examples]
        ],
    }


def verdict(
    errors: int, rows: Sequence[dict[str, Any]], rss: dict[str, Any], *, warmup: float
) -> dict[str, Any]:
    """Zero errors; memory after the warm-up grew at most 10 %; the last window's p99 is at
    most 1.5 × the first window's after the warm-up. A criterion that the run has too little
    data for (fewer than two windows after the warm-up) is not met: it says so."""
    steady = [r for r in rows if r["start_s"] >= warmup - 1e-9]
    first, last = (steady[0], steady[-1]) if len(steady) >= 2 else (None, None)
    p99_first = first["p99"] if first else None
    p99_last = last["p99"] if last else None
    ratio = p99_last / p99_first if p99_first and p99_last is not None else None
    growth = rss["growth_pct"]
    # Not a criterion, but a run that passes with a bad minute in the middle should say so.
    worst = max((r for r in steady if r["p99"] is not None), key=lambda r: r["p99"], default=None)
    checks = {
        "zero_errors": errors == 0,
        "rss_growth_within_10pct": growth is not None and growth <= RSS_GROWTH_LIMIT_PCT,
        "p99_last_within_1_5x_first": ratio is not None and ratio <= P99_RATIO_LIMIT,
    }
    reasons = []
    if not checks["zero_errors"]:
        reasons.append(f"{errors} error(s)")
    if growth is None:
        reasons.append("no memory samples after the warm-up")
    elif not checks["rss_growth_within_10pct"]:
        reasons.append(f"memory grew {growth:.1f} % after the warm-up (limit 10 %)")
    if ratio is None:
        reasons.append("fewer than two windows with answers after the warm-up")
    elif not checks["p99_last_within_1_5x_first"]:
        reasons.append(f"last window's p99 is {ratio:.2f}× the first's (limit 1.5×)")
    return {
        **checks,
        "errors": errors,
        "rss_growth_pct": growth,
        "p99_first_window_ms": p99_first,
        "p99_last_window_ms": p99_last,
        "p99_ratio": _r(ratio, 2),
        "p99_worst_window_ms": worst["p99"] if worst else None,
        "worst_window_start_s": worst["start_s"] if worst else None,
        "windows_after_warmup": len(steady),
        "passed": all(checks.values()),
        "reasons": reasons,
    }
