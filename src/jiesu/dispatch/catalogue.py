"""The dispatch catalogue (派单目录) as data: read, check against the city, compare rules.

A rule matches on category (any level), area (any level), keywords, urgency, channel and time
of day; it names the lead unit and assisting units directly (code, name or former name) or by
role relative to the request's area (``{role: street_office}``, ``{role: city_bureau, handles:
"0101"}``), and may override the deadlines. The most specific matching rule wins; two rules that
can match the same request with the same specificity are refused when the catalogue is loaded,
so which rule fires never depends on the order of the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from jiesu.city.models import UNIT_KINDS, URGENCY_CLASSES
from jiesu.dispatch.directory import Directory
from jiesu.errors import ProblemList
from jiesu.kit.timelimits import TimeLimit
from jiesu.workflow.models import CHANNELS

MODES = ("direct", "two_level")
MATCH_KEYS = ("categories", "areas", "keywords", "urgency", "channels", "hours")
RULE_KEYS = {"id", "name", "match", "lead", "assisting", "deadlines", "mode", "balance", "priority"}
SETTING_DEFAULTS: dict[str, Any] = {
    # Dispatch at intake when a rule (or a confident model) decides; else the dispatcher does.
    "auto_dispatch": False,
    # The learned router's top unit below this waits in the dispatcher's queue.
    "min_confidence": 0.6,
    # How long after a dispatch the unit may still return it (退单时限).
    "return_window": "24h",
}


class CatalogueError(ProblemList):
    code = "dispatch_catalogue_invalid"

    def __init__(self, problems: list[str]):
        super().__init__("dispatch catalogue", problems)


@dataclass(frozen=True)
class Target:
    """A unit named directly, or a role resolved against the request's area."""

    unit: str | None = None
    role: str | None = None
    # For roles: "request" (the unit must take the request's category) or a category code.
    handles: str | None = None

    def to_data(self) -> str | dict[str, str]:
        if self.unit is not None:
            return self.unit
        out = {"role": self.role or ""}
        if self.handles:
            out["handles"] = self.handles
        return out

    def describe(self) -> str:
        if self.unit is not None:
            return self.unit
        return f"{self.role}" + (f" handling {self.handles}" if self.handles else "")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    lead: Target
    # Matching values with their depth in their tree (deeper = more specific).
    categories: dict[str, int] = field(default_factory=dict)
    areas: dict[str, int] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    urgency: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    hours: tuple[str, ...] = ()
    assisting: tuple[Target, ...] = ()
    response_limit: str | None = None
    handling_limit: str | None = None
    mode: str = "direct"
    balance: bool = False
    priority: int = 0

    @property
    def minutes(self) -> frozenset[int]:
        return _minutes(self.hours)

    def conditions(self) -> int:
        return sum(bool(v) for v in (self.keywords, self.urgency, self.channels, self.hours))

    def to_data(self) -> dict[str, Any]:
        match = {
            "categories": list(self.categories),
            "areas": list(self.areas),
            "keywords": list(self.keywords),
            "urgency": list(self.urgency),
            "channels": list(self.channels),
            "hours": list(self.hours),
        }
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "match": {k: v for k, v in match.items() if v},
            "lead": self.lead.to_data(),
        }
        if self.assisting:
            out["assisting"] = [t.to_data() for t in self.assisting]
        deadlines = {"response": self.response_limit, "handling": self.handling_limit}
        if any(deadlines.values()):
            out["deadlines"] = {k: v for k, v in deadlines.items() if v}
        if self.mode != "direct":
            out["mode"] = self.mode
        if self.balance:
            out["balance"] = True
        if self.priority:
            out["priority"] = self.priority
        return out


