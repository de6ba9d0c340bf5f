"""Scoring a unit's reply before it stands as the answer the citizen gets.

The reply is recorded either way (a unit must be able to answer); the score and its flags go
with the reply event so supervisors see weak answers — generic, without an action or time,
copied from earlier replies — in their queue and in the rankings' gaming signals.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.nlp.replies import score_reply
from jiesu.nlp.understand import scored_text
from jiesu.workflow.models import Event, ServiceRequest

# How many of the unit's latest replies a new one is compared with for copy-paste: enough
# to catch a template in use, few enough to keep a reply under a few milliseconds.
EARLIER = 100
# Below this overall score (0–100) a reply is flagged for the supervisor.
FLAG_BELOW = 40


def check_reply(session: Session, request: ServiceRequest, text: str) -> dict[str, Any]:
    """The quality record stored in the reply event's payload."""
    earlier = session.execute(
        select(ServiceRequest.ticket, ServiceRequest.title, ServiceRequest.text, Event.payload)
        .join(Event, Event.request_id == ServiceRequest.id)
        .where(
            Event.kind.in_(("reply", "history_reply")),
            ServiceRequest.lead_unit_id == request.lead_unit_id,
            ServiceRequest.id != request.id,
        )
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(EARLIER)
    ).all()
    replies = {t: p["text"] for t, _, _, p in earlier if (p or {}).get("text")}
    asked = {t: scored_text(title, body) for t, title, body, _ in earlier}
    q = score_reply(
        scored_text(request.title, request.text),
        text,
        earlier_replies=replies,
        earlier_requests=asked,
    )
    out: dict[str, Any] = {
        "overall": q.overall,
        "flagged": q.overall < FLAG_BELOW or bool(q.flags),
        "flags": list(q.flags),
        **{name: round(c.score, 3) for name, c in q.components().items()},
    }
    if q.closest is not None:
        out["closest"] = {"ticket": q.closest, "similarity": round(q.closest_similarity, 3)}
    return out
