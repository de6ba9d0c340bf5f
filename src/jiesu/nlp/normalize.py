"""Cleaning messy citizen text before it is counted: HTML leftovers, odd spacing, full-width
Latin letters and digits, mixed case, traditional characters. Pure and fast: the same text
always gives the same result, so a saved model sees at prediction time exactly what it saw in
training."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable

_TAG = re.compile(r"<[^>]{0,200}>")
# Spreadsheet (OOXML) escapes of control characters, as in "第一行_x000D_第二行": exports of
# Excel files leave them in the text.
_OOXML = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SPACE = re.compile(r"\s+")
# Chinese punctuation kept as it is: it marks sentence and clause boundaries that the
# ASCII look-alikes (e.g. "," inside numbers) would blur.
_KEEP = frozenset("，。、！？：；（）【】《》「」『』“”‘’…—～")
# NUL and zero-width characters pasted from web pages and chat apps split words invisibly: dropped.
# The full-width ASCII block and the ideographic space become plain ASCII, as NFKC maps them.
_ODD: dict[str, str] = dict.fromkeys("\x00\u200b\u200c\u200d\u2060\ufeff\u00ad", "")
_ODD.update(
    {
        chr(code): unicodedata.normalize("NFKC", chr(code))
        for code in [*range(0xFF01, 0xFF5F), 0x3000]
        if chr(code) not in _KEEP
    }
)
# One regular expression finds them: much faster than a per-character translation of long
# Chinese texts, which rarely contain any.
_ODD_RE = re.compile("[" + "".join(map(re.escape, sorted(_ODD))) + "]")


def _load_t2s() -> Callable[[str], str] | None:
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a declared dependency
        return None
    return opencc.OpenCC("t2s").convert  # type: ignore[no-any-return]


# Traditional → simplified with OpenCC's own dictionaries (phrases first, then characters),
# so "臺灣計程車" and "台湾计程车" count as the same words. Without opencc the text is kept.
_t2s = _load_t2s()
HAVE_T2S = _t2s is not None


def _unescape_ooxml(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


def _replace_odd(match: re.Match[str]) -> str:
    return _ODD[match.group()]


def to_simplified(text: str) -> str:
    return _t2s(text) if _t2s is not None and text else text


def normalize(text: str) -> str:
    """``text`` without HTML, with single spaces, half-width ASCII, lower-case Latin and
    simplified characters."""
    if not text:
        return ""
    # Tags first, then entities: "&lt;b&gt;" is text the citizen typed, not a tag.
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _OOXML.sub(_unescape_ooxml, text)
    text = _ODD_RE.sub(_replace_odd, text)
    text = _SPACE.sub(" ", text).strip()
    if _t2s is not None and not text.isascii():
        text = _t2s(text)
    return text.lower()
