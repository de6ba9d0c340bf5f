"""Many keywords and regular expressions compiled into one fast expression.

Python's ``re`` tries every alternative of ``a|b|c…`` at every position of the text, so 300
patterns over a 300-character text cost about a millisecond. It does skip positions quickly,
in C, when every top-level alternative starts with a literal character. So each pattern is
split into a literal head and a regex rest, anchored on the rarest character of its head,
and the patterns are regrouped by that character:
``暖(?:(?P<a0>(?<=不供暖))|(?P<a1>(?<=没有暖)气))|煤(?:…)``. The search then stops only at
characters that can anchor a match, and tries only that character's few alternatives; the
text before the anchor is checked by a look-behind, and a named group per pattern says which
one matched (and how far before the anchor it began).

A regular expression takes this fast path when it starts with literal text, with a group of
literal alternatives ``(?:煤气|燃气)…``, or with literal look-behinds before either
(``(?<!烟囱)冒烟`` becomes ``冒(?<!烟囱冒)烟``, which tests the same thing). Others are kept
in a second, slower expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_META = set(".^$*+?{}[]\\|()")
_QUANT = set("*+?{")
_ASCII_WORD = re.compile(r"[a-z0-9]")
_LOOKBEHIND = re.compile(r"\(\?<([!=])((?:[^()\\\[\]]|\\.)*)\)")
# Roughly the most frequent Chinese characters, then English letters by frequency. A pattern
# is anchored on its rarest character; at a stop, re tries the top-level alternatives in
# order, so those of frequent characters go first.
_COMMON = (
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自"
    "之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些"
    "主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正"
    "业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回"
    "特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平"
    "系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命"
    "山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完"
    "设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争"
    "运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫"
    "台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线"
    "似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标"
    # frequent in requests to a city hotline
    "房楼户栋街村镇县居投诉映您谢号局施费址"
)


def _rank(ch: str) -> int:
    return _ORDER.get(ch, len(_ORDER))


_ORDER = {ch: n for n, ch in enumerate(_COMMON + "etaoinsrhldcumfpgwybvkxjqz0123456789")}


@dataclass(frozen=True)
class Alternative:
    """A pattern as literal ``head`` + regex ``rest``, with look-behinds that must hold just
    before the head; ``head`` is empty on the slow path, where ``rest`` is the whole regex."""

    head: str
    rest: str
    behinds: tuple[tuple[str, str], ...] = ()  # ("!" or "=", literal text)
    word_start: bool = False  # no ASCII letter or digit just before the head


def keyword_alternative(keyword: str) -> Alternative:
    """A plain keyword. Latin keywords match whole words ("gas", not inside "gasoline"),
    judged by ASCII letters and digits so that "gas" still matches in "闻到gas味"."""
    tail = "(?![a-z0-9])" if _ASCII_WORD.match(keyword[-1]) else ""
    return Alternative(keyword, tail, word_start=bool(_ASCII_WORD.match(keyword[0])))


def regex_alternatives(pattern: str) -> list[Alternative]:
    """``pattern`` split by its possible literal heads, or one slow-path alternative."""
    behinds, pos = _leading_lookbehinds(pattern)
    heads = _leading_literals(pattern, pos)
    if heads is None:
        return [Alternative("", pattern)]
    return [Alternative(head, rest, tuple(behinds)) for head, rest in heads]


def _leading_lookbehinds(pattern: str) -> tuple[list[tuple[str, str]], int]:
    behinds: list[tuple[str, str]] = []
    pos = 0
    while (m := _LOOKBEHIND.match(pattern, pos)) is not None:
        text = _unescape(m.group(2))
        if text is None:  # not a plain literal: stop, the rest is handled as a whole
            return [], 0
        behinds.append((m.group(1), text))
        pos = m.end()
    return behinds, pos


def _leading_literals(pattern: str, pos: int) -> list[tuple[str, str]] | None:
    """(literal head, regex rest) pairs covering every way ``pattern[pos:]`` can start."""
    if pattern.startswith("(?:", pos):
        close = _closing_paren(pattern, pos)
        if close is None or (close + 1 < len(pattern) and pattern[close + 1] in _QUANT):
            return None
        options = [_unescape(opt) for opt in _split_top(pattern[pos + 3 : close])]
        if any(not opt for opt in options):  # a regex or an empty option: no literal head
            return None
        # Literal text after the group joins every head: "(?:多|好几)次" → 多次, 好几次.
        tail, end = _literal_run(pattern, close + 1)
        return [(opt + tail, pattern[end:]) for opt in options if opt]
    head, end = _literal_run(pattern, pos)
    return [(head, pattern[end:])] if head else None


def _literal_run(pattern: str, pos: int) -> tuple[str, int]:
    """The literal characters from ``pos`` on, and where they end."""
    head, end = "", pos
    while (step := _first_literal_char(pattern, end)) is not None:
        if step[1] < len(pattern) and pattern[step[1]] in _QUANT:
            break  # "ab?…" starts with "a" but not always with "ab"
        head += step[0]
        end = step[1]
    return head, end


def _first_literal_char(pattern: str, pos: int) -> tuple[str, int] | None:
    if pos >= len(pattern):
        return None
    ch = pattern[pos]
    if ch == "\\" and pos + 1 < len(pattern) and not pattern[pos + 1].isalnum():
        return pattern[pos + 1], pos + 2
    if ch in _META:
        return None
    return ch, pos + 1


def _closing_paren(pattern: str, start: int) -> int | None:
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _split_top(body: str) -> list[str]:
    parts, depth, current, i = [], 0, "", 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            current += body[i : i + 2]
            i += 2
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts


def _unescape(text: str) -> str | None:
    """The literal text a regex fragment stands for, or None if it is not a plain literal."""
    out, i = "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1].isalnum():
                return None
            out += text[i + 1]
            i += 2
            continue
        if ch in _META:
            return None
        out += ch
        i += 1
    return out


def _anchor(head: str) -> int:
    """Where in ``head`` to anchor the search: its rarest character, so that the text is
    stopped at as few positions as possible (the earliest of equally rare ones)."""
    return max(range(len(head)), key=lambda i: (_rank(head[i]), -i))


def _compiled_body(alt: Alternative, k: int) -> str:
    """The regex after the anchor character ``alt.head[k]``: what precedes it in the head and
    the leading look-behinds become look-behinds ending at the anchor."""
    upto = alt.head[: k + 1]
    checks = "".join(f"(?<{kind}{re.escape(text + upto)})" for kind, text in alt.behinds)
    if alt.word_start:
        checks += f"(?<![a-z0-9]{re.escape(upto)})"
    before = f"(?<={re.escape(upto)})" if k else ""
    return before + checks + re.escape(alt.head[k + 1 :]) + alt.rest


class PatternSet:
    """Alternatives tagged with an owner id, compiled into a fast and a slow expression.

    re reports one alternative per position. Patterns of different owners anchored on the
    same character could hide each other ("造成火灾" and "火灾" both stop at 灾), so after a
    hit the other owners of that anchor are tried at the same place with their own small
    expressions: every owner that matches there is reported.
    """

    def __init__(self, tagged: Sequence[tuple[int, Alternative]]):
        by_char: dict[str, list[tuple[int, int, str]]] = {}  # anchor → (n, owner, body)
        self.owner: dict[str, int] = {}
        self.offset: dict[str, int] = {}  # anchor position inside the match
        for n, (owner, alt) in enumerate(tagged):
            self.owner[f"a{n}"] = owner
            k = _anchor(alt.head) if alt.head else 0
            self.offset[f"a{n}"] = k
            body = _compiled_body(alt, k) if alt.head else alt.rest
            # The slow path (no literal head) is kept under the empty anchor "".
            by_char.setdefault(alt.head[k] if alt.head else "", []).append((n, owner, body))
        slow = by_char.pop("", [])
        ordered = sorted(by_char.items(), key=lambda kv: _rank(kv[0]))
        self.fast = _compile(ordered) if ordered else None
        self.slow = _compile([("", slow)]) if slow else None
        # anchor → [(owner, expression of that owner's alternatives at the anchor)]
        self.per_owner: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        for char, items in [*ordered, ("", slow)]:
            owners = sorted({owner for _, owner, _ in items})
            if len(owners) > 1:
                self.per_owner[char] = [
                    (o, _compile([(char, [i for i in items if i[1] == o])])) for o in owners
                ]

    def finditer(self, text: str) -> Iterator[tuple[int, int, int]]:
        """(owner, start, end) of matches, overlapping ones included: after a match the
        search goes on from the next character, not from its end."""
        for rx, fast in ((self.fast, True), (self.slow, False)):
            if rx is None:
                continue
            pos, search = 0, rx.search
            while (hit := search(text, pos)) is not None:
                at = hit.start()
                pos = at + 1
                name = hit.lastgroup or ""
                owner = self.owner[name]
                yield owner, at - self.offset[name], hit.end()
                for other, single in self.per_owner.get(text[at] if fast else "", ()):
                    if other != owner and (more := single.match(text, at)) is not None:
                        other_name = more.lastgroup or ""
                        yield other, at - self.offset[other_name], more.end()


def _compile(groups: Sequence[tuple[str, Sequence[tuple[int, int, str]]]]) -> re.Pattern[str]:
    """``c1(?:(?P<a0>…)|…)|c2(?:…)`` with each group's bodies longest first."""
    parts = []
    for char, items in groups:
        # Longest body first: at one position the more specific pattern wins.
        bodies = sorted(items, key=lambda item: -len(item[2]))
        inner = "|".join(f"(?P<a{n}>{body})" for n, _, body in bodies)
        parts.append(f"{re.escape(char)}(?:{inner})" if char else inner)
    return re.compile("|".join(parts))
