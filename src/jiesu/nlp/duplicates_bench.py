"""Speed of ``find_duplicates`` on a busy street, as JSON.

    python -m jiesu.nlp.duplicates_bench --db sqlite:///tmp/dup.db [--requests 3000]
        [--queries 200] [--mode area|point]

Fills an empty database (migrated here) with the demo city and ``--requests`` open synthetic
requests (jiesu.demo.texts) received within the last week, all in one street of four
communities — more than an average Beijing street gets in a week at 70,000 requests a day
(about 1,400), so the candidate cap is reached. Then times ``--queries`` new texts: wall
and CPU milliseconds per call. The first call, which builds the IDF statistics of the
database, is reported apart. ``--mode point`` gives the requests coordinates and no area,
so the search uses the box around the point instead of the street.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.city.pack import read_pack
from jiesu.city.service import apply_pack
from jiesu.db.engine import make_engine
from jiesu.db.migrate import upgrade
from jiesu.demo import texts
from jiesu.nlp import duplicates
from jiesu.workflow.models import ServiceRequest

DEMO_PACK = Path(__file__).parents[1] / "city" / "packs" / "demo"
STREET = "110105001"  # 建外街道 and its communities in the demo pack
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
CENTRE = (39.908, 116.450)


def _compose(rng: random.Random, leaves: list[Category], place: texts.PlaceRef) -> str:
    leaf = rng.choice(leaves)
    ref = texts.CategoryRef(leaf.code, (leaf.name,), tuple(leaf.keywords or ()))
    req = texts.compose_request(rng, ref, place)
    return f"{req.title}\n{req.text}"


def _seed(session: Session, n: int, mode: str, rng: random.Random) -> list[Category]:
    apply_pack(session, read_pack(DEMO_PACK), now=NOW)
    street = session.scalars(select(Area).where(Area.code == STREET)).one()
    areas = session.scalars(select(Area).where(Area.path.startswith(street.path))).all()
    leaves = list(session.scalars(select(Category).where(Category.level == 3)))
    for i in range(n):
        area = rng.choice(areas)
        community = area.name if area.level == "community" else None
        text = _compose(rng, leaves, texts.PlaceRef("朝阳区", street.name, community))
        title, _, body = text.partition("\n")
        point = mode == "point"
        session.add(
            ServiceRequest(
                ticket=f"BENCH-{i:07d}",
                channel="phone",
                received_at=NOW - timedelta(seconds=rng.uniform(0, 7 * 86400)),
                title=title[:200],
                text=body,
                area=None if point else area,
                lat=CENTRE[0] + rng.uniform(-0.01, 0.01) if point else None,
                lon=CENTRE[1] + rng.uniform(-0.01, 0.01) if point else None,
                urgency="general",
                status="dispatched",
                updated_at=NOW,
            )
        )
        if i % 1000 == 999:
            session.flush()
    session.commit()
    return leaves


def _query(session: Session, text: str, mode: str, rng: random.Random, path: str) -> None:
    place: dict[str, Any] = (
        {"lat": CENTRE[0] + rng.uniform(-0.01, 0.01), "lon": CENTRE[1] + rng.uniform(-0.01, 0.01)}
        if mode == "point"
        else {"area_path": path}
    )
    duplicates.find_duplicates(session, text=text, received_at=NOW, **place)


def run(url: str, n: int, queries: int, mode: str) -> dict[str, Any]:
    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(3)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(ServiceRequest)):
            raise SystemExit("error: the database already has requests; give an empty one")
        leaves = _seed(session, n, mode, rng)
        path = session.scalars(select(Area.path).where(Area.code == STREET)).one()
        place = texts.PlaceRef("朝阳区", "建外街道", None)
        started = time.perf_counter()
        _query(session, _compose(rng, leaves, place), mode, rng, path)
        cold = (time.perf_counter() - started) * 1000
        wall, cpu = [], []
        for _ in range(queries):
            text = _compose(rng, leaves, place)
            w, c = time.perf_counter(), time.process_time()
            _query(session, text, mode, rng, path)
            wall.append((time.perf_counter() - w) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    engine.dispose()

    def p(values: list[float], q: float) -> float:
        return round(sorted(values)[min(len(values) - 1, int(q * len(values)))], 1)

    return {
        "backend": url.split(":", 1)[0],
        "mode": mode,
        "requests": n,
        "queries": queries,
        "first_call_ms": round(cold, 1),
        "wall_ms": {"p50": round(statistics.median(wall), 1), "p95": p(wall, 0.95)},
        "cpu_ms": {"p50": round(statistics.median(cpu), 1), "p95": p(cpu, 0.95)},
        "max_candidates": duplicates.MAX_CANDIDATES,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="database URL of an empty database")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--mode", choices=("area", "point"), default="area")
    args = parser.parse_args(argv)
    result = run(args.db, args.requests, args.queries, args.mode)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
