"""Reading one request: category, place, urgency, demand level, sentiment and duplicates.

The one entry point intake (every channel) and the preview route use, so that what an
operator sees while typing is exactly what the request gets when submitted. Each part says
why; none of them throws a request away: an unreadable text is accepted with no suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category, City
from jiesu.kit.cache import PerDatabase
from jiesu.nlp.demand import Assessment, assess
from jiesu.nlp.duplicates import DuplicateCandidate, find_duplicates
from jiesu.nlp.keywords import Suggestion
from jiesu.nlp.language import unreadable_reason
from jiesu.nlp.place import EMPTY, PlaceResult
from jiesu.nlp.places import suggest_place
from jiesu.nlp.suggest import apply_threshold, suggest_categories
from jiesu.nlp.understanding import UnderstandingConfig, cached_config_from_json

_config: PerDatabase[UnderstandingConfig] = PerDatabase(ttl_seconds=30.0)


def forget() -> None:
    _config.clear()


def _load_config(session: Session) -> UnderstandingConfig:
    stored = session.scalar(select(City.understanding)) or {}
    return cached_config_from_json(stored)


def city_config(session: Session) -> UnderstandingConfig:
    return _config.get(session, _load_config)


@dataclass
class Understanding:
    unreadable: str | None = None
    categories: list[Suggestion] = field(default_factory=list)
    # The suggested category confident enough to apply unconfirmed (dispatch confirms it).
    category_to_apply: Category | None = None
    # A place below this confidence, or ambiguous, is shown but not applied (a person decides).
    place_threshold: float = 0.6
    place: PlaceResult = EMPTY
    assessment: Assessment | None = None
    duplicates: list[DuplicateCandidate] = field(default_factory=list)

    def place_to_apply(self) -> str | None:
        """The area code to set without asking: confident, unambiguous and in this city."""
        p = self.place
        if p.area_code and not p.ambiguous and p.confidence >= self.place_threshold:
            return p.area_code
        return None

    def as_payload(self) -> dict[str, Any]:
        """For the received event: what the machine saw and why (no contact data)."""
        out: dict[str, Any] = {
            "suggestions": [s.as_dict() for s in self.categories],
            "duplicates": [d.as_dict() for d in self.duplicates],
        }
        if self.unreadable:
            out["unreadable"] = self.unreadable
        if self.place.best is not None or self.place.mentions:
            place = self.place.as_dict()
            place.pop("mentions", None)
            out["place"] = place
        if self.assessment is not None:
            # Offsets, not the citizen's words: the event log is permanent, the text erasable.
            out["assessment"] = self.assessment.as_dict(with_text=False)
        return out


def _category_names(category: Category | None) -> list[str]:
    """Leaf first: the most specific name decides the demand level (冬季采暖 over 城乡建设)."""
    names: list[str] = []
    while category is not None:
        names.append(category.name)
        category = category.parent
    return names


def scored_text(title: str, text: str) -> str:
    """The one string the text parts read; offsets in their reasons point into it."""
    return f"{title}\n{text}" if title and not text.startswith(title) else text


def understand(
    session: Session,
    *,
    title: str,
    text: str,
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
    received_at: datetime,
    tz: ZoneInfo,
    category: Category | None = None,
    area: Area | None = None,
    exclude_id: int | None = None,
    live: bool = True,
) -> Understanding:
    """Everything the machine can say about one request. ``category``/``area`` are the ones a
    person already gave (then no suggestion is made for them). ``live`` False (imported
    history) skips the duplicate search: old requests are not merged into today's."""
    full = scored_text(title, text)
    reason = unreadable_reason(full)
    if reason is not None:
        return Understanding(unreadable=reason)
    config = city_config(session)
    out = Understanding(place_threshold=config.thresholds.place)
    if category is None:
        out.categories = suggest_categories(session, text, title=title)
        top = out.categories[0] if out.categories else None
        if top is not None and top.confidence >= apply_threshold(session):
            out.category_to_apply = session.scalar(
                select(Category).where(Category.code == top.code)
            )
    effective = category or out.category_to_apply
    if area is None:
        out.place = suggest_place(session, f"{full}\n{address}" if address else full, lat, lon)
    if live:
        area_path = area.path if area is not None else None
        if area_path is None and (code := out.place_to_apply()):
            area_path = session.scalar(select(Area.path).where(Area.code == code))
        out.duplicates = find_duplicates(
            session,
            text=full,
            area_path=area_path,
            lat=lat,
            lon=lon,
            received_at=received_at,
            exclude_id=exclude_id,
        )
    out.assessment = assess(
        full,
        category_code=effective.code if effective is not None else None,
        category_names=_category_names(effective),
        received_at=received_at,
        repeat_count=len(out.duplicates),
        config=config,
        tz=tz,
    )
    return out
