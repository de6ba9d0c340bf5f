"""The event's script (口径) at the operator's desk: while an event lasts, a call whose place or
words match it shows what the supervisor wants every caller told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.dispatch.directory import directory
from jiesu.surge.attach import lasting_events, trigger_of
from jiesu.surge.match import match


@dataclass(frozen=True)
class Script:
    event_id: int
    name: str
    kind: str
    script: str
    why: tuple[str, ...]


def scripts_for(
    session: Session,
    *,
    text: str,
    area: str | None,
    category: str | None,
    now: datetime,
) -> list[Script]:
    """Scripts of the lasting events this call matches. Before the operator knows the place,
    the words alone are enough to show the script (the caller is still on the line); once the
    place is known it must lie in the event's areas, as for attaching."""
    d = directory(session)
    out = []
    for event in lasting_events(session, now):
        trigger = trigger_of(event)
        area_path = d.area_paths.get(area or "", ())
        if not area_path:
            # Any of the event's areas: the words decide until the place is known.
            area_path = (next(iter(trigger.areas)),) if trigger.areas else ()
        found = match(
            trigger,
            text=text,
            category_path=d.category_paths.get(category or "", ()),
            area_path=area_path,
            at=now,
        )
        if found is not None:
            why = found.reasons if area else (*found.reasons[1:], "place not known yet")
            out.append(Script(event.id, event.name, event.kind, event.script, tuple(why)))
    return out
