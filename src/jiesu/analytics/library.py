"""The reports kept in the data dir (`<data dir>/reports/<kind>/<label>/`): which exist,
which are due, and producing the due ones — by the schedule inside `jiesu serve`, by
`jiesu report due`, or on demand from the reports desk. A district's (or street's) own
reports, produced on demand, are kept apart: `<data dir>/reports/areas/<code>/<kind>/<label>/`.

A report is produced once: a folder holding ``report.json`` is done. Several server processes
may run the schedule; the warehouse's lock lets one refresh at a time, and a report written
twice would be the same report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jiesu.analytics.periods import KINDS, NAMES, ReportPeriod, report_period
from jiesu.analytics.report import Report, build_report
from jiesu.analytics.report_files import write_report
from jiesu.analytics.warehouse import Warehouse
from jiesu.analytics.warnings import scan
from jiesu.city.service import city_context, find_area
from jiesu.errors import BadInput, NotFound


@dataclass(frozen=True)
class Kept:
    kind: str
    label: str
    path: Path
    generated_at: datetime | None
    total: int | None

    @property
    def name_zh(self) -> str:
        return NAMES[self.kind][0]

    @property
    def name_en(self) -> str:
        return NAMES[self.kind][1]


def reports_root(data_dir: Path) -> Path:
    return data_dir / "reports"


def area_root(data_dir: Path, area: str | None) -> Path:
    """Where the city's reports (``area`` None) or one area's are kept."""
    root = reports_root(data_dir)
    return root if area is None else root / "areas" / area


def folder(data_dir: Path, period: ReportPeriod, area: str | None = None) -> Path:
    return area_root(data_dir, area) / period.kind / period.label


def kept(data_dir: Path, area: str | None = None) -> list[Kept]:
    """Every report on disk (the city's, or one area's), newest first within each kind."""
    out: list[Kept] = []
    for kind in KINDS:
        base = area_root(data_dir, area) / kind
        if not base.is_dir():
            continue
        for d in sorted(base.iterdir(), reverse=True):
            meta = _meta(d)
            if meta is not None:
                at = _instant(meta.get("generated_at"))
                out.append(Kept(kind, d.name, d, at, meta.get("total")))
    return out


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _meta(d: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((d / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def find_kept(data_dir: Path, kind: str, label: str, area: str | None = None) -> Path:
    if kind not in KINDS:
        raise NotFound(f"no report kind {kind!r}")
    base = area_root(data_dir, area) / kind
    d = base / label
    # The label comes from a URL: never let it leave the reports folder.
    if d.resolve().parent != base.resolve() or _meta(d) is None:
        raise NotFound(f"no {kind} report {label!r}")
    return d


def due(today: date) -> list[ReportPeriod]:
    """The last complete day, week and month: what a city expects on its desk this morning."""
    return [report_period(kind, None, today=today) for kind in KINDS]


def produce(
    session: Session,
    data_dir: Path,
    period: ReportPeriod,
    *,
    now: datetime,
    refresh: bool = True,
    area: str | None = None,
) -> Report:
    """Write one report into its folder (replacing an older copy of the same period): the
    city's, or with ``area`` (a code) that area's own, every section narrowed to it."""
    tz = city_context(session).tz
    if period.first > now.astimezone(tz).date():
        raise BadInput("date", f"{period.label} is in the future")
    place = find_area(session, area) if area is not None else None
    wh = Warehouse(data_dir / "warehouse")
    if refresh:
        wh.refresh(session, now=now)
    with wh.connect(within=place.path if place is not None else None) as con:
        report = build_report(
            session,
            con,
            period,
            tz=tz,
            now=now,
            refreshed_at=wh.state().get("refreshed_at"),
            area=place,
        )
    write_report(report, folder(data_dir, period, place.code if place is not None else None))
    return report


def produce_due(session: Session, data_dir: Path, *, now: datetime) -> list[ReportPeriod]:
    """Bring the warehouse up to date (the heat map and the desks read it too), then produce
    the due reports that are not on disk yet; returns the ones produced."""
    tz = city_context(session).tz
    wh = Warehouse(data_dir / "warehouse")
    wh.refresh(session, now=now)
    # Early warnings once the day's data is complete; the scan keeps no duplicates, so running
    # it on every check of the day costs a few queries and changes nothing.
    with wh.connect() as con:
        scan(session, con, now=now)
    missing = [p for p in due(now.astimezone(tz).date()) if _meta(folder(data_dir, p)) is None]
    for period in missing:
        produce(session, data_dir, period, now=now, refresh=False)
    return missing
