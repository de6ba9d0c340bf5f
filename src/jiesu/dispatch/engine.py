"""Decide who handles a request: the catalogue first, then the learned router, else the
dispatcher's queue with suggestions. Pure: no database, so the same code serves intake, the
dispatcher's desk, the preview API and the dry run over history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiesu.dispatch.catalogue import Catalogue, Rule, Target, specificity
from jiesu.dispatch.directory import Directory
from jiesu.dispatch.jurisdiction import district_of, fallback_owner, nearest, pick

# unit codes → open requests now, for balancing equivalent units.
Load = Callable[[tuple[str, ...]], dict[str, int]]
# The learned router: a case → [(unit code, probability)], best first.
Router = Callable[["Case"], list[tuple[str, float]]]


@dataclass(frozen=True)
class Case:
    """What dispatch looks at in a request."""

    text: str
    category: str | None
    area: str | None
    urgency: str
    channel: str
    minute: int | None = None  # minute of the day the request came in, city time
    exclude: frozenset[str] = frozenset()  # units that returned it: never suggested again


@dataclass(frozen=True)
class Suggestion:
    unit: str
    name: str
    source: str  # rule | model | directory | fallback
    confidence: float | None
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "name": self.name,
            "source": self.source,
            "confidence": self.confidence,
            "why": self.why,
        }


@dataclass
class Decision:
    unit: str | None = None
    assisting: list[str] = field(default_factory=list)
    source: str | None = None  # rule | model | fallback; None = waits for a person
    rule: str | None = None
    rule_name: str | None = None
    confidence: float | None = None
    reasons: list[str] = field(default_factory=list)
    response_limit: str | None = None
    handling_limit: str | None = None
    mode: str = "direct"
    suggestions: list[Suggestion] = field(default_factory=list)
    catalogue_version: int | None = None
    # The learned router's confident top unit when it differs from the rule's choice.
    disagreement: dict[str, Any] | None = None

    def as_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "unit": self.unit,
            "assisting_units": self.assisting,
            "source": self.source,
            "rule": self.rule,
            "rule_name": self.rule_name,
            "confidence": self.confidence,
            "reasons": self.reasons,
            "mode": self.mode,
            "catalogue_version": self.catalogue_version,
            "suggestions": [s.as_dict() for s in self.suggestions],
        }
        if self.response_limit or self.handling_limit:
            out["deadlines"] = {"response": self.response_limit, "handling": self.handling_limit}
        if self.disagreement:
            out["disagreement"] = self.disagreement
        return out


@dataclass(frozen=True)
class _Paths:
    category: tuple[str, ...]
    area: tuple[str, ...]


def _score(rule: Rule, case: Case, p: _Paths, text: str) -> tuple[int, int, int, int] | None:
    """The rule's specificity for this case, or None when it does not match."""
    cat = max((rule.categories[c] for c in p.category if c in rule.categories), default=0)
    if rule.categories and not cat:
        return None
    area = max((rule.areas[a] for a in p.area if a in rule.areas), default=0)
    if rule.areas and not area:
        return None
    if rule.urgency and case.urgency not in rule.urgency:
        return None
    if rule.channels and case.channel not in rule.channels:
        return None
    if rule.hours and (case.minute is None or case.minute not in rule.minutes):
        return None
    if rule.keywords and not any(k in text for k in rule.keywords):
        return None
    return specificity(rule, cat, area)


def matching_rules(catalogue: Catalogue, d: Directory, case: Case) -> list[Rule]:
    """Rules that match the case, the most specific first."""
    p = _paths(d, case)
    text = case.text.lower()
    scored = [(s, r) for r in catalogue.rules if (s := _score(r, case, p, text)) is not None]
    return [r for _, r in sorted(scored, key=lambda sr: sr[0], reverse=True)]


def _paths(d: Directory, case: Case) -> _Paths:
    return _Paths(
        d.category_paths.get(case.category or "", ()), d.area_paths.get(case.area or "", ())
    )


def resolve(
    d: Directory,
    target: Target,
    p: _Paths,
    *,
    exclude: frozenset[str] = frozenset(),
    load: Load | None = None,
) -> tuple[str | None, str]:
    """A rule's target → a unit code and why; None when no unit fills the role here."""
    if target.unit is not None:
        if target.unit in exclude:
            return None, f"{d.unit_name(target.unit)} returned this request"
        return target.unit, f"named by the rule: {d.unit_name(target.unit)}"
    handles = None
    if target.handles == "request":
        handles = p.category
    elif target.handles:
        handles = d.category_paths.get(target.handles, (target.handles,))
    found = nearest(d, p.area, kind=target.role, handles=handles, exclude=exclude)
    if found is None:
        return None, f"no {target.describe()} covers this place"
    unit = pick(found.units, load)
    why = f"{target.role} of {d.area_names.get(found.area, found.area)}"
    if len(found.units) > 1:
        why += f" (least loaded of {len(found.units)})" if load else f" (1 of {len(found.units)})"
    return unit, why


