"""The event's script (口径) at the operator's desk: while an event lasts, a call whose place or
words match it shows what the supervisor wants every caller told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from jiesu.dispatch.directory import directory
from jiesu.surge.attach import lasting_events, trigger_of
from jiesu.surge.match import match

# The match's reasons ("area 110101", "keyword 暖气, 供暖") in the desk's two languages.
_WORDS = {"area": "区域", "category": "类别", "keyword": "关键词"}
NOT_PLACED = "place not known yet"


@dataclass(frozen=True)
class Script:
    event_id: int
    name: str
    kind: str
    script: str
    why: tuple[str, ...]

    def why_pairs(self) -> list[tuple[str, str]]:
        out = []
        for reason in self.why:
            if reason == NOT_PLACED:
                out.append(("地点未定", reason))
                continue
            head, _, rest = reason.partition(" ")
            out.append((f"{_WORDS.get(head, head)} {rest}", reason))
        return out


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
            why = found.reasons if area else (*found.reasons[1:], NOT_PLACED)
            out.append(Script(event.id, event.name, event.kind, event.script, tuple(why)))
    return out
