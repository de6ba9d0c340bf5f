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
  two digits) or six for new-energy plates (D/F first or last), and 挂/学/警 suffixes.

House numbers, dates, times, amounts, postcodes, ticket numbers and order numbers are not
matched. Masks keep the shape (``139****5678``, ``110101************``, ``京A*****``) and are
never matched again, so masking twice changes nothing more. Full-width digits and letters are
read as their ASCII twins (positions do not move).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

KINDS = ("id_card", "bank_card", "email", "mobile", "landline", "plate")
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


def find_pii(text: str) -> list[Finding]:
    """Every piece of personal data in ``text``, in order, never overlapping."""
    t = text.translate(_HALF)
    found = _ids(t) + _cards(t) + [Finding("email", m.start(), m.end()) for m in _EMAIL.finditer(t)]
    found += _phones(t) + _plates(t)
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