@dataclass(frozen=True)
class Catalogue:
    settings: dict[str, Any]
    rules: tuple[Rule, ...]
    version: int | None = None

    def to_data(self) -> dict[str, Any]:
        return {"settings": dict(self.settings), "rules": [r.to_data() for r in self.rules]}

    def digest(self) -> str:
        blob = json.dumps(self.to_data(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


EMPTY = Catalogue(dict(SETTING_DEFAULTS), ())


# ---------------------------------------------------------------- time windows
def _clock(text: str) -> int:
    hh, mm = text.strip().split(":")
    h, m = int(hh), int(mm)
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 1440:
        raise ValueError(text)
    return h * 60 + m


def _window(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    a, b = _clock(start), _clock(end)
    if a == b:
        raise ValueError(text)
    return a, b


def _minutes(hours: tuple[str, ...]) -> frozenset[int]:
    out: set[int] = set()
    for h in hours:
        a, b = _window(h)
        # A window past midnight (22:00-06:00) wraps around.
        out.update(range(a, b) if a < b else [*range(a, 1440), *range(0, b)])
    return frozenset(out)


# ---------------------------------------------------------------- reading
def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _Reader:
    def __init__(self, d: Directory):
        self.d = d
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def settings(self, raw: Any) -> dict[str, Any]:
        out = dict(SETTING_DEFAULTS)
        if raw is None:
            return out
        if not isinstance(raw, dict):
            self.bad("settings", "must be a mapping")
            return out
        for key, value in raw.items():
            if key not in SETTING_DEFAULTS:
                self.bad(f"settings.{key}", f"unknown setting; use {', '.join(SETTING_DEFAULTS)}")
            elif key == "auto_dispatch" and not isinstance(value, bool):
                self.bad("settings.auto_dispatch", "must be true or false")
            elif key == "min_confidence" and not (
                isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
            ):
                self.bad("settings.min_confidence", "must be a number from 0 to 1")
            elif key == "return_window":
                try:
                    value = str(TimeLimit.parse(str(value)))
                except ValueError as exc:
                    self.bad("settings.return_window", str(exc))
            out[key] = value
        return out

    def target(self, where: str, raw: Any) -> Target | None:
        if isinstance(raw, str) and raw.strip():
            code = self.d.unit_code(raw.strip())
            if code is None:
                self.bad(where, f"unknown unit {raw!r} (give a unit code, name or former name)")
                return None
            return Target(unit=code)
        if isinstance(raw, dict) and set(raw) <= {"role", "handles"} and "role" in raw:
            role, handles = raw.get("role"), raw.get("handles")
            if role not in UNIT_KINDS:
                self.bad(where, f"unknown role {role!r}; roles are the unit kinds {UNIT_KINDS}")
                return None
            if handles is not None and handles != "request":
                code = self.d.category_code(str(handles))
                if code is None:
                    self.bad(f"{where}.handles", f"unknown category {handles!r}")
                    return None
                handles = code
            return Target(role=role, handles=handles)
        self.bad(where, "give a unit (code or name) or {role: KIND, handles: request|CATEGORY}")
        return None

    def codes(self, where: str, values: list[Any], kind: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in values:
            if kind == "category":
                code = self.d.category_code(str(v))
                depth = len(self.d.category_paths[code]) if code else 0
            else:
                code = self.d.area_code(str(v))
                depth = self.d.area_depth(code) if code else 0
            if code is None:
                self.bad(where, f"unknown {kind} {v!r} (give its code, or a name used only once)")
            else:
                out[code] = depth
        return out

    def rule(self, i: int, raw: Any, seen: set[str]) -> Rule | None:
        where = f"rules[{i}]"
        if not isinstance(raw, dict):
            self.bad(where, "must be a mapping with id, match and lead")
            return None
        rid = str(raw.get("id") or "").strip()
        if not rid:
            self.bad(where, "id is required (a short name that dispatches record)")
            return None
        where = f"rule {rid!r}"
        if rid in seen:
            self.bad(where, "id is used twice")
        seen.add(rid)
        for key in sorted(set(raw) - RULE_KEYS, key=str):
            self.bad(f"{where}.{key}", f"unknown key; use {', '.join(sorted(RULE_KEYS))}")
        match = raw.get("match") or {}
        if not isinstance(match, dict):
            self.bad(f"{where}.match", "must be a mapping")
            match = {}
        for key in sorted(set(match) - set(MATCH_KEYS), key=str):
            self.bad(f"{where}.match.{key}", f"unknown condition; use {', '.join(MATCH_KEYS)}")
        urgency = [str(u) for u in _list(match.get("urgency"))]
        for u in urgency:
            if u not in URGENCY_CLASSES:
                self.bad(f"{where}.match.urgency", f"unknown urgency {u!r}")
        channels = [str(c) for c in _list(match.get("channels"))]
        for c in channels:
            if c not in CHANNELS:
                self.bad(f"{where}.match.channels", f"unknown channel {c!r}")
        hours = [str(h) for h in _list(match.get("hours"))]
        for h in hours:
            try:
                _window(h)
            except ValueError:
                self.bad(f"{where}.match.hours", f"{h!r} is not a window like 08:00-18:00")
        lead = self.target(f"{where}.lead", raw.get("lead"))
        assisting = [
            self.target(f"{where}.assisting[{j}]", t)
            for j, t in enumerate(_list(raw.get("assisting")))
        ]
        deadlines = raw.get("deadlines") or {}
        limits: dict[str, str | None] = {"response": None, "handling": None}
        if not isinstance(deadlines, dict):
            self.bad(f"{where}.deadlines", "must be a mapping with response and/or handling")
            deadlines = {}
        for key, value in deadlines.items():
            if key not in limits:
                self.bad(f"{where}.deadlines.{key}", "use response or handling")
                continue
            try:
                limits[key] = str(TimeLimit.parse(str(value)))
            except ValueError as exc:
                self.bad(f"{where}.deadlines.{key}", str(exc))
        mode = raw.get("mode") or "direct"
        if mode not in MODES:
            self.bad(f"{where}.mode", f"must be one of {', '.join(MODES)}")
        priority = raw.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            self.bad(f"{where}.priority", "must be a whole number")
            priority = 0
        if not isinstance(raw.get("balance", False), bool):
            self.bad(f"{where}.balance", "must be true or false")
        keywords = [str(k).strip().lower() for k in _list(match.get("keywords"))]
        categories = self.codes(
            f"{where}.match.categories", _list(match.get("categories")), "category"
        )
        areas = self.codes(f"{where}.match.areas", _list(match.get("areas")), "area")
        if lead is None or None in assisting:
            return None
        return Rule(
            id=rid,
            name=str(raw.get("name") or rid),
            lead=lead,
            categories=categories,
            areas=areas,
            keywords=tuple(k for k in keywords if k),
            urgency=tuple(urgency),
            channels=tuple(channels),
            hours=tuple(hours),
            assisting=tuple(t for t in assisting if t is not None),
            response_limit=limits["response"],
            handling_limit=limits["handling"],
            mode=str(mode),
            balance=bool(raw.get("balance", False)),
            priority=priority,
        )


def read_catalogue(raw: Any, d: Directory, *, version: int | None = None) -> Catalogue:
    """Check a catalogue (as read from YAML or JSON) against the city; every problem at once."""
    reader = _Reader(d)
    if not isinstance(raw, dict):
        raise CatalogueError(["the catalogue must be a mapping with settings and rules"])
    # YAML keys may be numbers too: sort them as text.
    for key in sorted(set(raw) - {"settings", "rules"}, key=str):
        reader.bad(str(key) or "''", "unknown section; use settings and rules")
    settings = reader.settings(raw.get("settings"))
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, list):
        reader.bad("rules", "must be a list")
        rules_raw = []
    seen: set[str] = set()
    rules = [r for i, x in enumerate(rules_raw) if (r := reader.rule(i, x, seen)) is not None]
    if not reader.problems:
        reader.problems += ties(rules)
    if reader.problems:
        raise CatalogueError(reader.problems)
    return Catalogue(settings, tuple(rules), version)


# ---------------------------------------------------------------- specificity and ties
def specificity(rule: Rule, category_depth: int, area_depth: int) -> tuple[int, int, int, int]:
    """Deeper category first, then deeper area, then more conditions, then the priority the
    catalogue gives to settle two rules that are otherwise alike."""
    return (category_depth, area_depth, rule.conditions(), rule.priority)


def _shared(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return not a or not b or bool(set(a) & set(b))


def ties(rules: list[Rule]) -> list[str]:
    """Pairs of rules that a single request could match with equal specificity."""
    problems = []
    by_key: dict[tuple[int, int], list[Rule]] = {}
    for r in rules:
        by_key.setdefault((r.conditions(), r.priority), []).append(r)
    for group in by_key.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if _can_tie(a, b):
                    problems.append(
                        f"rules {a.id!r} and {b.id!r} can match the same request with the same "
                        "specificity; make one more specific or give one a higher priority"
                    )
    return problems


def _same_node(a: dict[str, int], b: dict[str, int]) -> bool:
    # Equal specificity needs equal depth; on one tree, nodes on one path with equal depth
    # are the same node. No condition on both sides also ties.
    if not a and not b:
        return True
    return bool(set(a) & set(b))


def _can_tie(a: Rule, b: Rule) -> bool:
    if not (_same_node(a.categories, b.categories) and _same_node(a.areas, b.areas)):
        return False
    if not (_shared(a.urgency, b.urgency) and _shared(a.channels, b.channels)):
        return False
    # Keywords are "any of": two keyword lists can both hit one text, so they may tie.
    return not (a.hours and b.hours and not (a.minutes & b.minutes))


# ---------------------------------------------------------------- warnings (not errors)
PUSH_DOWN_KINDS = ("street_office",)


def push_down_warnings(catalogue: Catalogue, d: Directory) -> list[str]:
    """Rules that send a department's work to street offices (不得把部门职责推给街道): a
    category on a bureau's or company's own list that, by this rule, ends at a street office
    because no more specific rule takes it. A warning, not an error: a city may decide so."""
    owners: dict[str, list[str]] = {}
    for u in d.units.values():
        if u.kind in (*PUSH_DOWN_KINDS, "district_government") or u.all_categories:
            continue
        for c in u.categories:
            owners.setdefault(c, []).append(u.name)
    out = []
    for rule in catalogue.rules:
        lead = rule.lead
        to_street = lead.role in PUSH_DOWN_KINDS or (
            lead.unit is not None and d.units[lead.unit].kind in PUSH_DOWN_KINDS
        )
        if not to_street or rule.mode == "two_level":
            continue
        for code, depth in rule.categories.items():
            pushed = [
                f"{d.category_names.get(c, c)} ({'、'.join(names[:2])})"
                for c, names in sorted(owners.items())
                if code in d.category_paths.get(c, ())
                and not _overridden(catalogue, rule, d.category_paths.get(c, ()), depth)
            ]
            if pushed:
                more = f" and {len(pushed) - 5} more" if len(pushed) > 5 else ""
                out.append(
                    f"rule {rule.id!r} sends to a street office what departments take: "
                    f"{', '.join(pushed[:5])}{more}"
                )
    return out


def _overridden(catalogue: Catalogue, rule: Rule, path: tuple[str, ...], depth: int) -> bool:
    """Whether another rule names a deeper category on this path (and so takes it first)."""
    return any(
        other is not rule and any(c in path and dep > depth for c, dep in other.categories.items())
        for other in catalogue.rules
    )
