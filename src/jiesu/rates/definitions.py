"""What counts in the three rates and the composite score: one documented configuration.

The defaults below are the city's policy unless a ``rates.yaml`` (in the data folder, or named
with ``--definitions``) says otherwise. A file only needs the keys it changes; an unknown key or
a value out of range is refused with the key named, because a silently ignored typo in a
scoring rule would rank a whole city's units on a rule nobody chose.

See docs/rates.md for the meaning of each key and the formula.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from jiesu.errors import BadInput

RATES = ("response", "resolution", "satisfaction")
# Answers to "was it solved?": today's call-back records yes/no; "partly" is the graded answer
# the call-back form will add, and already has its points here so scoring needs no change then.
RESOLUTION_ANSWERS = ("solved", "partly", "unsolved")
SATISFACTION_ANSWERS = ("satisfied", "basically", "unsatisfied")

DEFAULT_FILE = "rates.yaml"


@dataclass(frozen=True)
class Signals:
    """Thresholds of the gaming signals shown to supervisors (never part of the score)."""

    # High satisfaction together with a high reopen rate: the answers may not be genuine.
    high_satisfaction: float = 0.95
    high_reopen_rate: float = 0.15
    # A reply filed in the last `late_window` of the time between dispatch and the handling
    # deadline, with fewer than `short_reply_chars` characters of content.
    late_window: float = 0.10
    short_reply_chars: int = 15
    late_short_share: float = 0.20
    # Share of a unit's replies that repeat another of its replies word for word (normalised).
    duplicate_reply_share: float = 0.30
    # Share of call-backs that never reached the caller (needs the call-back task records).
    unreachable_share: float = 0.30
    # A signal needs at least this many cases behind it: two replies are not a pattern.
    min_cases: int = 5


@dataclass(frozen=True)
class Definitions:
    weights: dict[str, float] = field(
        default_factory=lambda: {"response": 0.2, "resolution": 0.4, "satisfaction": 0.4}
    )
    resolution: dict[str, float] = field(
        default_factory=lambda: {"solved": 1.0, "partly": 0.5, "unsolved": 0.0}
    )
    satisfaction: dict[str, float] = field(
        default_factory=lambda: {"satisfied": 1.0, "basically": 0.8, "unsatisfied": 0.0}
    )
    # Demo data is marked synthetic; a live city that once ran the demo can leave it out.
    include_synthetic: bool = True
    # Fewer call-back answers than this: the unit is shown but not ranked, so that one caller
    # cannot decide a ranking (a unit with two answers swings 50 points on one of them).
    min_answers: int = 10
    # Category level at which rankings show what drags a unit down (1 = broadest).
    drag_category_level: int = 2
    signals: Signals = field(default_factory=Signals)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULTS = Definitions()


def _number(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise BadInput(key, f"must be a number between {low:g} and {high:g}, not {value!r}")
    if not low <= value <= high:
        raise BadInput(key, f"must be between {low:g} and {high:g}, not {value!r}")
    return float(value)


def _integer(key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise BadInput(key, f"must be a whole number of at least {low}, not {value!r}")
    return value


def _points(key: str, raw: Any, base: dict[str, float], names: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise BadInput(key, f"must be a mapping of {', '.join(names)} to points between 0 and 1")
    out = dict(base)
    for name, value in raw.items():
        if name not in names:
            raise BadInput(f"{key}.{name}", f"unknown answer; answers are {', '.join(names)}")
        out[name] = _number(f"{key}.{name}", value, 0.0, 1.0)
    return out


def _weights(raw: Any, base: dict[str, float]) -> dict[str, float]:
    out = _points("weights", raw, base, RATES)
    total = sum(out.values())
    # Weights that do not add up to 1 would put the score on another scale than 0–100.
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise BadInput("weights", f"must add up to 1; these add up to {total:g}")
    return out


def _signals(raw: Any) -> Signals:
    if not isinstance(raw, dict):
        raise BadInput("signals", "must be a mapping of signal thresholds")
    known = {f.name: f for f in fields(Signals)}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in known:
            raise BadInput(f"signals.{name}", f"unknown threshold; known: {', '.join(known)}")
        key = f"signals.{name}"
        if name in ("short_reply_chars", "min_cases"):
            values[name] = _integer(key, value, 1)
        else:
            values[name] = _number(key, value, 0.0, 1.0)
    return replace(Signals(), **values)


def parse_definitions(raw: dict[str, Any] | None) -> Definitions:
    """Definitions from a mapping that may name only the keys it changes."""
    if raw is None:
        return DEFAULTS
    if not isinstance(raw, dict):
        raise BadInput("definitions", "must be a mapping of keys to values")
    d = DEFAULTS
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "weights":
            values[key] = _weights(value, d.weights)
        elif key == "resolution":
            values[key] = _points(key, value, d.resolution, RESOLUTION_ANSWERS)
        elif key == "satisfaction":
            values[key] = _points(key, value, d.satisfaction, SATISFACTION_ANSWERS)
        elif key == "include_synthetic":
            if not isinstance(value, bool):
                raise BadInput(key, f"must be true or false, not {value!r}")
            values[key] = value
        elif key == "min_answers":
            values[key] = _integer(key, value, 1)
        elif key == "drag_category_level":
            values[key] = _integer(key, value, 1)
            if values[key] > 3:
                raise BadInput(key, "categories have levels 1 to 3")
        elif key == "signals":
            values[key] = _signals(value)
        else:
            known = ", ".join(f.name for f in fields(Definitions))
            raise BadInput(key, f"unknown key in the rate definitions; known keys: {known}")
    return replace(d, **values)


def load_definitions(path: Path | None, *, data_dir: Path | None = None) -> Definitions:
    """The definitions in ``path``; else ``<data_dir>/rates.yaml`` if present; else defaults."""
    if path is None and data_dir is not None and (data_dir / DEFAULT_FILE).is_file():
        path = data_dir / DEFAULT_FILE
    if path is None:
        return DEFAULTS
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput("definitions", f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise BadInput("definitions", f"{path} is not valid YAML: {exc}") from exc
    try:
        return parse_definitions(raw)
    except BadInput as exc:
        raise BadInput(
            f"definitions ({path}): {exc.fields[0]['field']}", exc.fields[0]["problem"]
        ) from exc
