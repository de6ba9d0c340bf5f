"""Reply quality (答复质量): does a unit's answer address what was asked, say what was done and
when, and is it more than a copy of the unit's last answer?

Five components, each 0–1 with the reasons behind it, and an overall score 0–100 for the
supervisor's queue:

* relevance — the request's key terms (places, organisations and objects weigh most; words
  every request uses weigh nothing) found in the reply, not counting the reply's quotation of
  the request's own subject ("关于您反映的“…”一事");
* concreteness — actions taken (已/经核查/现场/安排/整改), dates and deadlines, a named
  responsible office, a contact phone, quantities;
* template — how close the reply is to the unit's earlier replies, with quotations dropped and
  digits masked, so a copy that changes only the name and the date is a copy (but the same
  answer to a repeat of the same request is not);
* courtesy — greeting, thanks, 您; a reply that blames the citizen loses it all;
* length — too short to say anything, or long beyond reading.

The weights are in ``WEIGHTS``; the thresholds behind the flags are named constants. How the
score compares with a reader's grades of 60 real replies is in docs/nlp.md.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rjieba

from jiesu.nlp.duplicates import THRESHOLD as DUPLICATE_THRESHOLD
from jiesu.nlp.duplicates import DuplicateIndex
from jiesu.nlp.normalize import normalize
from jiesu.nlp.shingles import (
    MAX_DF,
    MIN_CORPUS,
    NO_CORPUS,
    ShingleStats,
    Weighted,
    compact,
    shingles,
    similarity,
)

WEIGHTS: Mapping[str, float] = {
    "relevance": 0.35,
    "concreteness": 0.30,
    "template": 0.15,
    "courtesy": 0.10,
    "length": 0.10,
}
assert abs(sum(WEIGHTS.values()) - 1.0) < 1e-9

# Flags for the supervisor.
IRRELEVANT_BELOW = 0.25  # relevance under which the reply "does not address the request"
COPY_FROM = 0.80  # similarity to an earlier reply that makes it a copy
TEMPLATE_FROM = 0.60  # similarity from which the template component starts to fall
TEMPLATE_SPAN = 1000  # characters of a reply compared with earlier ones
TOO_SHORT = 40  # characters of content
TOO_LONG = 3000
KEY_TERMS = 8  # the request's terms that relevance is judged on

# Part of speech (rjieba) → how specific a word of the request is. Places, organisations and
# other proper names, Latin codes: what makes a request this request. Nouns: its objects.
# People's names count less (replies rightly leave them out, or write 李某); verbs and idioms
# not at all: they tell how the citizen felt (崩溃, 不管不顾), which a reply need not repeat.
_POS_WEIGHT = {
    "ns": 2.0, "nt": 2.0, "nz": 2.0, "eng": 1.5, "nr": 0.5, "nrt": 0.5, "nrfg": 0.5,
    "n": 1.0, "vn": 1.0, "nw": 1.0, "j": 1.0, "an": 0.5, "ng": 0.5, "s": 0.5,
}  # fmt: skip
# Proper-name parts that rjieba often cuts in pieces (望京/西园/三区): a run of them is one term.
_PROPER = frozenset({"ns", "nt", "nz", "nr", "nrt", "nrfg"})
# Words any request may use: they never show that a reply addresses this one.
_GENERIC_WORDS = """
问题 情况 希望 领导 您好 你好 谢谢 反映 部门 相关 有关 政府 解决 处理 要求 请求 建议 咨询
投诉 举报 请问 是否 能否 可以 什么 为什么 怎么 如何 现在 目前 已经 一直 没有 不能 这个 这样
我们 他们 自己 本人 大家 市民 居民 群众 百姓 老百姓 业主 工作 时间 影响 严重 生活 关注 重视
尽快 及时 相关部门 有关部门 市委 书记 市长 局长 县长 区长 尊敬 谢谢您 麻烦 帮助 支持 回复
老人 孩子 小孩 家人 人员 出行 安全 晚上 白天 每天 星期 一周 出门 睡觉 休息 多次 电话 打电话
"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
# A reply that mentions this share of the request's weighted key terms is fully relevant:
# answers name the place and the object, not every word of the complaint.
RELEVANT_AT = 0.5

