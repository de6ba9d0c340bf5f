"""Explainable urgency: which words in a request make it urgent, and by how much.

Each signal of the city's configuration (see ``understanding.py``) adds its points once when
one of its patterns is found and not cancelled; the score is their sum, capped at 100. A
signal may also raise the request to a minimum urgency class (gas leak → emergency); the
suggestion is the most urgent class raised, or None to keep the category's own. Every point
comes with the words that earned it, so an operator can see why and overrule it.

All patterns of a configuration are compiled once into one expression (``patterns.py``)
and matched in one pass over the text, so twenty signals cost little more than one.
Negation and hedges are judged from the few characters before each match (see
``_cancelled`` and docs/nlp.md, "The negation rule").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jiesu.nlp.patterns import Alternative, PatternSet, keyword_alternative, regex_alternatives
from jiesu.nlp.understanding import (
    URGENCY_ORDER,
    Signal,
    UnderstandingConfig,
    default_config,
    fold,
)

MAX_SCORE = 100
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
_CLAUSE_END = frozenset("，。！？；,.!?;\n")


@dataclass(frozen=True)
class Reason:
    """Points given for one signal, with the words that earned them."""

    code: str
    label: str
    label_en: str
    points: int
    text: str = ""  # the matched words as the citizen wrote them
    start: int = -1  # offsets into the scored text; -1 when not from the text (repeat_count)
    end: int = -1
    raises_to: str | None = None

    def as_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        out = {
            "code": self.code, "label": self.label, "label_en": self.label_en,
            "points": self.points, "text": self.text, "start": self.start, "end": self.end,
            "raises_to": self.raises_to,
        }  # fmt: skip
        return out if with_text else _without_text(out)


@dataclass(frozen=True)
class Ignored:
    """A match that did not count, and why (negated, hedged, out of season, needs …)."""

    code: str
    text: str
    start: int
    end: int
    why: str

    def as_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        out = {"code": self.code, "text": self.text, "start": self.start, "end": self.end,
               "why": self.why}  # fmt: skip
        return out if with_text else _without_text(out)


@dataclass(frozen=True)
class UrgencyResult:
    score: int
    urgency: str | None  # minimum class suggested by the signals; None keeps the category's
    reasons: list[Reason] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)

    def as_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        """Plain JSON. ``with_text=False`` leaves out the citizen's words (offsets stay), for
        permanent records such as event payloads, which must hold no personal data."""
        return {
            "score": self.score,
            "urgency": self.urgency,
            "reasons": [r.as_dict(with_text=with_text) for r in self.reasons],
            "ignored": [i.as_dict(with_text=with_text) for i in self.ignored],
        }


def _without_text(data: dict[str, Any]) -> dict[str, Any]:
    # A gap in a pattern ("拖欠…工资") can take in a name; offsets point into the request.
    return {k: v for k, v in data.items() if k != "text"}


# ------------------------------------------------------------------------------- matcher
class Matcher:
    """One configuration compiled: every pattern of every enabled signal in one PatternSet."""

    def __init__(self, config: UnderstandingConfig):
        self.config = config
        self.signals: tuple[Signal, ...] = tuple(s for s in config.signals if s.enabled)
        tagged: list[tuple[int, Alternative]] = []
        for i, s in enumerate(self.signals):
            tagged.extend((i, keyword_alternative(k)) for k in s.keywords)
            for pattern in s.regex:
                tagged.extend((i, alt) for alt in regex_alternatives(pattern))
        self.patterns = PatternSet(tagged)
        neg = config.negation
        self.cues_zh = _union(neg.cues_zh)
        self.cues_en = _union(neg.cues_en)
        self.hedges_zh = _union(neg.hedges_zh)
        self.hedges_en = _union(neg.hedges_en)
        self.hedges_after_zh = _union(neg.hedges_after_zh)
        self.hedges_after_en = _union(neg.hedges_after_en)
        self.undone_zh = _union(neg.undone_after_zh)
        self.undone_en = _union(neg.undone_after_en)
        self.breaks_zh = _last_of(neg.breaks_zh)
        self.breaks_en = _last_of(neg.breaks_en)
        self.groups: dict[str, set[int]] = {}
        for i, s in enumerate(self.signals):
            if s.group:
                self.groups.setdefault(s.group, set()).add(i)
        self.index = {s.code: i for i, s in enumerate(self.signals)}
        self.needy = tuple(i for i, s in enumerate(self.signals) if s.needs)


def _union(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def _last_of(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    # Greedy ".*" first, so a match ends at the last occurrence.
    return re.compile(".*(?:" + "|".join(patterns) + ")", re.S) if patterns else None


_matchers: dict[int, Matcher] = {}


def matcher_for(config: UnderstandingConfig) -> Matcher:
    """The compiled matcher of ``config``, built once per configuration object."""
    m = _matchers.get(id(config))
    if m is None or m.config is not config:
        if len(_matchers) > 32:  # configurations are few; never let ids of dead ones pile up
            _matchers.clear()
        m = _matchers[id(config)] = Matcher(config)
    return m


# ----------------------------------------------------------------------------- negation
def _clause_before(text: str, start: int, window: int) -> str:
    """Up to ``window`` characters before ``start``, cut at the last clause boundary."""
    lo = max(0, start - window)
    before = text[lo:start]
    for i in range(len(before) - 1, -1, -1):
        if before[i] in _CLAUSE_END:
            return before[i + 1 :]
    return before


def _cancelled(m: Matcher, signal: Signal, folded: str, start: int, end: int) -> str | None:
    """Why the match at ``start``–``end`` does not count, or None. Cues are read before the
    match only: negation words inside a pattern ("没有水") are the complaint itself."""
    if not (signal.negatable or signal.event):
        return None
    english = folded[start].isascii()
    if signal.negatable and (cue := _negation(m, folded, start, end, english)):
        return f"negated by {cue!r}"
    if signal.event and (hedge := _hedge(m, folded, start, end, english)):
        return f"hedged by {hedge!r}"
    return None


def _before(m: Matcher, folded: str, start: int, english: bool) -> str:
    neg = m.config.negation
    before = _clause_before(folded, start, neg.window_en if english else neg.window_zh)
    breaks = m.breaks_en if english else m.breaks_zh
    if breaks is not None and (cut := breaks.match(before)):
        before = before[cut.end() :]
    return before


def _negation(m: Matcher, folded: str, start: int, end: int, english: bool) -> str | None:
    cues = m.cues_en if english else m.cues_zh
    hit = cues.search(_before(m, folded, start, english)) if cues is not None else None
    if hit is None:
        return None
    undone = m.undone_en if english else m.undone_zh
    return hit.group(0) if undone is None or undone.match(folded, end) is None else None


def _hedge(m: Matcher, folded: str, start: int, end: int, english: bool) -> str | None:
    hedges = m.hedges_en if english else m.hedges_zh
    if hedges is not None and (hit := hedges.search(_before(m, folded, start, english))):
        return hit.group(0)
    after = m.hedges_after_en if english else m.hedges_after_zh
    if after is not None and (hit := after.match(folded, end)):
        return hit.group(0)
    return None


# ------------------------------------------------------------------------------ scoring
def _local_day(received_at: datetime | date | None, tz: ZoneInfo) -> date | None:
    if received_at is None:
        return None
    if isinstance(received_at, datetime):
        # Naive times are taken as already local; aware ones are moved into the city's zone.
        return (received_at.astimezone(tz) if received_at.tzinfo else received_at).date()
    return received_at


def _scan(m: Matcher, text: str, folded: str, ignored: list[Ignored]) -> dict[int, tuple[int, int]]:
    """First uncancelled match span of each signal found in the text."""
    found: dict[int, tuple[int, int]] = {}
    for i, start, end in m.patterns.finditer(folded):
        if i in found and found[i][0] <= start:
            continue
        why = _cancelled(m, m.signals[i], folded, start, end)
        if why:
            ignored.append(Ignored(m.signals[i].code, text[start:end], start, end, why))
            continue
        found[i] = (start, end)
    return found


def _resolve_needs(
    m: Matcher,
    found: dict[int, tuple[int, int]],
    day: date | None,
    ignored: list[Ignored],
    text: str,
) -> dict[int, tuple[int, int]]:
    """Signals that count: in season, and with what they need. Grows to a fixed point (the
    configuration has no circles); a signal without patterns takes the span it relies on."""
    if not found:
        return found
    candidates = {i: span for i, span in found.items() if _season_ok(m.signals[i], day)}
    for i in found.keys() - candidates.keys():
        s, (a, b) = m.signals[i], found[i]
        ignored.append(Ignored(s.code, text[a:b], a, b, f"out of season ({_season_text(s)})"))
    active = {i: span for i, span in candidates.items() if not m.signals[i].needs}
    changed = True
    while changed:
        changed = False
        for i in m.needy:
            s = m.signals[i]
            if i in active or (support := _needed(m, s, active)) is None:
                continue
            if i in candidates:
                active[i] = candidates[i]
            elif not (s.keywords or s.regex) and _season_ok(s, day):
                active[i] = support
            else:
                continue
            changed = True
    for i in candidates.keys() - active.keys():
        s, (a, b) = m.signals[i], candidates[i]
        ignored.append(Ignored(s.code, text[a:b], a, b, f"needs {' or '.join(s.needs)}"))
    return active


def _needed(m: Matcher, s: Signal, active: dict[int, tuple[int, int]]) -> tuple[int, int] | None:
    for need in s.needs:
        members = m.groups.get(need) or ({m.index[need]} if need in m.index else set())
        for j in sorted(members):
            if j in active:
                return active[j]
    return None


def _season_ok(s: Signal, day: date | None) -> bool:
    # Without a date the season cannot be judged; the signal counts rather than hiding it.
    return day is None or s.in_season(day)


def _season_text(s: Signal) -> str:
    parts = [str(x) for x in s.season] + ([f"months {list(s.months)}"] if s.months else [])
    return ", ".join(parts)


def score_urgency(
    text: str,
    *,
    received_at: datetime | date | None = None,
    repeat_count: int = 0,
    config: UnderstandingConfig | None = None,
    tz: ZoneInfo = DEFAULT_TZ,
) -> UrgencyResult:
    """Score ``text`` 0–100 with the reasons; see the module docstring.

    ``received_at`` decides seasonal signals (its date in ``tz``, the city's zone);
    ``repeat_count`` is how many earlier requests history links to this one.
    """
    config = config or default_config()
    m = matcher_for(config)
    folded = fold(text or "")
    ignored: list[Ignored] = []
    found = _scan(m, text or "", folded, ignored)
    active = _resolve_needs(m, found, _local_day(received_at, tz), ignored, text or "")
    reasons = [_reason(m.signals[i], text, span) for i, span in sorted(active.items(),
               key=lambda kv: (kv[1][0], kv[0]))]  # fmt: skip
    if repeat_count > 0 and config.repeat.points_per_repeat:
        points = min(config.repeat.max_points, config.repeat.points_per_repeat * repeat_count)
        reasons.append(
            Reason("repeat_count", f"此前同类诉求 {repeat_count} 次",
                   f"{repeat_count} earlier request(s) on the same matter", points)
        )  # fmt: skip
    raised = [r.raises_to for r in reasons if r.raises_to]
    urgency = min(raised, key=URGENCY_ORDER.index) if raised else None
    score = min(MAX_SCORE, sum(r.points for r in reasons))
    return UrgencyResult(score, urgency, reasons, ignored)


def _reason(s: Signal, text: str, span: tuple[int, int]) -> Reason:
    a, b = span
    return Reason(s.code, s.label, s.label_en, s.weight, text[a:b], a, b, s.raises_to)


def more_urgent(a: str | None, b: str | None) -> str | None:
    """The more urgent of two classes (None counts as no opinion)."""
    if a is None or b is None:
        return a or b
    return min(a, b, key=URGENCY_ORDER.index)
