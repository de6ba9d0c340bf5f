"""`jiesu bench web`: server time of every page, for every role, on the installation's data.

Each role's demo-style account signs in through the real form; then every page of its
navigation, the citizen pages and a request page are fetched `--rounds` times in process (the
ASGI app without a network in between, so the time is the server's). Any answer other than
200 counts as an error and is listed. The target is p95 ≤ 200 ms per page on the demo data.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from typing import Any

import typer
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.people.models import User
from jiesu.web.nav import STAFF_NAV
from jiesu.workflow.models import ServiceRequest

CITIZEN_PAGES = ("/", "/track", "/stats", "/login")


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q of the values at or
    below it (of 20 fetches, p95 is the 19th slowest, not the slowest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(q * len(ordered))) - 1)]


def _pages_for(role: str, ticket: str | None) -> list[str]:
    pages = [path for path, _, _, roles in STAFF_NAV if role in roles]
    if ticket and role != "handler":
        pages.append(f"/desk/requests/{ticket}")
    return pages


def _signs_in(client: TestClient, username: str, password: str) -> bool:
    r = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    return r.status_code == 303


def bench_web(
    rounds: int = typer.Option(20, "--rounds", min=1, max=10_000, help="fetches of each page"),
    password: str = typer.Option("jiesu-demo", "--password", help="password of the accounts"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Server time (p50/p95/max, ms) of each page for each role's account."""
    from jiesu.app import create_app

    s = settings()
    with unit_of_work(s) as session:
        users: dict[str, list[str]] = {}
        for u in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
            users.setdefault(u.role, []).append(u.username)
        ticket = session.scalar(
            select(ServiceRequest.ticket).order_by(ServiceRequest.id.desc()).limit(1)
        )
        n_requests = session.query(ServiceRequest).count()
    if not users:
        fail("no users here: run `jiesu demo --no-serve` or `jiesu users create` first")
    app = create_app(s, schedule=False)
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with TestClient(app) as anon:
        plans: list[tuple[str, TestClient, list[str]]] = [("public", anon, list(CITIZEN_PAGES))]
        clients = []
        for role, username in sorted(users.items()):
            if role == "citizen":
                continue
            client = TestClient(app)
            client.__enter__()
            clients.append(client)
            r = client.post(
                "/login", data={"username": username, "password": password}, follow_redirects=False
            )
            if r.status_code != 303:
                errors.append({"role": role, "page": "/login", "status": r.status_code})
                continue
            plans.append((role, client, _pages_for(role, ticket)))
        for role, client, pages in plans:
            for page in pages:
                times: list[float] = []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    resp = client.get(page, follow_redirects=False)
                    times.append((time.perf_counter() - t0) * 1000)
                    if resp.status_code != 200:
                        errors.append({"role": role, "page": page, "status": resp.status_code})
                        break
                results.append(
                    {
                        "role": role,
                        "page": page,
                        "n": len(times),
                        "p50_ms": round(statistics.median(times), 1),
                        "p95_ms": round(_pct(times, 0.95), 1),
                        "max_ms": round(max(times), 1),
                    }
                )
        for client in clients:
            client.__exit__(None, None, None)
    worst = max((r["p95_ms"] for r in results), default=0.0)
    out = {
        "bench": "web",
        "requests_in_database": n_requests,
        "rounds": rounds,
        "pages": results,
        "worst_p95_ms": worst,
        "target_p95_ms": 200,
        "errors": errors[:50],
    }
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table(title=f"web pages, {n_requests} requests, {rounds} rounds (ms)")
    for col in ("role", "page", "p50", "p95", "max"):
        table.add_column(col)
    for r in results:
        table.add_row(r["role"], r["page"], str(r["p50_ms"]), str(r["p95_ms"]), str(r["max_ms"]))
    console.print(table)
    console.print(f"worst p95 {worst} ms (target 200); errors: {len(errors)}")
    for e in errors[:20]:
        console.print(f"  {e['role']} {e['page']} → {e['status']}")
