"""How a city reads requests: urgency signals, negation cues, demand levels and priority weights.

The shipped defaults (``defaults/understanding.yaml``) are the base; a city pack may add an
``understanding.yaml`` that adds signals, overrides a default one by ``code`` (only the keys it
gives change) or switches one off (``enabled: false``). The merged result is stored as JSON in
``City.understanding`` and rebuilt with :func:`config_from_json`, so every request is scored by
rules a person can read and change, and the stored rules are the ones that were applied.

Every problem of a file is reported at once, naming the file, the key path and the line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from jiesu.errors import ProblemList

FORMAT = "jiesu-understanding/1"
# Most urgent first; the same names as jiesu.city.models.URGENCY_CLASSES, kept here so the
# text modules do not import the database layer.
URGENCY_ORDER = ("emergency", "utility", "general", "complex")
DEMAND_LEVELS = ("basic", "quality", "development")
FEASIBILITY_WORDS = {"high": 0.8, "medium": 0.5, "low": 0.2}
DEFAULTS_PATH = Path(__file__).with_name("defaults") / "understanding.yaml"

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SEASON_RE = re.compile(r"^(\d{2})-(\d{2})\.\.(\d{2})-(\d{2})$")
# Full-width letters and digits and the ideographic space, made half-width. Chinese
# punctuation (，！？（） are full-width too) stays as it is, as in normalize(): it marks clauses.
_WIDE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000]")
_HALF = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {0x3000: " "}


def fold(text: str) -> str:
    """``text`` lower-cased with full-width letters and digits made half-width, and of the
    same length, so offsets of matches are offsets into the citizen's own text."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters (e.g. "İ") lower into two characters
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if _WIDE.search(lowered):
        lowered = _WIDE.sub(_half, lowered)
    return lowered


def _half(m: re.Match[str]) -> str:
    return m.group().translate(_HALF)


class UnderstandingError(ProblemList):
    code = "understanding_invalid"

    def __init__(self, source: str, problems: list[str]):
        super().__init__(source, problems)


