"""Demand level (诉求层次) and an importance–urgency–feasibility priority, and ``assess()``,
which gives intake everything the text says in one call.

Demand levels: ``basic`` (survival: water, power, heat, housing safety, wages, medical care),
``quality`` (quality of life: noise, environment, property management, parking) and
``development`` (education, jobs, business environment, suggestions). The category decides
when it is mapped (code prefix, then category names leaf first); otherwise the text's
keywords; otherwise the configured default.

Priority = weighted mean of three components in 0…1, times 100:
importance (the level's importance, plus a little for every doubling of callers),
urgency (the urgency score / 100) and feasibility (by category prefix, level or default).
Every component is returned with its value, weight and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jiesu.nlp.patterns import PatternSet, keyword_alternative
from jiesu.nlp.sentiment import Sentiment, score_sentiment
from jiesu.nlp.understanding import DEMAND_LEVELS, UnderstandingConfig, default_config, fold
from jiesu.nlp.urgency import DEFAULT_TZ, UrgencyResult, score_urgency


@dataclass(frozen=True)
class DemandResult:
    level: str
    label: str
    label_en: str
    source: str  # "category", "category_name", "text" or "default"
    evidence: list[str] = field(default_factory=list)  # the prefix, name or keywords used

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "label": self.label, "label_en": self.label_en,
                "source": self.source, "evidence": self.evidence}  # fmt: skip


@dataclass(frozen=True)
class Component:
    name: str  # importance, urgency, feasibility
    value: float  # 0…1
    weight: float
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "weight": self.weight, "why": self.why}


@dataclass(frozen=True)
class PriorityResult:
    score: float  # 0…100
    components: list[Component]

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "components": [c.as_dict() for c in self.components]}


@dataclass(frozen=True)
class Assessment:
    urgency: UrgencyResult
    demand: DemandResult
    priority: PriorityResult
    sentiment: Sentiment

    def as_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        """Everything, as plain JSON; ``with_text=False`` for an event payload (offsets into
        the request's text instead of the citizen's words)."""
        return {
            "urgency": self.urgency.as_dict(with_text=with_text),
            "demand": self.demand.as_dict(),
            "priority": self.priority.as_dict(),
            "sentiment": self.sentiment.as_dict(with_text=with_text),
        }


# -------------------------------------------------------------------------- demand level
class _DemandWords:
    def __init__(self, config: UnderstandingConfig):
        self.config = config
        self.words = [(lv.code, kw) for lv in config.demand.levels for kw in lv.keywords]
        self.patterns = PatternSet([(n, keyword_alternative(kw)) for n, (_, kw) in
                                    enumerate(self.words)])  # fmt: skip


_demand_words: dict[int, _DemandWords] = {}


def _words_for(config: UnderstandingConfig) -> _DemandWords:
    w = _demand_words.get(id(config))
    if w is None or w.config is not config:
        if len(_demand_words) > 32:
            _demand_words.clear()
        w = _demand_words[id(config)] = _DemandWords(config)
    return w


def _longest_prefix(code: str, table: Sequence[tuple[str, Any]]) -> tuple[str, Any] | None:
    best = None
    for prefix, value in table:
        if code.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, value)
    return best


def _result(
    config: UnderstandingConfig, code: str, source: str, evidence: list[str]
) -> DemandResult:
    lv = config.demand.level(code)
    return DemandResult(lv.code, lv.label, lv.label_en, source, evidence)


def demand_level(
    text: str,
    *,
    category_code: str | None = None,
    category_names: Sequence[str] = (),
    config: UnderstandingConfig | None = None,
) -> DemandResult:
    """The demand level: the category's when it is mapped, else the text's, else the default.

    ``category_names`` are the category's names from the leaf up (冬季采暖, 城市建设和市政管理,
    城乡建设), so the most specific mapped name decides.
    """
    config = config or default_config()
    if category_code and (hit := _longest_prefix(category_code, config.demand.categories)):
        return _result(config, hit[1], "category", [hit[0]])
    names = dict(config.demand.category_names)
    for name in category_names:
        if name in names:
            return _result(config, names[name], "category_name", [name])
    words = _words_for(config)
    found: dict[str, list[str]] = {}
    for n, _start, _end in words.patterns.finditer(fold(text or "")):
        level, kw = words.words[n]
        if kw not in found.setdefault(level, []):
            found[level].append(kw)
    if found:
        # Most distinct keywords wins; a tie goes to the more basic need.
        level = max(found, key=lambda lv: (len(found[lv]), -DEMAND_LEVELS.index(lv)))
        return _result(config, level, "text", found[level])
    return _result(config, config.demand.default_level, "default", [])


# ------------------------------------------------------------------------------ priority
def priority(
    demand: DemandResult,
    urgency: UrgencyResult,
    *,
    heat: int = 1,
    category_code: str | None = None,
    config: UnderstandingConfig | None = None,
) -> PriorityResult:
    """Importance, urgency and feasibility, each shown, and their weighted mean × 100.

    ``heat`` is how many callers raised the same matter (1 = only this one).
    """
    config = config or default_config()
    pri = config.priority
    components = [
        _importance(demand, heat, config),
        Component("urgency", round(urgency.score / 100, 3), pri.weight_urgency,
                  f"urgency score {urgency.score}"),
        _feasibility(demand, category_code, config),
    ]  # fmt: skip
    total_weight = sum(c.weight for c in components) or 1.0
    score = 100 * sum(c.value * c.weight for c in components) / total_weight
    return PriorityResult(round(score, 1), components)


def _importance(demand: DemandResult, heat: int, config: UnderstandingConfig) -> Component:
    pri = config.priority
    base = config.demand.level(demand.level).importance
    # Doubling the callers adds a fixed step: 2 callers +step, 4 → +2·step, up to heat_max.
    bonus = min(pri.heat_max, pri.heat_step * math.log2(max(1, heat)))
    value = min(1.0, base + bonus)
    why = f"{demand.level} needs ({demand.source}) {base:g}"
    if bonus:
        why += f" + {bonus:.2f} for {heat} callers"
    return Component("importance", round(value, 3), pri.weight_importance, why)


def _feasibility(
    demand: DemandResult, category_code: str | None, config: UnderstandingConfig
) -> Component:
    pri = config.priority
    weight = pri.weight_feasibility
    if category_code and (hit := _longest_prefix(category_code, pri.feasibility_categories)):
        return Component("feasibility", hit[1], weight, f"category {hit[0]}")
    levels = dict(pri.feasibility_levels)
    if demand.level in levels:
        return Component("feasibility", levels[demand.level], weight, f"{demand.level} level")
    return Component("feasibility", pri.feasibility_default, weight, "default")


# -------------------------------------------------------------------------------- assess
def assess(
    text: str,
    *,
    category_code: str | None = None,
    category_names: Sequence[str] = (),
    received_at: datetime | date | None = None,
    repeat_count: int = 0,
    heat: int = 1,
    config: UnderstandingConfig | None = None,
    tz: ZoneInfo = DEFAULT_TZ,
) -> Assessment:
    """Urgency, demand level, priority and the weak sentiment of one request's text."""
    config = config or default_config()
    urgency = score_urgency(
        text, received_at=received_at, repeat_count=repeat_count, config=config, tz=tz
    )
    demand = demand_level(
        text, category_code=category_code, category_names=category_names, config=config
    )
    return Assessment(
        urgency=urgency,
        demand=demand,
        priority=priority(demand, urgency, heat=heat, category_code=category_code, config=config),
        sentiment=score_sentiment(text),
    )
