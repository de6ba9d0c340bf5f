"""`jiesu bench intake|import`: measured throughput of the intake paths, as JSON.

Targets are checked here, never by timed assertions in tests. `bench intake` starts the real
server in its own process (so the load generator does not share its interpreter) and posts
submissions through HTTP with a fixed concurrency; `bench import` loads a file through the
same code as `jiesu import`.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import typer
from sqlalchemy import select

from jiesu.city.cli import DEMO_PACK
from jiesu.city.models import Area, Category, City
from jiesu.city.pack import read_pack
from jiesu.city.service import apply_pack
from jiesu.clikit import console, settings, unit_of_work
from jiesu.db.engine import make_engine, make_sessionmaker
from jiesu.db.migrate import upgrade
from jiesu.demo import texts
from jiesu.intake.importer.mapping import load_mapping
from jiesu.intake.importer.service import import_file
from jiesu.kit.clock import SystemClock, utcnow
from jiesu.people.models import User
from jiesu.people.service import create_user, issue_token

app = typer.Typer(help="Benchmarks (JSON results).", no_args_is_help=True)


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(n: int, seed: int) -> tuple[str, list[dict[str, Any]]]:
    """A bench operator's token and n realistic submission bodies."""
    s = settings()
    upgrade(s.db_url)
    rng = random.Random(seed)
    with unit_of_work(s) as session:
        if session.scalar(select(City)) is None:
            apply_pack(session, read_pack(DEMO_PACK), now=utcnow())
        user = session.scalar(select(User).where(User.username == "bench-operator"))
        if user is None:
            user = create_user(session, username="bench-operator", role="operator",
                               password=None, now=utcnow())  # fmt: skip
        token = issue_token(session, user, now=utcnow(), name="bench")
        leaves = session.scalars(select(Category).where(Category.level == 3)).all()
        streets = session.scalars(select(Area).where(Area.level == "street")).all()
        bodies = []
        for _ in range(n):
            leaf, street = rng.choice(leaves), rng.choice(streets)
            ref = texts.CategoryRef(
                code=leaf.code, path=(leaf.name,), keywords=tuple(leaf.keywords)
            )
            composed = texts.compose_request(rng, ref, texts.PlaceRef("", street.name, None))
            bodies.append({"text": composed.text, "title": composed.title,
                           "address": composed.address, "category": leaf.code,
                           "area": street.code})  # fmt: skip
    return token, bodies


async def _fire(
    url: str, token: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 limits=limits, timeout=60) as client:  # fmt: skip

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.post("/api/v1/requests", json=body)
                    ok = response.status_code == 201
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


@app.command("intake")
def bench_intake(
    concurrency: int = typer.Option(16, min=1, help="requests in flight at once"),
    requests: int = typer.Option(2000, min=1, help="submissions to send"),
    workers: int = typer.Option(1, min=1, help="server worker processes"),
    warmup: int = typer.Option(50, min=0, help="submissions sent first and not counted"),
    as_json: bool = typer.Option(False, "--json", help="print only the JSON result"),
    seed: int = typer.Option(1, help="random seed of the bodies"),
) -> None:
    """Submissions per second and latency through the HTTP API on the configured database."""
    s = settings()
    token, bodies = _prepare(warmup + requests, seed)
    port = _free_port()
    env = {**os.environ, "JIESU_LOG_LEVEL": "WARNING", "JIESU_DATA_DIR": str(s.data_dir)}
    if s.database_url:
        env["JIESU_DATABASE_URL"] = s.database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "jiesu.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to 30 s for start-up
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise typer.Exit(2)
        if warmup:
            asyncio.run(_fire(url, token, bodies[:warmup], concurrency))
        latencies, errors, elapsed = asyncio.run(_fire(url, token, bodies[warmup:], concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "benchmark": "intake",
        "database": s.db_url.split(":", 1)[0],
        "requests": requests,
        "concurrency": concurrency,
        "server_workers": workers,
        "seconds": round(elapsed, 2),
        "submissions_per_s": round(requests / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 50), 1),
        "p90_ms": round(_percentile(latencies, 90), 1),
        "p99_ms": round(_percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "errors": errors,
        "machine": _machine(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _report(result, as_json)


@app.command("import")
def bench_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    mapping: str = typer.Option(..., "--mapping", "-m", help="built-in mapping or YAML file"),
    as_json: bool = typer.Option(False, "--json", help="print only the JSON result"),
) -> None:
    """Rows per second of `jiesu import` on the configured database (fresh keys every run)."""
    s = settings()
    upgrade(s.db_url)
    with unit_of_work(s) as session:
        if session.scalar(select(City)) is None:
            apply_pack(session, read_pack(DEMO_PACK), now=utcnow())
    m = load_mapping(mapping)
    # A fresh mapping name per run, so the rows are new and the run measures loading, not skipping.
    m = replace(m, name=f"{m.name}-bench-{int(time.time())}")
    engine = make_engine(s.db_url)
    try:
        report = import_file(
            make_sessionmaker(engine),
            file,
            m,
            clock=SystemClock(),
            rejects_path=s.data_dir / "imports" / f"bench-{file.name}.rejects.csv",
        )
    finally:
        engine.dispose()
    result = {
        "benchmark": "import",
        "database": s.db_url.split(":", 1)[0],
        "file": file.name,
        "rows": report.read,
        "loaded": report.loaded,
        "rejected": report.rejected,
        "seconds": round(report.seconds, 2),
        "rows_per_s": round(report.rows_per_s, 1),
        "machine": _machine(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _report(result, as_json)


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    for key, value in result.items():
        if key != "machine":
            console.print(f"{key:18} {value}")
    console.print_json(json.dumps(result, ensure_ascii=False))
