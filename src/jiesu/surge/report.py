"""The event's report, produced when it ends and kept with it: JSON numbers and an HTML page.

The numbers are the dashboard's at the moment the event ended (so the report says what the
event was while it lasted), with its definition and times. Kept in the database, beside the
event, so a backup carries it and the desk and the API serve the same text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from jiesu.city.service import city_context
from jiesu.surge.dashboard import dashboard
from jiesu.surge.models import EVENT_KINDS, SurgeEvent

ENV = Environment(
    loader=PackageLoader("jiesu.surge", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at).isoformat()


def build_report(session: Session, event: SurgeEvent, *, now: datetime) -> dict[str, Any]:
    ctx = city_context(session)
    numbers = dashboard(session, event, now=now, tz=ctx.tz)
    ended = event.ended_at or now
    hours = (ended - event.starts_at).total_seconds() / 3600
    return {
        "event": {
            "id": event.id,
            "name": event.name,
            "kind": event.kind,
            "kind_name": list(EVENT_KINDS.get(event.kind, (event.kind, event.kind))),
            "areas": [{"code": c.area.code, "name": c.area.name} for c in event.cases],
            "keywords": list(event.keywords),
            "categories": list(event.categories),
            "response_limit": event.response_limit,
            "handling_limit": event.handling_limit,
            "rules": len(event.rules),
            "script": event.script,
        },
        "times": {
            "declared_at": _iso(event.declared_at),
            "declared_by": event.declared_by,
            "starts_at": _iso(event.starts_at),
            "ends_at": _iso(event.ends_at),
            "ended_at": _iso(event.ended_at),
            "ended_by": event.ended_by,
            "end_reason": event.end_reason,
            "hours": round(max(hours, 0.0), 2),
            "timezone": str(ctx.tz),
        },
        "produced_at": _iso(now),
        **{k: v for k, v in numbers.items() if k != "event"},
    }


def render_report(report: dict[str, Any]) -> str:
    return ENV.get_template("report.html").render(r=report)


def produce_report(session: Session, event: SurgeEvent, *, now: datetime) -> dict[str, Any]:
    report = build_report(session, event, now=now)
    event.report, event.report_html = report, render_report(report)
    return report