# Concreteness: what a reply says was done, by whom, by when.
_ACTIONS = re.compile(
    "已经|已于|已将|已对|已由|已要求|已安排|已完成|经核查|经核实|经调查|调查核实|核查|核实|现场|"
    "实地|安排|整改|维修|修复|清理|清运|督促|约谈|处罚|罚款|立案|责令|协调|更换|疏通|拆除|执法|"
    "检查|查处|取缔|回访|补发|退还|退款|恢复|增设|安装|施工|已"
)
PASSED_ON = "only passed on to another office"
PASSED_ON_RELEVANCE = 0.2
_PASSED_ON = re.compile("已转|转交|转办|转至|转给|转到|转相关|转市|转县|转区")
_RECEIVED = re.compile("已收悉|已收到|已转|已经收到|已转交|已转办")
_DATE = re.compile(
    r"\d{4}年\d{1,2}月(\d{1,2}日)?|\d{1,2}月\d{1,2}日|\d{1,2}月(上|中|下)旬|\d{1,2}[:：]\d{2}|"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
)
_DEADLINE = re.compile(
    r"\d+[日号]前|前完成|之前|预计|计划于|计划在|争取|将于|截至|个工作日内|日内|月底|年底|近期|下一步"
)
_OFFICE = re.compile(
    r"[\u4e00-\u9fff]{1,12}(局|委员会|委|办公室|办事处|街道|镇政府|乡政府|社区|居委会|村委会|"
    r"公司|集团|中心|大队|中队|派出所|管理处|分局|医院|学校|所)"
)
_PHONE = re.compile(
    r"\d{3,4}-\d{7,8}|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{7,8}(?!\d)|联系电话|电话[:：]"
)
_QUANTITY = re.compile(
    r"\d+(\.\d+)?(米|公里|元|万元|户|台|个|处|平方米|平米|吨|天|次|辆|名|人|盏|棵)"
)
# The unit's signature date at the very end says when the reply was written, not what was done.
_SIGNED = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日\s*$|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s*$")

_GREETING = re.compile("您好|你好|尊敬的")
_THANKS = re.compile("感谢|谢谢|致谢")
_APOLOGY = re.compile("抱歉|歉意|不便|谅解")
# Words that put the fault on the citizen. "不属实" (not true) is a finding and is not here.
_BLAME = re.compile(
    "无理诉求|无理取闹|缠访|闹访|请勿再|不要再|自行解决|自行承担|责任在您|您自身原因|恶意投诉|"
    "重复投诉|与我单位无关|与本单位无关|不归我们管"
)
# Text in quotation marks: the request's subject echoed back, a user name, a document title.
_QUOTED = re.compile(r"“[^”]{0,200}”|\"[^\"]{0,200}\"|「[^」]{0,200}」|‘[^’]{0,200}’")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Component:
    score: float
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 3), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class ReplyQuality:
    overall: int
    relevance: Component
    concreteness: Component
    template: Component
    courtesy: Component
    length: Component
    flags: tuple[str, ...] = ()
    # The earlier reply this one is closest to (its key) and how close, when one was found.
    closest: str | None = None
    closest_similarity: float = 0.0

    def components(self) -> dict[str, Component]:
        return {name: getattr(self, name) for name in WEIGHTS}

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "overall": self.overall,
            "flags": list(self.flags),
            **{name: c.as_dict() for name, c in self.components().items()},
        }
        if self.closest is not None:
            out["closest"] = {"key": self.closest, "similarity": round(self.closest_similarity, 3)}
        return out


def _clip(x: float) -> float:
    return max(0.0, min(1.0, x))


# --------------------------------------------------------------------------- relevance


@dataclass(frozen=True)
class Term:
    word: str
    weight: float


