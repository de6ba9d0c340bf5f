"""Personal data inside free text: found, named and masked before the text is shown in public.

Citizens say their phone number, ID card number, licence plate or bank card in the words they
report; operators type them into the text, units quote them in replies. Contacts have their
own guarded table (``masking.py``), but the words are shown in public views (Open311, the
tracking page) and open data, so those words pass through :func:`mask_pii` first.

What is found, each checked beyond its shape so ordinary numbers stay as they are:

- ``mobile``: mainland mobile numbers (1[3-9] + 9 digits), with +86/0086/86 and spaces or
  dashes between the groups;
- ``landline``: area code (010, 02x, 0xxx) and a 7–8 digit local number; a local number
  without an area code only right after a word like 电话 or 座机;
- ``id_card``: 18-digit resident ID numbers with a real province, a real birth date and the
  ISO 7064 MOD 11-2 check character (an order number of the same length fails it), and old
  15-digit ones (province and date); right after 身份证 a wrong check digit is still masked,
  since a mistyped ID number is still somebody's;
- ``bank_card``: 16–19 digits (grouped by four or not) passing the Luhn check that start like
  a card (UnionPay 62, Visa, Mastercard …) or follow a word like 卡号;
- ``email``: addresses with an ASCII local part and a dotted domain;
- ``plate``: Chinese licence plates — province character, letter, five characters (at least
  two digits) or six for new-energy plates (D/F first or last), and 挂/学/警 suffixes;
- ``name``: a person's name where the words say one follows — 我叫, 本人叫, 姓名, 联系人,
  业主, 投诉人, 来电人, 签名 … (and 我是 only when the name ends the clause) — in Chinese, a
  common surname and one or two more characters; in English after "my name is", "name:",
  "contact:" or "caller:", one to three capitalised words. Masked to the surname (王**,
  J*** S****). A name said without such words (李建国反映 …) is not found: there is no model
  of names here, and guessing would mask streets and shops named after people. The forms
  the city publishes anyway (张先生, 李女士) are left as they are.

House numbers, dates, times, amounts, postcodes, ticket numbers and order numbers are not
matched. Masks keep the shape (``139****5678``, ``110101************``, ``京A*****``) and are
never matched again, so masking twice changes nothing more. Full-width digits and letters are
read as their ASCII twins (positions do not move).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

KINDS = ("id_card", "bank_card", "email", "mobile", "landline", "plate", "name")
# When two findings overlap, the longer wins; on equal length, the earlier kind here.
_PRIORITY = {kind: i for i, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it is in the original text. The value
    itself is not kept, so a finding can be logged."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Masked:
    text: str
    findings: tuple[Finding, ...]

    @property
    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}


# Full-width ASCII (U+FF01–U+FF5E) and the ideographic space, one character for one.
_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Province-level codes: the first two digits of an ID number (71 Taiwan, 81/82 Hong Kong and
# Macao residence permits, 83 Taiwan residence permits, 91 foreigners' permanent residence).
_PROVINCES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36"),
        *("37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62"),
        *("63", "64", "65", "71", "81", "82", "83", "91"),
    }
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Words after which a number is what they say it is, within a few characters (电话：, 卡号为 …).
_NEAR = 6
_ID_WORDS = re.compile(r"(?:身份证|证件|身份号|公民身份|ID)[^\d\n]{0,5}$", re.IGNORECASE)
_CARD_WORDS = re.compile(r"(?:卡号|银行卡|储蓄卡|信用卡|借记卡|账号|帐号|card)[^\d\n]{0,5}$", re.I)
_PHONE_WORDS = re.compile(
    r"(?:电话|座机|固话|手机|联系方式|号码|热线|tel|phone)[^\d\n]{0,5}$", re.IGNORECASE
)

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ID18 = re.compile(r"(?<!\d)([1-9]\d{5}) ?((?:18|19|20)\d{6}) ?(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<!\d)([1-9]\d{5})(\d{6})(\d{3})(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![\d-])\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?!\d)")
_CARD_PREFIX = re.compile(r"(?:62|60|9558|4|5[1-5]|2[2-7]|3[47]|35)")
_MOBILE = re.compile(
    r"(?<![\d+])(?P<prefix>(?:\(\+?86\)|(?:\+|00)?86)[ -]?)?"
    r"(?P<number>1[3-9]\d(?:[ -]?\d{4}){2})(?!\d|\.\d)"
)
_LANDLINE = re.compile(
    r"(?<![\d+])(?P<area>\(?0(?:10|2\d|[3-9]\d{2})\)?)[ -]?"
    r"(?P<local>[2-9]\d{2,3}[ -]?\d{4})(?!\d|\.\d)"
)
_LOCAL = re.compile(r"(?<![\d*])(?P<local>[2-9]\d{2,3}[ -]?\d{4})(?!\d|\.\d)")
_PLATE = re.compile(
    r"(?<![A-Z0-9])[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[A-HJ-NP-Z][·•.\- ]?(?P<rest>[A-HJ-NP-Z0-9]{6}|[A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{4}[挂学警])"
    r"(?![A-Z0-9])"
)
_NEW_ENERGY = re.compile(r"[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF]")


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


_LATIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LABEL = re.compile(r"(?:tel|phone|mobile|mob|id|no|card|acct)\.?$", re.IGNORECASE)


def _apart(t: str, start: int, end: int) -> bool:
    """A number stands apart from Latin letters and digits around it (a hash, a tracking code
    like SF1391234567801 holds digit runs that are nobody's phone), except after a label
    such as "Tel" or "ID"."""
    if end < len(t) and t[end] in _LATIN:
        return False
    if start > 0 and t[start - 1] in _LATIN:
        return _LABEL.search(t, max(0, start - 7), start) is not None
    return True


def _before(t: str, start: int, words: re.Pattern[str]) -> bool:
    return words.search(t, max(0, start - _NEAR - 5), start) is not None


def _real_date(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an 18-digit resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def luhn_ok(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _ids(t: str) -> list[Finding]:
    out = []
    for m in _ID18.finditer(t):
        region, birth, tail = m.groups()
        if region[:2] not in _PROVINCES or not _real_date(birth) or not _apart(t, *m.span()):
            continue
        first17 = region + birth + tail[:3]
        if id_check_char(first17) == tail[3].upper() or _before(t, m.start(), _ID_WORDS):
            out.append(Finding("id_card", m.start(), m.end()))
    for m in _ID15.finditer(t):
        region, birth, _ = m.groups()
        if region[:2] in _PROVINCES and _real_date("19" + birth) and _apart(t, *m.span()):
            out.append(Finding("id_card", m.start(), m.end()))
    return out


def _cards(t: str) -> list[Finding]:
    out = []
    for m in _CARD.finditer(t):
        digits = _digits(m.group())
        if not luhn_ok(digits) or not _apart(t, *m.span()):
            continue
        if _CARD_PREFIX.match(digits) or _before(t, m.start(), _CARD_WORDS):
            out.append(Finding("bank_card", m.start(), m.end()))
    return out


def _phones(t: str) -> list[Finding]:
    out = [Finding("mobile", *m.span()) for m in _MOBILE.finditer(t) if _apart(t, *m.span())]
    out += [Finding("landline", *m.span()) for m in _LANDLINE.finditer(t) if _apart(t, *m.span())]
    out += [
        Finding("landline", *m.span())
        for m in _LOCAL.finditer(t)
        if _apart(t, *m.span()) and _before(t, m.start(), _PHONE_WORDS)
    ]
    return out


def _plates(t: str) -> list[Finding]:
    out = []
    for m in _PLATE.finditer(t.translate(_UPPER)):
        rest = m.group("rest")
        if len(rest) == 6 and not _NEW_ENERGY.fullmatch(rest):
            continue
        if len(rest) == 5 and sum(c.isdigit() for c in rest) < 2:
            continue  # 京ABCDE is a word in Latin letters, not a plate
        out.append(Finding("plate", m.start(), m.end()))
    return out


# Common Chinese surnames (the hundred-odd that cover nine in ten people, and the compound ones).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
             "宇文", "司徒", "夏侯", "令狐", "端木", "独孤", "南宫", "西门")  # fmt: skip
# Words after which a name follows (the colon or 是/为/叫 between them is optional) …
_NAME_WORDS = re.compile(
    r"(?:(?:我叫|我的名字是|名字叫|本人叫|姓名|联系人|投诉人|反映人|来电人|报案人)[是为叫:：\s]{0,2}"
    # … and words that are often followed by something else (本人常年…, 业主方面…): only with
    # a colon or 是/为/叫 between.
    r"|(?:本人|我的名字)\s?[为叫:：]\s?|(?:业主|户主|签名|署名|申请人|当事人)\s?[是为:：]\s?)$"
)
# 我是 / 本人是 + a name only when the name ends the clause (我是张伟，…; not 我是王府井…).
_SELF = re.compile(r"(?:我是|本人是)\s?$")
_CLAUSE_END = frozenset("，,。.！!？?；;、（(\n \t")
# After a word with no colon, a name does not start with a word like 向/和/解释 (投诉人向…).
_NOT_A_START = frozenset("向和与及解对将把被在于从为就也都已未所")
# A "name" with one of these in it is a place (邝胡社区, 黄财镇), one ending so a people (安徽人).
_PLACE_CHARS = frozenset("镇村街路区县乡市省巷弄楼")
# A character after which a name has ended: what comes next is not part of it.
_AFTER_NAME = frozenset(
    "，,。.！!？?；;：:、（(）)\n \t"
    "住在的家是电手今年反说要想找和与跟同也都就还被把从向给来自系男女了过着"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_EN_NAME = re.compile(
    r"(?:my name is|name\s*:|contact\s*:|contact person\s*:|caller\s*:)\s*"
    r"(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+){0,2})",
    re.IGNORECASE,
)
# 张先生, 李女士, 王主任: how a person is named in what the city publishes — not masked.
_HONORIFIC = frozenset(
    {"先生", "女士", "小姐", "老师", "师傅", "阿姨", "大爷", "大妈", "同志", "老人", "主任",
     "书记", "科长", "局长", "处长", "所长", "部长", "经理", "镇长", "村长", "队长", "老板",
     "医生", "警官", "律师", "总"}
)  # fmt: skip


def _han_name(t: str, start: int, *, must_end: bool) -> int | None:
    """Where a name starting at ``start`` ends, or None when no name starts there."""
    surname = 2 if t[start : start + 2] in _COMPOUND else 1
    if surname == 1 and t[start : start + 1] not in _SURNAMES:
        return None
    end = start + surname
    given = 0
    while given < 2 and end < len(t) and _HAN.match(t[end]) and t[end] not in _AFTER_NAME:
        end, given = end + 1, given + 1
    rest = t[start + surname : end]
    if given == 0 or rest in _HONORIFIC or rest[:1] in _HONORIFIC or t[end : end + 2] in _HONORIFIC:
        return None  # a surname alone, or 张先生: the published form, not a name
    if any(c in _PLACE_CHARS for c in rest) or (end < len(t) and t[end] in _PLACE_CHARS):
        return None
    if must_end and ((end < len(t) and t[end] not in _CLAUSE_END) or rest.endswith("人")):
        return None
    return end


def _names(t: str) -> list[Finding]:
    out: list[Finding] = []
    for i in range(len(t)):
        if not (t[i] in _SURNAMES or t[i : i + 2] in _COMPOUND):
            continue
        before = t[max(0, i - 8) : i]
        if (m := _NAME_WORDS.search(before)) is not None:
            bare = not any(c in "是为叫:：" for c in m.group()[-2:])
            if bare and t[i] in _NOT_A_START:
                continue
            end = _han_name(t, i, must_end=False)
        elif _SELF.search(before):
            end = _han_name(t, i, must_end=True)
        else:
            continue
        if end is not None and not (out and i < out[-1].end):
            out.append(Finding("name", i, end))
    for m in _EN_NAME.finditer(t):
        if m.group("name")[0].isupper():
            out.append(Finding("name", m.start("name"), m.end("name")))
    return out


def find_pii(text: str) -> list[Finding]:
    """Every piece of personal data in ``text``, in order, never overlapping."""
    t = text.translate(_HALF)
    found = _ids(t) + _cards(t) + [Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(t)]
    found += _phones(t) + _plates(t) + _names(t)
    found.sort(key=lambda f: (f.start, -(f.end - f.start), _PRIORITY[f.kind]))
    out: list[Finding] = []
    for f in found:
        if out and f.start < out[-1].end:
            continue  # inside (or across) a finding already taken: the first, longer one wins
        out.append(f)
    return out


def _mask_phone(kind: str, raw: str) -> str:
    t = raw.translate(_HALF)
    if kind == "mobile":
        m = _MOBILE.fullmatch(t)
        prefix, number = (m.group("prefix") or "", m.group("number")) if m else ("", t)
        d = _digits(number)
        return prefix + d[:3] + "*" * (len(d) - 7) + d[-4:]
    m = _LANDLINE.fullmatch(t)
    area, local = (m.group("area"), _digits(m.group("local"))) if m else ("", _digits(t))
    return _digits(area) + "*" * (len(local) - 4) + local[-4:]


def _mask(f: Finding, raw: str) -> str:
    if f.kind in ("mobile", "landline"):
        return _mask_phone(f.kind, raw)
    if f.kind == "id_card":
        d = raw.translate(_HALF).replace(" ", "")
        return d[:6] + "*" * (len(d) - 6)
    if f.kind == "bank_card":
        d = _digits(raw.translate(_HALF))
        return "*" * (len(d) - 4) + d[-4:]
    if f.kind == "email":
        return "***@***"
    if f.kind == "name":
        if _HAN.match(raw):
            keep = 2 if raw[:2] in _COMPOUND else 1
            return raw[:keep] + "*" * (len(raw) - keep)
        return " ".join(w[0] + "*" * (len(w) - 1) for w in raw.split(" "))
    return raw[:2] + "*" * sum(1 for c in raw[2:] if c.isalnum())  # plate: 京A*****


def mask_pii(text: str) -> Masked:
    """``text`` with every finding masked, and the findings (spans in the original text)."""
    findings = find_pii(text)
    if not findings:
        return Masked(text, ())
    parts, pos = [], 0
    for f in findings:
        parts.append(text[pos : f.start])
        parts.append(_mask(f, text[f.start : f.end]))
        pos = f.end
    parts.append(text[pos:])
    return Masked("".join(parts), tuple(findings))


def mask_text(text: str | None) -> str:
    """The masked text alone; ``None`` reads as empty."""
    return mask_pii(text).text if text else ""


_CUT_DIGITS = re.compile(r"[\d*][\d* -]{2,}(?=…$)")


def mask_cut_text(text: str | None) -> str:
    """A text cut short with "…" (a title is the text's first 40 characters): besides what
    :func:`mask_text` finds, digits running into the cut are masked, since they may be the
    first half of a phone or ID number that can no longer be recognised."""
    masked = mask_text(text)
    return _CUT_DIGITS.sub(lambda m: re.sub(r"\d", "*", m.group()), masked)
