"""A declared event's temporary dispatch rules laid over the active catalogue (surge mode).

The event's rules are written like the catalogue's and checked the same way, but they form a
catalogue of their own that is asked first: a temporary rule that matches decides, whatever
the usual catalogue would say, and when none matches the usual catalogue (and the learned
router) decides as always. Kept apart rather than merged so that a temporary rule never "ties"
with a permanent one and never needs the permanent catalogue changed to take effect or to end.
The event's time limits replace the usual ones for its requests; a temporary rule's own limits
come first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jiesu.dispatch.catalogue import Catalogue, read_catalogue
from jiesu.dispatch.directory import Directory
from jiesu.dispatch.engine import Case, Decision, Load, Router, decide


def event_catalogue(
    rules: list[dict[str, Any]] | tuple[dict[str, Any], ...], d: Directory, *, event_id: int
) -> Catalogue:
    """The event's rules checked against the city; rule ids carry the event's number so a
    dispatch record says where its rule came from. Raises CatalogueError."""
    cat = read_catalogue({"rules": list(rules)}, d)
    tagged = tuple(replace(r, id=f"event-{event_id}:{r.id}") for r in cat.rules)
    return replace(cat, rules=tagged)


def decide_with_overlay(
    active: Catalogue,
    temporary: Catalogue,
    d: Directory,
    case: Case,
    *,
    event_name: str,
    limits: tuple[str | None, str | None],
    router: Router | None = None,
    load: Load | None = None,
) -> Decision:
    first = decide(temporary, d, case, load=load) if temporary.rules else None
    if first is not None and first.source in ("rule", "fallback"):
        decision = first
        decision.catalogue_version = active.version
        decision.reasons.insert(0, f"temporary rule of event {event_name}")
        decision.response_limit = decision.response_limit or limits[0]
        decision.handling_limit = decision.handling_limit or limits[1]
        return decision
    decision = decide(active, d, case, router=router, load=load)
    if any(limits):
        decision.reasons.append(f"time limits of event {event_name}")
        decision.response_limit = limits[0] or decision.response_limit
        decision.handling_limit = limits[1] or decision.handling_limit
    return decision