def _bigrams(word: str) -> list[str]:
    return [word[i : i + 2] for i in range(len(word) - 1)] or [word]


def _words(text: str) -> list[tuple[str, str]]:
    """rjieba's (word, part of speech), with runs of proper-name pieces joined into one."""
    out: list[tuple[str, str]] = []
    run: list[str] = []
    for token, pos in rjieba.tag(text):
        word = "".join(token.split())  # normalised text: only spaces may remain
        if not word:
            continue
        if pos in _PROPER:
            run.append(word)
            continue
        if run:
            out.append(("".join(run), "ns"))
            run = []
        out.append((word, pos))
    if run:
        out.append(("".join(run), "ns"))
    return out


@dataclass(frozen=True)
class Tagged:
    """A request read once: its normalised subject line and its words with parts of speech."""

    subject: str
    words: tuple[tuple[str, str], ...]
    text: str = ""

    @classmethod
    def of(cls, request_text: str) -> Tagged:
        # The subject is the first line of the joined columns; normalising joins the lines.
        first, _, rest = request_text.strip().partition("\n")
        subject = normalize(first) if rest else ""
        return cls(subject, tuple(_words(normalize(request_text))), request_text)

    def content_words(self) -> set[str]:
        return {w for w, pos in self.words if len(w) >= 2 and pos in _POS_WEIGHT}


@dataclass(frozen=True)
class WordRarity:
    """How rare each word is among the city's requests (document frequency). Words in more than
    MAX_DF of them are as generic as 问题; with fewer than MIN_CORPUS requests every content
    word counts the same."""

    n_docs: int = 0
    df: Mapping[str, int] = field(default_factory=dict)
    _rarity: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rarity: dict[str, float] = {}
        if self.n_docs:
            # Smoothed IDF relative to an unseen word's: 1 for a word no other request used.
            top = math.log(self.n_docs + 1)
            by_count = {
                c: 0.0 if c > MAX_DF * self.n_docs else math.log((self.n_docs + 1) / (c + 1)) / top
                for c in set(self.df.values())
            }
            rarity = {w: by_count[c] for w, c in self.df.items()}
        object.__setattr__(self, "_rarity", rarity)

    @classmethod
    def fit(cls, requests: Iterable[Tagged]) -> WordRarity:
        counts: Counter[str] = Counter()
        n = 0
        for tagged in requests:
            counts.update(tagged.content_words())
            n += 1
        return cls(n, dict(counts)) if n >= MIN_CORPUS else cls()

    def __call__(self, word: str) -> float:
        return self._rarity.get(word, 1.0)


def key_terms(
    request: str | Tagged, rarity: WordRarity | None = None, k: int = KEY_TERMS
) -> list[Term]:
    """The request's most telling words: part of speech × rarity among the city's requests.
    Words of the first line (the subject) count double."""
    tagged = Tagged.of(request) if isinstance(request, str) else request
    rarity = rarity or WordRarity()
    best: dict[str, float] = {}  # each word once, with its most specific part of speech
    for word, pos in tagged.words:
        base = _POS_WEIGHT.get(pos, 0.0)
        if base > best.get(word, 0.0) and len(word) >= 2 and word not in _GENERIC:
            best[word] = base
    weights: dict[str, float] = {}
    for word, base in best.items():
        weight = base * rarity(word) * (2.0 if tagged.subject and word in tagged.subject else 1.0)
        if weight > 0:
            weights[word] = weight
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [Term(w, s) for w, s in ranked]


def strip_echo(reply: str, subject: str) -> str:
    """The reply without quotations of the request's subject line: repeating it ("您反映的
    “…”问题") shows the request was read, not that it was answered."""
    asked = compact(subject)
    if not asked or not any(mark in reply for mark in '“"「‘'):
        return reply

    def keep(match: re.Match[str]) -> str:
        quoted = compact(match.group()[1:-1])
        if len(quoted) >= 4:
            pieces = _bigrams(quoted)
            if sum(p in asked for p in pieces) >= 0.6 * len(pieces):
                return "“”"
        return match.group()

    return _QUOTED.sub(keep, reply)


