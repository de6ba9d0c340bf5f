"""The learned router from the city's own history, versioned beside the category classifiers.

Every request a unit answered is an example: (title and text, category path, area path) → the
unit that replied. ``retrain`` trains a candidate on the older 80 %, scores it and the active
router on the newest 20 % (what the next weeks look like), keeps the candidate only if it is
at least as good, and then fits it on everything. Versions are ``classifier_versions`` rows of
kind ``unit`` with their files under ``<data dir>/models/unit/<version>``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.dispatch.directory import Directory
from jiesu.dispatch.engine import Case, Router
from jiesu.dispatch.router import RouteExample, UnitRouter
from jiesu.errors import BadInput, NotFound
from jiesu.kit.cache import PerDatabase
from jiesu.nlp.evaluate import metrics
from jiesu.nlp.registry import models_dir, new_version
from jiesu.nlp.tables import ClassifierVersion
from jiesu.workflow.models import ServiceRequest

KIND = "unit"
# Fewer answered requests than this and there is no router: the catalogue and people decide.
MIN_HISTORY = 200
HOLDOUT_SHARE = 0.2
TOLERANCE = 0.005


@dataclass
class UnitHistory:
    examples: list[RouteExample] = field(default_factory=list)
    units: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for ex, unit in zip(self.examples, self.units, strict=True):
            h.update(f"{ex.text}\x1f{ex.category}\x1f{ex.area}\x1f{unit}\x1e".encode())
        return h.hexdigest()


def answered_history(session: Session, *, include_synthetic: bool = True) -> UnitHistory:
    """Requests a unit replied to, oldest first, labelled with that unit."""
    unit = aliased(HandlingUnit)
    stmt = (
        select(ServiceRequest.title, ServiceRequest.text, Category.path, Area.path, unit.code)
        .join(unit, unit.id == ServiceRequest.lead_unit_id)
        .outerjoin(Category, Category.id == ServiceRequest.category_id)
        .outerjoin(Area, Area.id == ServiceRequest.area_id)
        .where(ServiceRequest.replied_at.is_not(None))
        .order_by(ServiceRequest.received_at, ServiceRequest.id)
    )
    if not include_synthetic:
        stmt = stmt.where(ServiceRequest.synthetic.is_(False))
    out = UnitHistory()
    current = relabelling(session)
    for title, text, cat, area, code in session.execute(stmt):
        text = f"{title or ''}\n{text or ''}"
        out.examples.append(RouteExample(text, _path(cat), _path(area)))
        out.units.append(current.get(code, code))
    return out


def relabelling(session: Session) -> dict[str, str]:
    """Unit code → today's unit, for units known by a former name: a unit whose name or code
    is another (active) unit's alias — typically one an import created for a historical name —
    counts as that unit, so renamed and merged units do not split what the router learns."""
    units = session.execute(
        select(HandlingUnit.code, HandlingUnit.name, HandlingUnit.aliases, HandlingUnit.active)
    ).all()
    alias_of: dict[str, str] = {}
    for code, _name, aliases, active in units:
        if active:
            for alias in aliases or []:
                alias_of.setdefault(alias, code)
    return {
        code: alias_of.get(name) or alias_of[code]
        for code, name, _aliases, _active in units
        if (name in alias_of or code in alias_of) and (alias_of.get(name) or alias_of[code]) != code
    }


def _path(stored: str | None) -> str | None:
    """A materialised path ("01/0102/010216/") as the router reads it ("01/0102/010216")."""
    return stored.strip("/") or None if stored else None


def retrain(
    session: Session,
    *,
    data_dir: Path,
    now: datetime,
    activate: str = "if-better",
    actor: str = "",
    include_synthetic: bool = True,
    progress: Callable[[str], None] | None = None,
    min_history: int = MIN_HISTORY,
) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    if activate not in ("if-better", "always", "never"):
        raise BadInput("activate", "use if-better, always or never")
    hist = answered_history(session, include_synthetic=include_synthetic)
    n = len(hist.units)
    if n < min_history:
        raise BadInput(
            "history",
            f"only {n} answered requests; the router needs at least {min_history} to learn from",
        )
    cut = int(n * (1 - HOLDOUT_SHARE))
    say(f"{n} answered requests: training on the oldest {cut}, scoring on the newest {n - cut}")
    candidate = UnitRouter().fit(hist.examples[:cut], hist.units[:cut], progress=say)
    test_x, test_y = hist.examples[cut:], hist.units[cut:]
    score = _score(candidate, test_x, test_y)
    current = active_router(session)
    before = _score(current, test_x, test_y) if current is not None else None
    better = before is None or score["top1_accuracy"] >= before["top1_accuracy"] - TOLERANCE
    say(f"fitting on all {n} requests")
    final = UnitRouter().fit(hist.examples, hist.units, progress=say)
    final.metadata["data_sha256"] = hist.fingerprint()
    row = _register(session, final, data_dir=data_dir, now=now, actor=actor,
                    metrics={"holdout": score, "active_on_holdout": before, "n": n})  # fmt: skip
    activated = activate == "always" or (activate == "if-better" and better)
    if activated:
        activate_router(session, row.version, now=now)
    return {
        "version": row.version,
        "n": n,
        "holdout": score,
        "active_on_holdout": before,
        "activated": activated,
    }


def _score(router: UnitRouter, xs: list[RouteExample], ys: list[str]) -> dict[str, Any]:
    result = metrics(ys, router.predict_top(xs, k=3))
    return {
        "n": result["n"],
        "top1_accuracy": round(result["accuracy"], 4),
        "top3_accuracy": round(result["top3_accuracy"], 4),
        "macro_f1": round(result["macro_f1"], 4),
    }


def _register(
    session: Session,
    router: UnitRouter,
    *,
    data_dir: Path,
    now: datetime,
    actor: str,
    metrics: dict[str, Any],
) -> ClassifierVersion:
    fingerprint = str(router.metadata.get("data_sha256", ""))
    version = base = "unit-" + new_version(now, fingerprint)
    taken = set(session.scalars(select(ClassifierVersion.version)))
    i = 1
    while version in taken:
        i += 1
        version = f"{base}-{i}"
    path = models_dir(data_dir, KIND) / version
    router.save(path)
    row = ClassifierVersion(
        kind=KIND, version=version, path=str(path.resolve()), source="answered history",
        data_sha256=fingerprint, n=int(router.metadata.get("n", 0)), labels=list(router.units),
        metrics=metrics, trained_at=now, active=False, created_by=actor[:100],
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def activate_router(session: Session, version: str, *, now: datetime) -> ClassifierVersion:
    row = session.scalar(
        select(ClassifierVersion).where(
            ClassifierVersion.version == version, ClassifierVersion.kind == KIND
        )
    )
    if row is None:
        raise NotFound(f"no router version {version!r}")
    UnitRouter.load(Path(row.path))  # the files must be there before dispatch depends on them
    session.execute(
        update(ClassifierVersion)
        .where(ClassifierVersion.kind == KIND, ClassifierVersion.id != row.id)
        .values(active=False)
    )
    row.active, row.activated_at = True, now
    session.flush()
    _rows.clear()
    return row


def deactivate_router(session: Session) -> int:
    """No learned router: the catalogue and the dispatchers decide alone."""
    rows = list(
        session.scalars(
            select(ClassifierVersion).where(
                ClassifierVersion.kind == KIND, ClassifierVersion.active.is_(True)
            )
        )
    )
    for row in rows:
        row.active = False
    session.flush()
    _rows.clear()
    return len(rows)


def router_versions(session: Session) -> list[ClassifierVersion]:
    return list(
        session.scalars(
            select(ClassifierVersion)
            .where(ClassifierVersion.kind == KIND)
            .order_by(ClassifierVersion.id.desc())
        )
    )


# ---------------------------------------------------------------- the active router, cached
_rows: PerDatabase[str | None] = PerDatabase(ttl_seconds=30.0)
_loaded: dict[str, UnitRouter] = {}
_lock = threading.Lock()


def _active_path(session: Session) -> str | None:
    return session.scalar(
        select(ClassifierVersion.path).where(
            ClassifierVersion.kind == KIND, ClassifierVersion.active.is_(True)
        )
    )


def active_router(session: Session) -> UnitRouter | None:
    path = _rows.get(session, _active_path)
    if path is None:
        return None
    with _lock:
        router = _loaded.get(path)
        if router is None:
            router = UnitRouter.load(Path(path))
            _loaded.clear()  # one active router per process is enough
            _loaded[path] = router
    return router


def router_for(session: Session, d: Directory) -> Router | None:
    """The engine's view of the active router: a case → [(unit, probability)]."""
    router = active_router(session)
    if router is None:
        return None

    def route(case: Case) -> list[tuple[str, float]]:
        cat = d.category_paths.get(case.category or "")
        area = d.area_paths.get(case.area or "")
        ex = RouteExample(
            case.text, "/".join(cat) if cat else None, "/".join(area) if area else None
        )
        return router.predict_top([ex], k=3)[0]

    return route
