"""A weak sentiment and anger signal from a small lexicon, with the words behind it.

This is a WEAK signal. Word lists miss irony, sarcasm, dialect and politely worded despair,
and an angry citizen is not more right or more urgent than a calm one. It is meant only to
order call-backs (an angry caller may want a person to ring first) and must never gate,
route, rank or close anything. Urgency comes from ``urgency.py``, not from tone.

``score`` runs from −1 (angry, negative) to 1 (polite, pleased); ``anger`` from 0 to 1.
Points: angry words and threats to escalate (曝光, 找媒体, 上访, 投诉到市里) count against,
runs of "！！"/"？？" too; polite and pleased words count for, and politeness lowers anger.
Overlapping words count once, the longest ("不满意" not also "满意").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jiesu.nlp.patterns import PatternSet, keyword_alternative
from jiesu.nlp.understanding import fold

# (kind, points, words). Kinds: anger and escalation raise anger; negative lowers the score
# without being anger; polite lowers anger; positive raises the score.
LEXICON: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("anger", -2.0, (
        "忍无可忍", "欺人太甚", "岂有此理", "天理何在", "无法无天", "王八蛋", "混蛋", "无耻",
        "强烈谴责", "愤怒至极", "气死了", "丧心病狂", "furious", "outrageous", "disgusting",
        "disgraceful", "shame on you",
    )),
    ("anger", -1.0, (
        "气愤", "愤怒", "愤慨", "太过分", "过分", "无法忍受", "忍受不了", "受不了", "黑心",
        "坑人", "骗子", "流氓", "恶劣", "可恶", "强烈不满", "极其不满", "非常不满", "寒心",
        "心寒", "凭什么", "不作为", "乱作为", "推诿", "踢皮球", "敷衍", "糊弄", "官官相护",
        "懒政", "置之不理", "不闻不问", "视而不见", "讨个说法", "讨说法", "angry", "ridiculous",
        "unacceptable", "fed up", "sick of", "useless", "incompetent", "pathetic", "a joke",
    )),
    ("negative", -1.0, (
        "不满", "不满意", "失望", "绝望", "崩溃", "无奈", "无助", "痛苦", "担忧", "焦虑",
        "不及时", "不负责", "不热情", "态度差", "态度恶劣", "dissatisfied", "disappointed",
        "unhappy", "frustrated", "worried",
    )),
    ("escalation", -1.5, (
        "曝光", "找媒体", "向媒体", "媒体曝光", "联系媒体", "上访", "信访", "集体上访",
        "投诉到市里", "到市里投诉", "向上级反映", "往上告", "告到", "起诉", "打官司", "法律途径",
        "拉横幅", "维权到底", "发到网上", "发微博", "发抖音", "go to the media",
        "contact the media", "call the press", "sue", "lawyer", "take legal action",
    )),
    ("polite", 0.5, (
        "您好", "你好", "谢谢", "感谢", "麻烦您", "麻烦你们", "麻烦相关", "辛苦", "恳请", "拜托",
        "劳驾", "请问", "敬请", "盼复", "please", "thank you", "thanks", "kindly", "appreciate",
    )),
    ("positive", 1.5, (
        # Not "满意" or "及时" alone: "给一个满意的答复", "请及时处理" ask, they do not praise.
        "非常满意", "很满意", "十分满意", "表扬", "点赞", "好评", "处理及时", "很及时", "非常及时",
        "很热情", "非常好", "解决了", "very satisfied", "great job", "excellent", "helpful",
        "well done",
    )),
)  # fmt: skip
EXCLAIM_RUN = re.compile(r"[!！?？]{2,}")
RUN_POINTS, RUN_MAX = -0.5, -2.0  # per mark beyond the first in a run; cap per run
SCALE = 3.0  # raw points p become p / (|p| + SCALE): 3 points of anger is −0.5
POLITE_EASES_ANGER = 0.5
_ANGRY_KINDS = frozenset({"anger", "escalation", "exclaim"})


@dataclass(frozen=True)
class Cue:
    kind: str
    text: str
    start: int
    end: int
    points: float

    def as_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        out = {"kind": self.kind, "text": self.text, "start": self.start, "end": self.end,
               "points": self.points}  # fmt: skip
        return out if with_text else {k: v for k, v in out.items() if k != "text"}


@dataclass(frozen=True)
class Sentiment:
    score: float  # −1 angry/negative … 1 polite/pleased
    anger: float  # 0 … 1
    reasons: list[Cue] = field(default_factory=list)

    def as_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        return {"score": self.score, "anger": self.anger,
                "reasons": [c.as_dict(with_text=with_text) for c in self.reasons]}  # fmt: skip


_ENTRIES: list[tuple[str, float, str]] = [
    (kind, points, fold(word)) for kind, points, words in LEXICON for word in words
]
_PATTERNS = PatternSet([(n, keyword_alternative(w)) for n, (_, _, w) in enumerate(_ENTRIES)])


def _word_cues(text: str, folded: str) -> list[Cue]:
    hits = sorted(
        ((start, -(end - start), n) for n, start, end in _PATTERNS.finditer(folded)),
    )
    cues: list[Cue] = []
    taken_until = -1
    for start, neg_len, n in hits:
        if start < taken_until:  # inside a longer word already counted
            continue
        end = start - neg_len
        kind, points, _ = _ENTRIES[n]
        cues.append(Cue(kind, text[start:end], start, end, points))
        taken_until = end
    return cues


def _exclaim_cues(text: str) -> list[Cue]:
    return [
        Cue("exclaim", m.group(), m.start(), m.end(),
            max(RUN_MAX, RUN_POINTS * (len(m.group()) - 1)))
        for m in EXCLAIM_RUN.finditer(text)
    ]  # fmt: skip


def score_sentiment(text: str) -> Sentiment:
    """The weak tone of ``text``; see the module docstring for what it may be used for."""
    text = text or ""
    cues = sorted(_word_cues(text, fold(text)) + _exclaim_cues(text), key=lambda c: c.start)
    raw = sum(c.points for c in cues)
    angry = -sum(c.points for c in cues if c.kind in _ANGRY_KINDS)
    polite = sum(c.points for c in cues if c.kind == "polite")
    eased = max(0.0, angry - POLITE_EASES_ANGER * polite)
    return Sentiment(
        score=round(raw / (abs(raw) + SCALE), 3),
        anger=round(eased / (eased + SCALE), 3),
        reasons=cues,
    )