def _mention(term: str, reply_compact: str) -> float:
    """1 when the reply has the word; partial credit for a variant spelling (景蓉华苑/景蓉花苑)."""
    if term in reply_compact:
        return 1.0
    pieces = _bigrams(term)
    found = sum(p in reply_compact for p in pieces) / len(pieces)
    return found if found >= 0.5 and len(term) >= 3 else 0.0


def relevance(terms: Sequence[Term], reply_compact: str) -> Component:
    if not terms:
        return Component(1.0, ("the request has no specific terms to check",))
    total = sum(t.weight for t in terms)
    credit = {t.word: _mention(t.word, reply_compact) for t in terms}
    score = sum(t.weight * credit[t.word] for t in terms) / total / RELEVANT_AT
    said = [t.word for t in terms if credit[t.word] >= 0.5]
    missed = [t.word for t in terms if credit[t.word] < 0.5]
    reasons = []
    if said:
        reasons.append("mentions " + "、".join(said[:6]))
    if missed:
        reasons.append("does not mention " + "、".join(missed[:6]))
    return Component(_clip(score), tuple(reasons))


# --------------------------------------------------------------------------- concreteness


def concreteness(reply: str) -> Component:
    body = _SIGNED.sub("", reply.strip())
    actions = sorted({m.group() for m in _ACTIONS.finditer(body)} - {"已"})
    # "已收悉" (received) and "已转" (passed on) say nothing about the problem.
    has_done = bool(actions) or "已" in _RECEIVED.sub("", body)
    dates = [m.group() for m in _DATE.finditer(body)]
    deadlines = sorted({m.group() for m in _DEADLINE.finditer(body)})
    offices = sorted({m.group() for m in _OFFICE.finditer(body)}, key=len)
    phone = bool(_PHONE.search(body))
    quantities = [m.group() for m in _QUANTITY.finditer(body)]
    score = (
        0.35 * min(1.0, (len(actions) + has_done) / 3)
        + 0.25 * (1.0 if dates or deadlines else 0.0)
        + 0.15 * (1.0 if offices else 0.0)
        + 0.10 * phone
        + 0.15 * min(1.0, len(quantities) / 2)
    )
    if _PASSED_ON.search(body) and not actions and not dates and not deadlines:
        # Forwarding is the unit's own bookkeeping; the citizen still knows nothing.
        return Component(0.0, (PASSED_ON,))
    reasons = []
    if actions:
        reasons.append("action: " + "、".join(actions[:5]))
    if dates:
        reasons.append("date: " + "、".join(dates[:3]))
    if deadlines:
        reasons.append("deadline: " + "、".join(deadlines[:3]))
    if offices:
        reasons.append("office: " + offices[0])
    if phone:
        reasons.append("contact phone")
    if quantities:
        reasons.append("figures: " + "、".join(quantities[:3]))
    return Component(_clip(score), tuple(reasons))


# --------------------------------------------------------------------------- template


def template_text(reply: str) -> str:
    """What stays the same between two uses of one template: quotations (names, subjects)
    dropped, digits (dates, ticket and phone numbers) made equal."""
    return _DIGITS.sub("0", _QUOTED.sub("“”", reply))


def fit_reply_stats(replies: Iterable[str | frozenset[str]]) -> ShingleStats:
    """Shingle frequencies over replies, with no stop list. Weighted by rarity, a unit's fixed
    greeting and closing count little and what the reply says about *this* case counts most:
    two replies are a copy when that part is the same, not when they share a letterhead."""
    return ShingleStats.fit((_template_items(r) for r in replies), max_df=1.0)


@dataclass(frozen=True)
class Match:
    """The earlier reply most like this one."""

    key: str
    similarity: float
    # The earlier reply answered a duplicate of this request: giving the same answer is right.
    duplicate_request: bool = False