def decide(
    catalogue: Catalogue,
    d: Directory,
    case: Case,
    *,
    router: Router | None = None,
    load: Load | None = None,
) -> Decision:
    p = _paths(d, case)
    model = router(case) if router is not None else []
    model = [(u, pr) for u, pr in model if u not in case.exclude and u in d.units]
    decision = Decision(catalogue_version=catalogue.version)
    for rule in matching_rules(catalogue, d, case):
        if _apply_rule(decision, rule, d, case, p, load):
            break
    threshold = float(catalogue.settings.get("min_confidence", 0.6))
    if decision.unit is None and model and model[0][1] >= threshold:
        unit, prob = model[0]
        decision.unit, decision.source, decision.confidence = unit, "model", round(prob, 3)
        decision.reasons.append(
            f"no catalogue rule matches; the learned router chose {d.unit_name(unit)} at {prob:.2f}"
        )
    elif decision.unit is None:
        decision.reasons.append(
            "no catalogue rule matches"
            + (f" and the router's best guess is below {threshold:.2f}" if model else "")
            + ": a dispatcher decides"
        )
    elif decision.source == "rule" and model and _differs(model[0], decision.unit, threshold):
        decision.disagreement = {"unit": model[0][0], "confidence": round(model[0][1], 3)}
    decision.suggestions = _suggestions(decision, d, case, p, model)
    return decision


def _differs(top: tuple[str, float], unit: str | None, threshold: float) -> bool:
    return top[0] != unit and top[1] >= threshold


def _apply_rule(
    decision: Decision, rule: Rule, d: Directory, case: Case, p: _Paths, load: Load | None
) -> bool:
    if rule.lead.unit is not None and rule.lead.unit in case.exclude:
        # The unit the rule names returned the request: a broader rule decides instead.
        decision.reasons.append(f"rule {rule.id}: {d.unit_name(rule.lead.unit)} returned it")
        return False
    unit, why = resolve(d, rule.lead, p, exclude=case.exclude, load=load if rule.balance else None)
    source = "rule"
    if rule.mode == "two_level" and unit is not None:
        district = fallback_owner(d, p.area, case.exclude)
        if district is not None:
            unit, why = district, "two-level dispatch: the district re-dispatches within it"
    if unit is None:
        fallback = fallback_owner(d, p.area, case.exclude)
        if fallback is None:
            decision.reasons.append(f"rule {rule.id}: {why}, and no district owns the place")
            return False
        why += "; the district government answers (区政府兜底)"
        unit, source = fallback, "fallback"
    decision.unit, decision.source, decision.confidence = unit, source, 1.0
    decision.rule, decision.rule_name, decision.mode = rule.id, rule.name, rule.mode
    decision.reasons.append(f"rule {rule.id} ({rule.name}): {why}")
    decision.response_limit, decision.handling_limit = rule.response_limit, rule.handling_limit
    for target in rule.assisting:
        helper, hwhy = resolve(d, target, p, exclude=case.exclude | {unit})
        if helper is None:
            decision.reasons.append(f"assisting {target.describe()}: {hwhy}; left out")
        elif helper not in decision.assisting and helper != unit:
            decision.assisting.append(helper)
    return True


def directory_candidates(d: Directory, case: Case, limit: int = 3) -> list[Suggestion]:
    """Units whose jurisdiction covers the place and whose list names the category: the one
    naming the deepest category first, then the nearest jurisdiction."""
    p = _paths(d, case)
    # An unknown place still has the city: units covering the whole city can be suggested.
    area_path = p.area or tuple(c for c, level in d.area_levels.items() if level == "city")[:1]
    if not p.category or not area_path:
        return []
    ranked: dict[str, tuple[int, int]] = {}
    for distance, area in enumerate(reversed(area_path)):
        for code in d.covering.get(area, ()):
            info = d.units[code]
            if code in case.exclude or code in ranked or not info.handles(p.category):
                continue
            depth = max(
                (i + 1 for i, c in enumerate(p.category) if c in info.categories), default=0
            )
            ranked[code] = (-depth, distance)
    best = sorted(ranked, key=lambda c: (ranked[c], c))[:limit]
    return [
        Suggestion(c, d.unit_name(c), "directory", None, "covers the place and takes the category")
        for c in best
    ]


def _suggestions(
    decision: Decision,
    d: Directory,
    case: Case,
    p: _Paths,
    model: Sequence[tuple[str, float]],
) -> list[Suggestion]:
    out: list[Suggestion] = []
    if decision.unit:
        why = decision.reasons[-1] if decision.reasons else ""
        conf = decision.confidence
        out.append(
            Suggestion(decision.unit, d.unit_name(decision.unit), decision.source or "", conf, why)
        )
    for unit, prob in model[:3]:
        out.append(
            Suggestion(unit, d.unit_name(unit), "model", round(prob, 3), "learned from history")
        )
    out += directory_candidates(d, case)
    owner = fallback_owner(d, p.area, case.exclude)
    if owner:
        out.append(
            Suggestion(
                owner, d.unit_name(owner), "fallback", None, "the district government of the place"
            )
        )
    unique: dict[str, Suggestion] = {}
    for s in out:
        unique.setdefault(s.unit, s)
    return list(unique.values())[:3]


def district(d: Directory, case: Case) -> str | None:
    return district_of(d, _paths(d, case).area)
