"""`audit models`: the dated report of every automatic decision-maker, written where a city can
publish it (``<data dir>/audits/model-audit-<date>.json`` and ``.html``)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from jiesu.algoaudit import dispatch_models, text_models
from jiesu.algoaudit.groups import ALPHA, MIN_GROUP
from jiesu.algoaudit.records import MAX_ROWS, city_names, load_rows
from jiesu.city.service import city_context
from jiesu.errors import NotFound

PREFIX = "model-audit-"
COMPONENTS = (
    ("classifier", "分类模型", "category classifier"),
    ("place", "地点识别", "place extractor"),
    ("urgency", "紧急程度评分", "urgency scorer"),
    ("dispatch", "自动派单", "automatic dispatch"),
    ("router", "学习型派单模型", "learned router"),
)


def run_audit(session: Session, *, now: datetime, limit: int = MAX_ROWS) -> dict[str, Any]:
    ctx = city_context(session)
    names = city_names(session)
    rows = load_rows(session, names, limit=limit)
    components: dict[str, Any] = {
        "classifier": text_models.classifier(session, rows, names),
        "place": text_models.place(session, rows, names),
        "urgency": text_models.urgency(rows, names),
        "dispatch": dispatch_models.engine(session, rows, names),
        "router": dispatch_models.router(session, rows, names),
    }
    flags = [
        {"component": name, **f}
        for name, c in components.items()
        if c is not None
        for f in c["flags"]
    ]
    return {
        "city": ctx.name,
        "produced_at": now.isoformat(),
        "date": now.astimezone(ctx.tz).date().isoformat(),
        "requests_read": len(rows),
        "period": {
            "from": rows[0].received_at.astimezone(ctx.tz).date().isoformat() if rows else None,
            "to": rows[-1].received_at.astimezone(ctx.tz).date().isoformat() if rows else None,
        },
        "method": {
            "min_group": MIN_GROUP,
            "alpha": ALPHA,
            "test": "a group against the rest: Fisher's exact test when a cell is under 5, "
            "else the two-proportion z test; Benjamini–Hochberg over the groups of a dimension",
            "interval": "Wilson 95 %",
            "calibration": "10 equal-width confidence bins; ECE = n-weighted |confidence − "
            "accuracy|",
            "drift": "population stability index (PSI): < 0.1 stable, 0.1–0.25 moderate, "
            "> 0.25 large",
        },
        "components": components,
        "flags": flags,
    }


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("jiesu.algoaudit", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.1f} %"
    return env


def render_html(report: dict[str, Any]) -> str:
    return _env().get_template("model_audit.html").render(r=report, components=COMPONENTS)


def audits_dir(data_dir: Path) -> Path:
    return data_dir / "audits"


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write the JSON and HTML twins, atomically (a reader never sees half a report)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{PREFIX}{report['date']}"
    paths = (stem.with_suffix(".json"), stem.with_suffix(".html"))
    for path, text in zip(
        paths,
        (json.dumps(report, ensure_ascii=False, indent=1), render_html(report)),
        strict=True,
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return paths


def latest_report(data_dir: Path) -> dict[str, Any]:
    files = sorted(audits_dir(data_dir).glob(f"{PREFIX}*.json"))
    if not files:
        raise NotFound("no model audit has been produced yet: run `jiesu audit models`")
    data: dict[str, Any] = json.loads(files[-1].read_text(encoding="utf-8"))
    return data