class TemplateMemory:
    """Earlier replies (of one unit), indexed for the closest match with the duplicate index's
    prefix filter, so a unit's thousandth reply is checked as fast as its tenth. The requests
    they answered are kept too, to tell a copied answer from the same answer to a repeat."""

    def __init__(self, stats: ShingleStats = NO_CORPUS) -> None:
        self._index = DuplicateIndex(stats, window=None, threshold=TEMPLATE_FROM, with_places=False)
        self._requests: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._index)

    def closest(
        self,
        reply: str | frozenset[str],
        *,
        request: str = "",
        remember_as: str | None = None,
    ) -> Match | None:
        """The most similar earlier reply, if at least TEMPLATE_FROM alike. ``reply`` is a text
        or its ``template_shingles``; with ``remember_as`` the reply (and the ``request`` it
        answers) then joins the memory under that name, weighed and indexed in the same pass."""
        report = self._index.report(remember_as, _template_items(reply))
        if remember_as is None:
            hits = self._index.query(report, limit=1)
        else:
            hits = self._index.add(report)[:1]
            self._requests[remember_as] = request
        if not hits:
            return None
        key = str(hits[0].key)
        return Match(key, hits[0].text_similarity, _same_request(request, self._requests.get(key)))

    def add(self, key: str, reply: str | frozenset[str], *, request: str = "") -> None:
        self._index.add(self._index.report(key, _template_items(reply)))
        self._requests[key] = request


def _same_request(a: str, b: str | None) -> bool:
    """Two requests are one problem reported twice by the duplicate finder's own measure."""
    if not a or not b:
        return False
    return similarity(Weighted.of(a), Weighted.of(b)) >= DUPLICATE_THRESHOLD


def template_shingles(reply: str) -> frozenset[str]:
    """Character bigrams of the masked reply's first TEMPLATE_SPAN characters: a copy shows
    from its start, and bigrams alone tell copies apart while costing half of 2- and 3-grams."""
    return shingles(template_text(reply)[:TEMPLATE_SPAN], ns=(2,))


def _template_items(reply: str | frozenset[str]) -> frozenset[str]:
    return template_shingles(reply) if isinstance(reply, str) else reply


def template(closest: Match | None) -> Component:
    if closest is None:
        return Component(1.0, ("no earlier reply alike",))
    if closest.duplicate_request:
        return Component(1.0, (f"same answer as to {closest.key}, a repeat of this request",))
    score = _clip(1.0 - (closest.similarity - TEMPLATE_FROM) / (1.0 - TEMPLATE_FROM))
    return Component(score, (f"{closest.similarity:.0%} similar to earlier reply {closest.key}",))


# --------------------------------------------------------------------------- courtesy, length


def courtesy(reply: str) -> Component:
    greeting = bool(_GREETING.search(reply))
    thanks = bool(_THANKS.search(reply))
    polite = "您" in reply
    apology = bool(_APOLOGY.search(reply))
    blame = [m.group() for m in _BLAME.finditer(reply)]
    score = 0.4 * greeting + 0.35 * thanks + 0.15 * polite + 0.1 * apology
    reasons = [
        text
        for present, text in (
            (greeting, "greeting"),
            (thanks, "thanks"),
            (polite, "addresses the citizen as 您"),
            (apology, "apologises"),
        )
        if present
    ]
    if blame:
        score = 0.0
        reasons.append("blames the citizen: " + "、".join(sorted(set(blame))))
    return Component(_clip(score), tuple(reasons) or ("no greeting or thanks",))


def length(reply_compact: str) -> Component:
    n = len(reply_compact)
    if n < TOO_SHORT:
        return Component(n / TOO_SHORT * 0.5, (f"{n} characters",))
    if n < 2 * TOO_SHORT:
        return Component(0.5 + 0.5 * (n - TOO_SHORT) / TOO_SHORT, (f"{n} characters",))
    if n > TOO_LONG:
        return Component(max(0.5, 1 - (n - TOO_LONG) / (2 * TOO_LONG)), (f"{n} characters",))
    return Component(1.0, (f"{n} characters",))


