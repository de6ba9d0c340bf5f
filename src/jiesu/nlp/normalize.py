"""Cleaning messy citizen text before it is counted: HTML leftovers, odd spacing, full-width
Latin letters and digits, mixed case. Pure and fast: the same text always gives the same
result, so a saved model sees at prediction time exactly what it saw in training."""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")
# Chinese punctuation kept as it is: it marks sentence and clause boundaries that the
# ASCII look-alikes (e.g. "," inside numbers) would blur.
_KEEP = frozenset("，。、！？：；（）【】《》「」『』“”‘’…—～")
# Zero-width characters pasted from web pages and chat apps split words invisibly.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def _half_width(ch: str) -> str:
    if ch in _KEEP:
        return ch
    code = ord(ch)
    # Full-width ASCII block and the ideographic space: NFKC maps them to plain ASCII.
    if 0xFF01 <= code <= 0xFF5E or code == 0x3000:
        return unicodedata.normalize("NFKC", ch)
    return ch


def normalize(text: str) -> str:
    """``text`` without HTML, with single spaces, half-width ASCII and lower-case Latin."""
    if not text:
        return ""
    # Tags first, then entities: "&lt;b&gt;" is text the citizen typed, not a tag.
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = text.translate(_INVISIBLE)
    text = "".join(_half_width(ch) for ch in text)
    text = _SPACE.sub(" ", text).strip()
    return text.lower()
