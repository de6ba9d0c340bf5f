"""The Service Discovery document: where the endpoint is, what it speaks, whom to ask."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Category, City
from jiesu.city.service import city_context
from jiesu.errors import ConfigError
from jiesu.intake.open311.formats import CONTENT_TYPES, Many, Value, w3c

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def discovery(session: Session, *, url: str, production: bool) -> Mapping[str, Value]:
    city = session.scalar(select(City))
    if city is None:
        raise ConfigError("no city is loaded yet")
    tz = city_context(session).tz
    # The changeset tells clients to refresh cached service lists and definitions, which
    # change exactly when categories do.
    changed = session.scalar(select(func.max(Category.updated_at))) or city.updated_at
    changeset = w3c(max(changed, city.updated_at), tz)
    return {
        "changeset": changeset,
        "contact": f"{city.name} {city.hotline} 热线",
        "key_service": (
            f"api_key: ask the {city.name} {city.hotline} hotline's administrators; "
            "keys are issued with `jiesu open311 keys create NAME`"
        ),
        "endpoints": Many(
            "endpoint",
            [
                {
                    "specification": SPECIFICATION,
                    "url": url,
                    "changeset": changeset,
                    "type": "production" if production else "test",
                    "formats": Many("format", [t.split(";")[0] for t in CONTENT_TYPES.values()]),
                }
            ],
        ),
    }
