"""One soak, start to end: a scratch installation, the real server, the load, the figures.

scratch_site → seed (city, people, history) → `jiesu serve` → open-loop load, the server
sampled every window → SIGTERM → `jiesu audit verify` → figures and verdict (stats.py)
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from jiesu.db.engine import make_engine
from jiesu.errors import BadInput
from jiesu.ops.soak.load import READS, Mix, Progress, drive, kinds_of
from jiesu.ops.soak.server import ServerProcess
from jiesu.ops.soak.site import Site, scratch_site, seed
from jiesu.ops.soak.stats import (
    MB,
    Call,
    Sample,
    error_summary,
    latency,
    percentile,
    rss_trend,
    verdict,
    windows,
)

Say = Callable[[str], None]


@dataclass(frozen=True)
class SoakPlan:
    seconds: float = 600.0
    rate: float = 50.0  # calls per second
    read_share: float = 0.7
    window: float = 10.0  # seconds between samples of the server
    warmup: float = 60.0  # seconds left out of the memory and latency trend
    history: int = 1000  # synthetic requests seeded before the load
    seed: int = 1
    db_url: str | None = None  # a PostgreSQL server; None: SQLite in a temporary folder
    keep: bool = False  # keep the scratch database and folder afterwards

    def check(self) -> None:
        """Refuse what cannot make a soak, naming the option."""
        if not self.seconds > 0:
            raise BadInput("--minutes", "must be more than 0")
        if not 0 < self.rate <= 2000:
            raise BadInput("--rate", "must be more than 0 and at most 2000 calls per second")
        if not 0 <= self.read_share <= 1:
            raise BadInput("--read-share", "must be between 0 and 1")
        if not 0 < self.window <= self.seconds:
            raise BadInput("--window", "must be more than 0 and at most the soak's length")
        if not 0 <= self.warmup < self.seconds:
            raise BadInput("--warmup", "must be at least 0 and shorter than the soak")
        if self.history < 0:
            raise BadInput("--history", "must be at least 0")


def run_soak(plan: SoakPlan, say: Say = lambda _: None) -> dict[str, Any]:
    """Run one soak and return its figures (see stats.verdict for what passes)."""
    plan.check()
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    with scratch_site(plan.db_url, keep=plan.keep) as site:
        say(f"soak: {site.backend} database, seeding the demo city and {plan.history} requests")
        t = time.monotonic()
        city = seed(site, history=plan.history, seed_value=plan.seed)
        seeded = time.monotonic() - t
        server = ServerProcess(site.env, site.data_dir.parent / "server.log")
        try:
            url = server.start()
            say(f"soak: server {url} (pid {server.pid}); {plan.rate:g} calls/s for "
                f"{plan.seconds:g} s, {plan.read_share:.0%} reads")  # fmt: skip
            mix = Mix(city, read_share=plan.read_share, secret_key=site.secret_key, seed=plan.seed)
            calls, samples = asyncio.run(_load(server, url, mix, plan, say))
        finally:
            exit_code, stop_seconds = server.stop()
        say(f"soak: server stopped (exit {exit_code}, {stop_seconds:.1f} s); audit verify")
        audit = audit_verify(site.env)
        db_mb = _database_mb(site)
        log_tail = server.log_tail() if exit_code not in (0, None) else ""
    calls.sort(key=lambda c: c.at)
    rows = windows(calls, samples, window=plan.window, duration=plan.seconds)
    rss = rss_trend(samples, warmup=plan.warmup)
    errors = error_summary(calls)
    answered = sum(c.error is None for c in calls)
    cpu = samples[-1].cpu_seconds - samples[0].cpu_seconds if len(samples) > 1 else None
    steady = [c for c in calls if c.at >= plan.warmup]
    judged = verdict(errors["total"], rows, rss, warmup=plan.warmup)
    judged["audit_verified"] = audit["exit_code"] == 0
    judged["passed"] = judged["passed"] and judged["audit_verified"]
    if not judged["audit_verified"]:
        judged["reasons"].append("jiesu audit verify failed")
    return {
        "benchmark": "soak",
        "database": site.backend,
        "at": started_at.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # The machine is shared: what else was running is part of the result.
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "plan": {k: v for k, v in asdict(plan).items() if k not in ("db_url", "keep")},
        "seeded": {"requests": city.history, "seconds": round(seeded, 1)},
        "duration_s": plan.seconds,
        "rate": {
            "asked": plan.rate,
            "sent_per_s": round(len(calls) / plan.seconds, 2),
            "answered_per_s": round(answered / plan.seconds, 2),
            "send_late_p99_ms": _round(percentile([c.late_ms for c in calls], 0.99)),
        },
        "read_share": {
            "asked": plan.read_share,
            "done": round(sum(c.kind in READS for c in calls) / len(calls), 3) if calls else None,
        },
        "calls": {"total": len(calls), "by_kind": kinds_of(calls)},
        "errors": errors,
        "latency_ms": {
            "overall": latency(calls),
            "after_warmup": latency(steady),
            "by_kind": {k: latency([c for c in calls if c.kind == k]) for k in kinds_of(calls)},
        },
        "windows": rows,
        "rss_mb": rss,
        "server": {
            "cpu_seconds": _round(cpu),
            "cpu_share": _round(cpu / plan.seconds, 2) if cpu is not None else None,
            "exit_code_after_sigterm": exit_code,
            "stop_seconds": round(stop_seconds, 1),
            "database_mb": db_mb,
            **({"log_tail": log_tail} if log_tail else {}),
        },
        "audit": audit,
        "verdict": judged,
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


async def _load(
    server: ServerProcess, url: str, mix: Mix, plan: SoakPlan, say: Say
) -> tuple[list[Call], list[Sample]]:
    """The load and, beside it, a sample of the server every window (and one at the start)."""
    calls: list[Call] = []
    samples: list[Sample] = []
    progress = Progress()
    stop = asyncio.Event()
    started = asyncio.Event()
    t0 = 0.0

    def sample() -> Sample:
        s = Sample(
            time.monotonic() - t0, server.rss_bytes(), server.cpu_seconds(), server.memory_parts()
        )
        samples.append(s)
        return s

    def on_start(at: float) -> None:
        nonlocal t0
        t0 = at
        sample()
        started.set()

    async def sampler() -> None:
        await started.wait()
        k = 1
        while k * plan.window <= plan.seconds + 1e-9:
            await asyncio.sleep(max(0.0, t0 + k * plan.window - time.monotonic()))
            code = server.exit_code()
            if code is not None:
                at = time.monotonic() - t0
                calls.append(Call("server", at, 0.0, None, f"the server exited ({code})"))
                stop.set()
                return
            s = sample()
            window = [c.ms for c in calls if (k - 1) * plan.window <= c.at < k * plan.window]
            p99 = percentile(window, 0.99)
            say(f"{s.at:6.0f} s  sent {progress.sent}  answered {progress.done}  "
                f"errors {progress.errors}  in flight {progress.in_flight}  "
                f"p99 {p99 or 0:.0f} ms  server RSS {s.rss_bytes / MB:.0f} MB")  # fmt: skip
            k += 1

    watcher = asyncio.create_task(sampler())
    await drive(url, mix, rate=plan.rate, seconds=plan.seconds, progress=progress, calls=calls,
                on_start=on_start, stop=stop)  # fmt: skip
    await watcher
    return calls, samples


def audit_verify(env: dict[str, str]) -> dict[str, Any]:
    """`jiesu audit verify` on the soak's database, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "jiesu.cli", "audit", "verify"],
        env={**env, "COLUMNS": "250"},  # its answer on one line, not wrapped at 80
        capture_output=True,
        text=True,
        timeout=900,
    )
    # The command's own answer; on failure its stderr names the first broken request.
    out = done.stdout.strip() if done.returncode == 0 else f"{done.stdout}\n{done.stderr}".strip()
    return {"exit_code": done.returncode, "output": out[-2000:]}


def _database_mb(site: Site) -> float | None:
    if site.backend == "sqlite":
        files = site.data_dir.glob("jiesu.db*")
        return round(sum(f.stat().st_size for f in files) / MB, 1)
    engine = make_engine(site.db_url)
    try:
        with engine.connect() as conn:
            size = conn.scalar(text("SELECT pg_database_size(current_database())"))
        return round(int(size or 0) / MB, 1)
    finally:
        engine.dispose()