# --------------------------------------------------------------------------- together


@dataclass
class ReplyScorer:
    """Scores replies knowing how rare words are among the city's requests; keeps nothing else
    between calls. ``score_reply`` uses one without a corpus."""

    rarity: WordRarity = field(default_factory=WordRarity)

    def score(
        self,
        request: str | Tagged,
        reply_text: str,
        *,
        memory: TemplateMemory | None = None,
        remember_as: str | None = None,
        template_items: frozenset[str] | None = None,
    ) -> ReplyQuality:
        """Score a reply against ``memory`` (the unit's earlier replies); with ``remember_as``
        the reply then joins the memory under that name. ``request`` may come tagged and the
        reply's ``template_shingles`` precomputed, when a caller has them already."""
        tagged = Tagged.of(request) if isinstance(request, str) else request
        full = compact(reply_text)
        stripped = strip_echo(reply_text, tagged.subject)
        reply_compact = full if stripped == reply_text else compact(stripped)
        near = None
        if memory is not None:
            items = template_items or template_shingles(reply_text)
            near = memory.closest(items, request=tagged.text, remember_as=remember_as)
        done = concreteness(reply_text)
        about = relevance(key_terms(tagged, self.rarity), reply_compact)
        if PASSED_ON in done.reasons:
            # "已转至L2县" names the place but answers nothing.
            about = Component(min(about.score, PASSED_ON_RELEVANCE), (*about.reasons, PASSED_ON))
        parts = {
            "relevance": about,
            "concreteness": done,
            "template": template(near),
            "courtesy": courtesy(reply_text),
            "length": length(full),
        }
        overall = round(100 * sum(WEIGHTS[k] * c.score for k, c in parts.items()))
        return ReplyQuality(
            overall,
            flags=_flags(parts, near, len(full)),
            closest=near.key if near else None,
            closest_similarity=near.similarity if near else 0.0,
            **parts,
        )


def _flags(parts: Mapping[str, Component], near: Match | None, chars: int) -> tuple[str, ...]:
    flags = []
    if parts["relevance"].score < IRRELEVANT_BELOW:
        flags.append("does not address the request")
    said = parts["concreteness"].reasons
    if PASSED_ON in said:
        flags.append(PASSED_ON)
    elif not any(r.startswith(("action", "date", "deadline")) for r in said):
        flags.append("no concrete action or time")
    if near is not None and near.similarity >= COPY_FROM and not near.duplicate_request:
        flags.append(f"copy of an earlier reply ({near.similarity:.0%} similar to {near.key})")
    if chars < TOO_SHORT:
        flags.append("too short")
    if any(r.startswith("blames") for r in parts["courtesy"].reasons):
        flags.append("blames the citizen")
    return tuple(flags)


_DEFAULT = ReplyScorer()


def score_reply(
    request_text: str,
    reply_text: str,
    *,
    earlier_replies: Sequence[str] | Mapping[str, str] = (),
    earlier_requests: Mapping[str, str] | None = None,
) -> ReplyQuality:
    """Score one reply. ``earlier_replies`` are the same unit's previous answers, as texts
    (named by their position, from 1) or as a mapping from a name (a ticket) to the text.
    ``earlier_requests`` (same names → the requests they answered) lets the same answer to a
    repeat of this request pass as what it is rather than as a copy."""
    items = list(
        earlier_replies.items()
        if isinstance(earlier_replies, Mapping)
        else ((f"#{i}", t) for i, t in enumerate(earlier_replies, start=1))
    )
    asked = earlier_requests or {}
    memory = TemplateMemory(fit_reply_stats([t for _, t in items] + [reply_text]))
    for key, text in items:
        memory.add(key, text, request=asked.get(key, ""))
    return _DEFAULT.score(request_text, reply_text, memory=memory)
