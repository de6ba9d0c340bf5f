"""A report as files: ``report.html`` (charts drawn by the vendored ECharts beside it, so the
folder opens offline and can be mailed as it is), ``report.json`` with every number, and one
CSV per table for the people who will paste them into their own documents."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from jiesu.analytics.report import Report

ECHARTS = Path(__file__).parent.parent / "web" / "static" / "vendor" / "echarts-5.6.0.min.js"
ENV = Environment(
    loader=PackageLoader("jiesu.analytics", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(value: datetime | str | None, tz: str) -> str:
    """An instant as the city reads it: local date and minute."""
    if value is None or value == "":
        return "—"
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return str(value)
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


ENV.filters["local"] = local_time


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=_json_default, indent=1)


def _csv(path: Path, rows: list[dict[str, Any]], names: list[str]) -> None:
    # UTF-8 with a byte-order mark: spreadsheet programs on Chinese desktops read it right.
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


CSV_TABLES = {
    "trend.csv": ("trend", ["at", "n"]),
    "channels.csv": ("channels", ["channel", "n", "share"]),
    "categories.csv": ("categories", ["code", "name", "n", "previous", "change"]),
    "top_categories.csv": ("leaf_categories", ["code", "name", "n", "previous", "change"]),
    "districts.csv": ("districts", ["code", "name", "n", "previous", "change"]),
    "streets.csv": ("streets", ["code", "name", "n", "previous", "change"]),
    "emergencies.csv": (
        "emergency_items",
        ["ticket", "received_at", "category", "street", "status"],
    ),
    "warnings.csv": (
        "warnings",
        ["id", "kind", "place", "category", "reason_zh", "status", "ticket"],
    ),
    "topics.csv": ("topics", ["code", "name", "score", "n", "units", "solved_share"]),
    "ranking.csv": (
        "ranking",
        ["rank", "code", "name", "score", "response", "resolution", "satisfaction", "rank_change"],
    ),
}


def render_html(report: Report) -> str:
    data = report.as_dict()
    # Inside <script>, "</" would end the element early: a category named "</script>" stays text.
    safe_json = to_json(data).replace("</", "<\\/")
    return ENV.get_template("report.html").render(r=data, data_json=safe_json)


def write_report(report: Report, out: Path) -> list[Path]:
    """Write the report's files into ``out`` (created if needed); returns what was written."""
    out.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    written = [out / "report.html", out / "report.json"]
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    (out / "report.json").write_text(to_json(data), encoding="utf-8")
    for name, (key, cols) in CSV_TABLES.items():
        _csv(out / name, data[key], cols)
        written.append(out / name)
    shutil.copyfile(ECHARTS, out / "echarts.min.js")
    written.append(out / "echarts.min.js")
    return written
