"""The audit of dispatch: the engine's automatic decisions (catalogue rules, the learned router,
the district fallback) and, when one is active, the learned router itself.

Truth is the unit that finally replied to the request; a decision is overridden when people
moved the case away from the unit the machine chose (returned, transferred, re-dispatched or
disputed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.algoaudit.groups import Judged, summarise
from jiesu.algoaudit.labels import group_keys, labellers
from jiesu.algoaudit.records import CHUNK, Names, Row
from jiesu.city.models import HandlingUnit
from jiesu.dispatch.learning import active_router
from jiesu.dispatch.models import Assignment
from jiesu.dispatch.router import RouteExample
from jiesu.nlp.tables import ClassifierVersion

AUTOMATIC = ("rule", "model", "fallback")
MOVED = ("returned", "transferred", "redispatched", "disputed")
MIN_OUT_OF_SAMPLE = 50
BATCH = 500


def _first_assignments(session: Session, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    out: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(
                Assignment.request_id,
                Assignment.id,
                HandlingUnit.code,
                Assignment.source,
                Assignment.confidence,
                Assignment.outcome,
            )
            .join(HandlingUnit, HandlingUnit.id == Assignment.unit_id)
            .where(Assignment.request_id.in_(ids[i : i + CHUNK]))
            .order_by(Assignment.request_id, Assignment.started_at, Assignment.id)
        ).all()
        for rid, _aid, unit, source, confidence, outcome in rows:
            out.setdefault(rid, (unit, source, confidence, outcome))
    return out


def engine(session: Session, rows: Sequence[Row], names: Names) -> dict[str, Any]:
    firsts = _first_assignments(session, [r.id for r in rows])
    judged, automatic, moved = [], 0, 0
    by_source: dict[str, list[int]] = {}
    for r in rows:
        first = firsts.get(r.id)
        if first is None or first[1] not in AUTOMATIC:
            continue
        unit, source, confidence, outcome = first
        automatic += 1
        moved += outcome in MOVED
        counts = by_source.setdefault(source, [0, 0])
        counts[1] += 1
        if r.replied and r.lead_unit:
            ok = unit == r.lead_unit
            counts[0] += ok
            judged.append(Judged(ok, confidence, group_keys(r)))
    out = summarise(judged, labellers(names))
    out.update(
        truth="the unit that finally replied (requests with a reply)",
        by_source={s: {"n": n, "agree": k} for s, (k, n) in sorted(by_source.items())},
        overrides={
            "automatic": automatic,
            "corrected_by_people": moved,
            "share": round(moved / automatic, 4) if automatic else None,
        },
    )
    return out


def router(session: Session, rows: Sequence[Row], names: Names) -> dict[str, Any] | None:
    model = active_router(session)
    if model is None:
        return None
    row = session.scalar(
        select(ClassifierVersion).where(
            ClassifierVersion.kind == "unit", ClassifierVersion.active.is_(True)
        )
    )
    answered = [r for r in rows if r.replied and r.lead_unit]
    in_sample = True
    if row is not None:
        after = [r for r in answered if r.received_at > row.trained_at]
        if len(after) >= MIN_OUT_OF_SAMPLE:
            answered, in_sample = after, False
    judged = []
    for i in range(0, len(answered), BATCH):
        part = answered[i : i + BATCH]
        examples = [
            RouteExample(f"{r.title}\n{r.text}", _path(r.category_path), _area_path(r, names))
            for r in part
        ]
        for r, top in zip(part, model.predict_top(examples, k=1), strict=True):
            unit, p = top[0] if top else (None, None)
            judged.append(Judged(unit == r.lead_unit, p, group_keys(r)))
    out = summarise(judged, labellers(names))
    out.update(
        model={
            "version": row.version if row else None,
            "trained_at": row.trained_at.isoformat() if row else None,
        },
        truth="the unit that finally replied",
        in_sample=in_sample,
    )
    return out


def _path(stored: str | None) -> str | None:
    return "/".join(p for p in stored.split("/") if p) if stored else None


def _area_path(r: Row, names: Names) -> str | None:
    return None if r.area is None else _path(names.area_paths.get(r.area))