# ------------------------------------------------------------------------------ the model
@dataclass(frozen=True)
class Season:
    """An inclusive month-day range; ``11-15..03-15`` wraps over the new year."""

    start: tuple[int, int]
    end: tuple[int, int]

    def contains(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end

    def __str__(self) -> str:
        return f"{self.start[0]:02d}-{self.start[1]:02d}..{self.end[0]:02d}-{self.end[1]:02d}"


@dataclass(frozen=True)
class Signal:
    """One thing in a text that makes a request more urgent, with the points it adds."""

    code: str
    label: str
    label_en: str
    keywords: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    weight: int = 0
    raises_to: str | None = None
    group: str | None = None
    needs: tuple[str, ...] = ()  # any one of these signal codes or groups must also fire
    season: tuple[Season, ...] = ()  # received date must fall in one of these ranges
    months: tuple[int, ...] = ()  # ... and in one of these months
    negatable: bool = True  # "没有/不是/no …" just before the match cancels it
    event: bool = False  # claims something happening now: hedges ("容易/防止/risk of") cancel it
    enabled: bool = True

    def in_season(self, day: date) -> bool:
        if self.months and day.month not in self.months:
            return False
        return not self.season or any(s.contains(day) for s in self.season)


@dataclass(frozen=True)
class Negation:
    """Cues that cancel a signal when they stand just before its match, in the same clause."""

    cues_zh: tuple[str, ...] = ()
    cues_en: tuple[str, ...] = ()
    hedges_zh: tuple[str, ...] = ()
    hedges_en: tuple[str, ...] = ()
    hedges_after_zh: tuple[str, ...] = ()  # right after the match: "燃气泄漏的风险"
    hedges_after_en: tuple[str, ...] = ()
    undone_after_zh: tuple[str, ...] = ()  # "不是停水就是停电": the negation does not hold
    undone_after_en: tuple[str, ...] = ()
    breaks_zh: tuple[str, ...] = ()  # end a negation's reach, like a comma ("而是", "but")
    breaks_en: tuple[str, ...] = ()
    window_zh: int = 8
    window_en: int = 24


@dataclass(frozen=True)
class RepeatRule:
    """Points for the number of earlier requests on the same matter (from history)."""

    points_per_repeat: int = 5
    max_points: int = 20


@dataclass(frozen=True)
class DemandLevel:
    code: str
    label: str
    label_en: str
    importance: float
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Demand:
    levels: tuple[DemandLevel, ...] = ()
    categories: tuple[tuple[str, str], ...] = ()  # (category code prefix, level)
    category_names: tuple[tuple[str, str], ...] = ()  # (category name at any level, level)
    default_level: str = "quality"

    def level(self, code: str) -> DemandLevel:
        return next(lv for lv in self.levels if lv.code == code)


@dataclass(frozen=True)
class Priority:
    weight_importance: float = 0.4
    weight_urgency: float = 0.4
    weight_feasibility: float = 0.2
    feasibility_default: float = 0.5
    feasibility_levels: tuple[tuple[str, float], ...] = ()
    feasibility_categories: tuple[tuple[str, float], ...] = ()  # (code prefix, value)
    heat_step: float = 0.1  # importance added per doubling of callers
    heat_max: float = 0.3


@dataclass(frozen=True)
class Thresholds:
    """How sure a suggestion must be to be applied without a person (人工复核 below)."""

    category: float = 0.5
    place: float = 0.6


@dataclass(frozen=True)
class UnderstandingConfig:
    thresholds: Thresholds = field(default_factory=Thresholds)
    signals: tuple[Signal, ...] = ()
    negation: Negation = field(default_factory=Negation)
    repeat: RepeatRule = field(default_factory=RepeatRule)
    demand: Demand = field(default_factory=Demand)
    priority: Priority = field(default_factory=Priority)

    def signal(self, code: str) -> Signal | None:
        return next((s for s in self.signals if s.code == code), None)


# ------------------------------------------------------------------------- problem report
class _Report:
    """Collects problems with the line of the deepest known key of their path."""

    def __init__(self, where: str, lines: Mapping[tuple[Any, ...], int] | None):
        self.where = where
        self.lines = lines or {}
        self.problems: list[str] = []

    def add(self, path: tuple[Any, ...], problem: str) -> None:
        line = next(
            (self.lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self.lines), 0
        )
        at = f" (line {line})" if line else ""
        self.problems.append(f"{self.where}: {_dotted(path) or 'top level'}{at}: {problem}")

    def raise_if_any(self) -> None:
        if self.problems:
            raise UnderstandingError(self.where, self.problems)


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ---------------------------------------------------------------------------- value checks
def _check_keys(
    raw: Mapping[Any, Any], allowed: Iterable[str], path: tuple[Any, ...], rep: _Report
) -> None:
    allowed = tuple(allowed)
    for key in raw:
        if key not in allowed:
            rep.add((*path, key), f"unknown key (allowed: {', '.join(allowed)})")


def _mapping(raw: Any, path: tuple[Any, ...], rep: _Report) -> Mapping[Any, Any] | None:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        rep.add(path, "must be a mapping of keys to values")
        return None
    return raw


def _text(raw: Any, path: tuple[Any, ...], rep: _Report, *, empty: bool = False) -> str | None:
    if not isinstance(raw, str) or (not empty and not raw.strip()):
        rep.add(path, "must be a non-empty text")
        return None
    return raw.strip()


def _texts(raw: Any, path: tuple[Any, ...], rep: _Report) -> tuple[str, ...] | None:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        rep.add(path, "must be a list of texts")
        return None
    out = []
    for i, item in enumerate(raw):
        value = _text(item, (*path, i), rep)
        if value is not None:
            out.append(value)
    return tuple(out)


def _int(raw: Any, path: tuple[Any, ...], rep: _Report, lo: int, hi: int) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        rep.add(path, f"must be a whole number from {lo} to {hi}, got {raw!r}")
        return None
    return raw


def _number(raw: Any, path: tuple[Any, ...], rep: _Report, lo: float, hi: float) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not lo <= raw <= hi:
        rep.add(path, f"must be a number from {lo:g} to {hi:g}, got {raw!r}")
        return None
    return float(raw)


def _bool(raw: Any, path: tuple[Any, ...], rep: _Report) -> bool | None:
    if not isinstance(raw, bool):
        rep.add(path, f"must be true or false, got {raw!r}")
        return None
    return raw


def _feasibility(raw: Any, path: tuple[Any, ...], rep: _Report) -> float | None:
    if isinstance(raw, str) and raw in FEASIBILITY_WORDS:
        return FEASIBILITY_WORDS[raw]
    if isinstance(raw, str):
        rep.add(path, f"must be {', '.join(FEASIBILITY_WORDS)} or a number from 0 to 1")
        return None
    return _number(raw, path, rep, 0.0, 1.0)


def _keywords(raw: Any, path: tuple[Any, ...], rep: _Report) -> tuple[str, ...] | None:
    # Keywords are folded like the texts they are matched against.
    values = _texts(raw, path, rep)
    return None if values is None else tuple(dict.fromkeys(fold(v) for v in values))


def check_regex(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a signal pattern, or None if it can."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    if compiled.groupindex or re.search(r"\\[1-9]|\(\?P=", pattern):
        # Patterns are joined into one expression whose own named groups say what matched.
        return "named groups and back-references are not allowed; use (?:…)"
    if compiled.match("") is not None:
        return "matches the empty text, so it would fire on every request"
    if re.search(r"[A-Z]", re.sub(r"\\.", "", pattern)):
        return "has upper-case letters, but texts are matched in lower case"
    return None


def _regexes(raw: Any, path: tuple[Any, ...], rep: _Report) -> tuple[str, ...] | None:
    values = _texts(raw, path, rep)
    if values is None:
        return None
    ok = True
    for i, pattern in enumerate(values):
        problem = check_regex(pattern)
        if problem:
            rep.add((*path, i), problem)
            ok = False
    return values if ok else None


def _season(raw: Any, path: tuple[Any, ...], rep: _Report) -> tuple[Season, ...] | None:
    values = _texts(raw, path, rep)
    if values is None:
        return None
    out = []
    for i, value in enumerate(values):
        m = _SEASON_RE.match(value)
        parts = tuple(int(p) for p in m.groups()) if m else ()
        if not parts or not (_valid_md(parts[0], parts[1]) and _valid_md(parts[2], parts[3])):
            rep.add((*path, i), f"{value!r} is not a date range like 11-15..03-15 (MM-DD..MM-DD)")
            continue
        out.append(Season((parts[0], parts[1]), (parts[2], parts[3])))
    return tuple(out)


def _valid_md(month: int, day: int) -> bool:
    try:
        date(2024, month, day)  # a leap year, so 02-29 is allowed
    except ValueError:
        return False
    return True


def _months(raw: Any, path: tuple[Any, ...], rep: _Report) -> tuple[int, ...] | None:
    if not isinstance(raw, list):
        rep.add(path, "must be a list of month numbers 1–12")
        return None
    values = [_int(v, (*path, i), rep, 1, 12) for i, v in enumerate(raw)]
    return None if None in values else tuple(v for v in values if v is not None)


def _urgency(raw: Any, path: tuple[Any, ...], rep: _Report) -> str | None:
    if raw is None:
        return None
    if raw not in URGENCY_ORDER:
        rep.add(path, f"{raw!r} is not an urgency class ({', '.join(URGENCY_ORDER)})")
        return None
    return str(raw)


# --------------------------------------------------------------------------------- signals
_SIGNAL_KEYS = (
    "code", "label", "label_en", "keywords", "regex", "add_keywords", "add_regex", "weight",
    "raises_to", "group", "needs", "season", "months", "negatable", "event", "enabled",
)  # fmt: skip


def _signal_fields(raw: Mapping[Any, Any], path: tuple[Any, ...], rep: _Report) -> dict[str, Any]:
    """The fields given in one signal entry, checked; a bad value is reported and left out."""
    checks: dict[str, Any] = {
        "label": _text,
        "label_en": _text,
        "keywords": _keywords,
        "regex": _regexes,
        "add_keywords": _keywords,
        "add_regex": _regexes,
        "weight": lambda v, p, r: _int(v, p, r, 0, 100),
        "raises_to": _urgency,
        "group": lambda v, p, r: _code(v, p, r, allow_none=True),
        "needs": _texts,
        "season": _season,
        "months": _months,
        "negatable": _bool,
        "event": _bool,
        "enabled": _bool,
    }
    out: dict[str, Any] = {}
    for key, check in checks.items():
        if key in raw:
            value = check(raw[key], (*path, key), rep)
            if value is not None or (key in ("raises_to", "group") and raw[key] is None):
                out[key] = value
    return out


def _code(raw: Any, path: tuple[Any, ...], rep: _Report, *, allow_none: bool = False) -> str | None:
    if raw is None and allow_none:
        return None
    if not isinstance(raw, str) or not _CODE_RE.match(raw):
        rep.add(path, f"{raw!r} is not a code (lower-case letters, digits and _)")
        return None
    return raw


def _merge_signals(
    base: tuple[Signal, ...], raw: Any, path: tuple[Any, ...], rep: _Report
) -> tuple[tuple[Signal, ...], dict[str, int]]:
    """The base signals with the file's entries applied, and each code's entry number."""
    if not isinstance(raw, list):
        rep.add(path, "must be a list of signals (each with a code)")
        return base, {}
    signals = {s.code: s for s in base}
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        here = (*path, i)
        if not isinstance(entry, Mapping):
            rep.add(here, "must be a mapping with at least a code")
            continue
        _check_keys(entry, _SIGNAL_KEYS, here, rep)
        code = _code(entry.get("code"), (*here, "code"), rep)
        if code is None:
            continue
        if code in seen:
            rep.add((*here, "code"), f"{code!r} is already used by signals[{seen[code]}]")
            continue
        seen[code] = i
        merged = _apply_signal(signals.get(code), code, _signal_fields(entry, here, rep), here, rep)
        if merged is not None:
            signals[code] = merged
    return tuple(signals.values()), seen


def _apply_signal(
    old: Signal | None, code: str, given: dict[str, Any], path: tuple[Any, ...], rep: _Report
) -> Signal | None:
    adds = {"keywords": given.pop("add_keywords", ()), "regex": given.pop("add_regex", ())}
    if old is None:
        missing = [k for k in ("label", "label_en") if k not in given]
        for key in missing:
            rep.add((*path, key), f"is required for the new signal {code!r}")
        if missing:
            return None
        old = Signal(code=code, label=given["label"], label_en=given["label_en"])
    new = replace(old, **given)
    # add_… extend what the base had, so a city adds local words without copying the list.
    return replace(
        new,
        keywords=tuple(dict.fromkeys(new.keywords + adds["keywords"])),
        regex=tuple(dict.fromkeys(new.regex + adds["regex"])),
    )


def _check_signal_set(
    signals: tuple[Signal, ...], entries: dict[str, int], path: tuple[Any, ...], rep: _Report
) -> None:
    """Checks that need all signals at once: references, patterns, circles. Skipped when
    entries already have problems: a dropped bad value would only be reported twice."""
    if rep.problems:
        return
    index = {s.code for s in signals}
    groups = {s.group for s in signals if s.group}
    for s in signals:
        here = (*path, entries[s.code]) if s.code in entries else path
        if s.enabled and not (s.keywords or s.regex or s.needs):
            rep.add(here, f"signal {s.code!r} has no keywords, regex or needs: it can never fire")
        for need in s.needs:
            if need not in index and need not in groups:
                rep.add((*here, "needs"), f"{need!r} is neither a signal code nor a group")
    cycle = _needs_cycle(signals)
    if cycle:
        rep.add(path, f"signals need each other in a circle: {' → '.join(cycle)}")


def _needs_cycle(signals: tuple[Signal, ...]) -> list[str]:
    by_code = {s.code: s for s in signals}
    members: dict[str, list[str]] = {}
    for s in signals:
        if s.group:
            members.setdefault(s.group, []).append(s.code)

    def deps(code: str) -> list[str]:
        out: list[str] = []
        for need in by_code[code].needs:
            out.extend(members.get(need, [need] if need in by_code else []))
        return out

    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(code: str, trail: list[str]) -> list[str]:
        if state.get(code) == 1:
            return [*trail[trail.index(code) :], code]
        if state.get(code) == 2:
            return []
        state[code] = 1
        for dep in deps(code):
            found = visit(dep, [*trail, code])
            if found:
                return found
        state[code] = 2
        return []

    for s in signals:
        found = visit(s.code, [])
        if found:
            return found
    return []


# ------------------------------------------------------------------- the other sections
_NEGATION_KEYS = (
    "cues_zh", "cues_en", "hedges_zh", "hedges_en", "hedges_after_zh", "hedges_after_en",
    "undone_after_zh", "undone_after_en", "breaks_zh", "breaks_en", "window_zh", "window_en",
)  # fmt: skip


def _merge_negation(base: Negation, raw: Any, path: tuple[Any, ...], rep: _Report) -> Negation:
    data = _mapping(raw, path, rep)
    if data is None:
        return base
    _check_keys(data, _NEGATION_KEYS, path, rep)
    given: dict[str, Any] = {}
    for key in _NEGATION_KEYS[:-2]:
        if key in data:
            value = _regexes(data[key], (*path, key), rep)
            if value is not None:
                given[key] = value
    for key in ("window_zh", "window_en"):
        if key in data:
            window = _int(data[key], (*path, key), rep, 1, 60)
            if window is not None:
                given[key] = window
    return replace(base, **given)


def _merge_repeat(base: RepeatRule, raw: Any, path: tuple[Any, ...], rep: _Report) -> RepeatRule:
    data = _mapping(raw, path, rep)
    if data is None:
        return base
    _check_keys(data, ("points_per_repeat", "max_points"), path, rep)
    given = {
        key: value
        for key in ("points_per_repeat", "max_points")
        if key in data and (value := _int(data[key], (*path, key), rep, 0, 100)) is not None
    }
    return replace(base, **given)


def _level_map(raw: Any, path: tuple[Any, ...], rep: _Report, what: str) -> dict[str, str]:
    data = _mapping(raw, path, rep)
    out: dict[str, str] = {}
    for key, value in (data or {}).items():
        if not isinstance(key, str) or not key.strip():
            # YAML reads 0102 as the octal number 66: codes must be quoted to survive.
            rep.add((*path, key), f"{what} {key!r} must be quoted text, e.g. '0102'")
        elif value not in DEMAND_LEVELS:
            rep.add((*path, key), f"{value!r} is not a demand level ({', '.join(DEMAND_LEVELS)})")
        else:
            out[key.strip()] = value
    return out


def _merge_levels(
    base: tuple[DemandLevel, ...], raw: Any, path: tuple[Any, ...], rep: _Report
) -> tuple[DemandLevel, ...]:
    data = _mapping(raw, path, rep)
    levels = {lv.code: lv for lv in base}
    for code, entry in (data or {}).items():
        here = (*path, code)
        if code not in DEMAND_LEVELS:
            rep.add(here, f"unknown demand level (allowed: {', '.join(DEMAND_LEVELS)})")
            continue
        body = _mapping(entry, here, rep)
        if body is None:
            continue
        _check_keys(
            body, ("label", "label_en", "importance", "keywords", "add_keywords"), here, rep
        )
        given: dict[str, Any] = {}
        for key, check in (("label", _text), ("label_en", _text), ("keywords", _keywords)):
            if key in body and (value := check(body[key], (*here, key), rep)) is not None:
                given[key] = value
        if "importance" in body:
            importance = _number(body["importance"], (*here, "importance"), rep, 0.0, 1.0)
            if importance is not None:
                given["importance"] = importance
        old = levels.get(code)
        if old is None:
            missing = [k for k in ("label", "label_en", "importance") if k not in given]
            for key in missing:
                rep.add((*here, key), f"is required for the demand level {code!r}")
            if missing:
                continue
            old = DemandLevel(code, given["label"], given["label_en"], given["importance"])
        new = replace(old, **given)
        added = _keywords(body["add_keywords"], (*here, "add_keywords"), rep) if (
            "add_keywords" in body) else ()  # fmt: skip
        levels[code] = replace(new, keywords=tuple(dict.fromkeys(new.keywords + (added or ()))))
    return tuple(levels[c] for c in DEMAND_LEVELS if c in levels)


def _merge_demand(base: Demand, raw: Any, path: tuple[Any, ...], rep: _Report) -> Demand:
    data = _mapping(raw, path, rep)
    if data is None:
        return base
    _check_keys(data, ("levels", "categories", "category_names", "default_level"), path, rep)
    levels = _merge_levels(base.levels, data.get("levels"), (*path, "levels"), rep)
    categories = dict(base.categories)
    categories.update(_level_map(data.get("categories"), (*path, "categories"), rep, "code"))
    names = dict(base.category_names)
    names.update(_level_map(data.get("category_names"), (*path, "category_names"), rep, "name"))
    default = data.get("default_level", base.default_level)
    if default not in DEMAND_LEVELS:
        rep.add((*path, "default_level"), f"{default!r} is not a demand level")
        default = base.default_level
    return Demand(levels, tuple(categories.items()), tuple(names.items()), default)


def _merge_priority(base: Priority, raw: Any, path: tuple[Any, ...], rep: _Report) -> Priority:
    data = _mapping(raw, path, rep)
    if data is None:
        return base
    _check_keys(data, ("weights", "feasibility", "heat"), path, rep)
    given: dict[str, Any] = {}
    weights = _mapping(data.get("weights"), (*path, "weights"), rep) or {}
    _check_keys(weights, ("importance", "urgency", "feasibility"), (*path, "weights"), rep)
    for key, value in weights.items():
        if key in ("importance", "urgency", "feasibility"):
            number = _number(value, (*path, "weights", key), rep, 0.0, 100.0)
            if number is not None:
                given[f"weight_{key}"] = number
    given.update(_merge_feasibility(base, data.get("feasibility"), (*path, "feasibility"), rep))
    heat = _mapping(data.get("heat"), (*path, "heat"), rep) or {}
    _check_keys(heat, ("step", "max"), (*path, "heat"), rep)
    for key in ("step", "max"):
        if (
            key in heat
            and (value := _number(heat[key], (*path, "heat", key), rep, 0, 1)) is not None
        ):
            given[f"heat_{key}"] = value
    merged = replace(base, **given)
    if merged.weight_importance + merged.weight_urgency + merged.weight_feasibility <= 0:
        rep.add((*path, "weights"), "at least one weight must be above 0")
    return merged


def _merge_feasibility(
    base: Priority, raw: Any, path: tuple[Any, ...], rep: _Report
) -> dict[str, Any]:
    data = _mapping(raw, path, rep)
    if not data:
        return {}
    _check_keys(data, ("default", "levels", "categories"), path, rep)
    given: dict[str, Any] = {}
    if "default" in data:
        value = _feasibility(data["default"], (*path, "default"), rep)
        if value is not None:
            given["feasibility_default"] = value
    levels = dict(base.feasibility_levels)
    for key, raw_value in (_mapping(data.get("levels"), (*path, "levels"), rep) or {}).items():
        if key not in DEMAND_LEVELS:
            rep.add((*path, "levels", key), "unknown demand level")
        elif (value := _feasibility(raw_value, (*path, "levels", key), rep)) is not None:
            levels[key] = value
    categories = dict(base.feasibility_categories)
    raw_cats = _mapping(data.get("categories"), (*path, "categories"), rep) or {}
    for key, raw_value in raw_cats.items():
        if not isinstance(key, str):
            rep.add((*path, "categories", key), f"code {key!r} must be quoted text, e.g. '0102'")
        elif (value := _feasibility(raw_value, (*path, "categories", key), rep)) is not None:
            categories[key] = value
    given["feasibility_levels"] = tuple(levels.items())
    given["feasibility_categories"] = tuple(categories.items())
    return given


# ------------------------------------------------------------------------------- parsing
_TOP_KEYS = ("format", "thresholds", "signals", "negation", "repeat", "demand", "priority")


def _merge_thresholds(
    base: Thresholds, raw: Any, path: tuple[Any, ...], rep: _Report
) -> Thresholds:
    data = _mapping(raw, path, rep)
    if data is None:
        return base
    _check_keys(data, ("category", "place"), path, rep)
    given: dict[str, float] = {}
    for key in ("category", "place"):
        if key in data and (value := _number(data[key], (*path, key), rep, 0.0, 1.0)) is not None:
            given[key] = value
    return replace(base, **given)


def parse_understanding(
    data: Any,
    where: str,
    *,
    base: UnderstandingConfig | None = None,
    lines: Mapping[tuple[Any, ...], int] | None = None,
) -> UnderstandingConfig:
    """``data`` (a city's understanding.yaml, read) laid over ``base`` (the defaults).

    Raises UnderstandingError listing every problem, each naming ``where``, the key path and,
    when ``lines`` (key path → line) is given, the line.
    """
    base = default_config() if base is None else base
    rep = _Report(where, lines)
    root = _mapping(data, (), rep)
    if root is None:
        rep.raise_if_any()
        return base
    _check_keys(root, _TOP_KEYS, (), rep)
    if "format" in root and root["format"] != FORMAT:
        rep.add(("format",), f"must be {FORMAT!r}")
    signals, entries = base.signals, dict[str, int]()
    if "signals" in root:
        signals, entries = _merge_signals(base.signals, root["signals"], ("signals",), rep)
    _check_signal_set(signals, entries, ("signals",), rep)
    config = UnderstandingConfig(
        thresholds=_merge_thresholds(base.thresholds, root.get("thresholds"), ("thresholds",), rep),
        signals=signals,
        negation=_merge_negation(base.negation, root.get("negation"), ("negation",), rep),
        repeat=_merge_repeat(base.repeat, root.get("repeat"), ("repeat",), rep),
        demand=_merge_demand(base.demand, root.get("demand"), ("demand",), rep),
        priority=_merge_priority(base.priority, root.get("priority"), ("priority",), rep),
    )
    if len(config.demand.levels) != len(DEMAND_LEVELS):
        missing = [c for c in DEMAND_LEVELS if c not in {lv.code for lv in config.demand.levels}]
        rep.add(("demand", "levels"), f"missing level(s): {', '.join(missing)}")
    rep.raise_if_any()
    return config


def read_yaml(path: str | os.PathLike[str], where: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """The document in ``path`` and the line of every key and list item in it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnderstandingError(where, [f"{where}: cannot read the file: {exc}"]) from exc
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters at once
    except yaml.YAMLError as exc:
        raise UnderstandingError(where, [f"{where}: not valid YAML: {exc}"]) from exc
    try:
        root = loader.get_single_node()
        lines: dict[tuple[Any, ...], int] = {}
        problems: list[str] = []
        if root is not None:
            _walk(root, (), lines, problems, where)
        if problems:
            raise UnderstandingError(where, problems)
        data = loader.construct_document(root) if root is not None else None
    except (yaml.YAMLError, RecursionError) as exc:
        raise UnderstandingError(where, [f"{where}: not valid YAML: {exc}"]) from exc
    finally:
        loader.dispose()
    return data, lines


def _walk(
    node: yaml.Node,
    path: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    problems: list[str],
    where: str,
) -> None:
    # PyYAML silently keeps the last of two equal keys, which would hide a typo'd override.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            here = (*path, name)
            if name in seen:
                problems.append(
                    f"{where}: {_dotted(here)} (line {key.start_mark.line + 1}): duplicate key"
                )
            seen.add(name)
            lines.setdefault(here, key.start_mark.line + 1)
            _walk(value, here, lines, problems, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, problems, where)


def load_understanding(
    path: str | os.PathLike[str],
    *,
    where: str | None = None,
    base: UnderstandingConfig | None = None,
) -> dict[str, Any]:
    """A city's understanding.yaml checked and merged over the defaults, as the JSON to store
    in ``City.understanding``. Raises UnderstandingError with every problem found."""
    where = where or os.fspath(path)
    data, lines = read_yaml(path, where)
    return config_to_json(parse_understanding(data, where, base=base, lines=lines))


@cache
def default_config() -> UnderstandingConfig:
    """The shipped defaults, read once."""
    data, lines = read_yaml(DEFAULTS_PATH, "defaults/understanding.yaml")
    return parse_understanding(data, "defaults/understanding.yaml", base=_EMPTY, lines=lines)


_EMPTY = UnderstandingConfig()


# ------------------------------------------------------------------------------------ JSON
def _signal_json(s: Signal) -> dict[str, Any]:
    out: dict[str, Any] = {"code": s.code, "label": s.label, "label_en": s.label_en}
    out.update(keywords=list(s.keywords), regex=list(s.regex), weight=s.weight)
    out.update(raises_to=s.raises_to, group=s.group, needs=list(s.needs))
    out.update(season=[str(x) for x in s.season], months=list(s.months))
    out.update(negatable=s.negatable, event=s.event, enabled=s.enabled)
    return out


def config_to_json(config: UnderstandingConfig) -> dict[str, Any]:
    """The whole configuration as plain JSON (what ``City.understanding`` holds)."""
    neg, dem, pri = config.negation, config.demand, config.priority
    return {
        "format": FORMAT,
        "thresholds": {
            "category": config.thresholds.category,
            "place": config.thresholds.place,
        },
        "signals": [_signal_json(s) for s in config.signals],
        "negation": {
            "cues_zh": list(neg.cues_zh),
            "cues_en": list(neg.cues_en),
            "hedges_zh": list(neg.hedges_zh),
            "hedges_en": list(neg.hedges_en),
            "hedges_after_zh": list(neg.hedges_after_zh),
            "hedges_after_en": list(neg.hedges_after_en),
            "undone_after_zh": list(neg.undone_after_zh),
            "undone_after_en": list(neg.undone_after_en),
            "breaks_zh": list(neg.breaks_zh),
            "breaks_en": list(neg.breaks_en),
            "window_zh": neg.window_zh,
            "window_en": neg.window_en,
        },
        "repeat": {
            "points_per_repeat": config.repeat.points_per_repeat,
            "max_points": config.repeat.max_points,
        },
        "demand": {
            "levels": {
                lv.code: {
                    "label": lv.label,
                    "label_en": lv.label_en,
                    "importance": lv.importance,
                    "keywords": list(lv.keywords),
                }
                for lv in dem.levels
            },
            "categories": dict(dem.categories),
            "category_names": dict(dem.category_names),
            "default_level": dem.default_level,
        },
        "priority": {
            "weights": {
                "importance": pri.weight_importance,
                "urgency": pri.weight_urgency,
                "feasibility": pri.weight_feasibility,
            },
            "feasibility": {
                "default": pri.feasibility_default,
                "levels": dict(pri.feasibility_levels),
                "categories": dict(pri.feasibility_categories),
            },
            "heat": {"step": pri.heat_step, "max": pri.heat_max},
        },
    }


_from_json_cache: dict[str, UnderstandingConfig] = {}


def config_from_json(obj: Mapping[str, Any] | None) -> UnderstandingConfig:
    """Rebuild what :func:`config_to_json` wrote; empty or None means the shipped defaults."""
    if not obj:
        return default_config()
    data = dict(obj)
    if data.get("format") != FORMAT:
        raise UnderstandingError(
            "City.understanding", [f"City.understanding: format must be {FORMAT!r}"]
        )
    return parse_understanding(data, "City.understanding", base=_EMPTY)


def cached_config_from_json(obj: Mapping[str, Any] | None) -> UnderstandingConfig:
    """:func:`config_from_json` remembered by content, for callers that hold the stored JSON
    (e.g. per request at intake) and must not re-validate and re-compile it every time."""
    if not obj:
        return default_config()
    key = json.dumps(obj, sort_keys=True, ensure_ascii=False)
    config = _from_json_cache.get(key)
    if config is None:
        if len(_from_json_cache) > 16:  # a city has one; tests may make a few
            _from_json_cache.clear()
        config = _from_json_cache[key] = config_from_json(obj)
    return config
