"""Which writing system a text is in, so models are not asked about texts they cannot read.

The classifiers, the gazetteer and the urgency signals know Chinese and English. A request in
another script (a tourist writing in Russian, a mis-decoded file full of ``Ã©``) is still
accepted — no citizen's request is lost — but gets no machine suggestions, and says why.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

# Scripts the shipped understanding covers.
KNOWN = frozenset({"han", "latin"})
LABELS = {
    "han": "Chinese",
    "latin": "Latin-script (English)",
    "cyrillic": "Cyrillic",
    "arabic": "Arabic",
    "hangul": "Korean",
    "kana": "Japanese kana",
    "thai": "Thai",
    "tibetan": "Tibetan",
    "mongolian": "Mongolian",
    "uyghur": "Arabic",
    "other": "an unrecognised script",
    "mojibake": "mis-decoded text (wrong file encoding?)",
}
# Replacement characters, and what UTF-8 bytes decoded as GBK and re-encoded look like.
_BROKEN = ("\ufffd", "锟斤拷")


def _is_mojibake(text: str) -> bool:
    """UTF-8 Chinese read as Latin-1/CP1252 turns into runs like "è·¯ç¯": reversing that
    mistake gives Chinese back, which ordinary accented Latin text never does."""
    if any(b in text for b in _BROKEN):
        return True
    if not any("\u00c0" <= ch <= "\u00ff" for ch in text):
        return False
    for codec in ("cp1252", "latin-1"):
        raw = text.encode(codec, errors="ignore")
        fixed = raw.decode("utf-8", errors="ignore")
        if sum(1 for ch in fixed if _script(ch) == "han") >= 2:
            return True
    return False


def _script(ch: str) -> str | None:
    if ch.isspace() or ch.isdigit() or not ch.isalpha():
        return None
    code = ord(ch)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F:
        return "han"
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF or 0xFF21 <= code <= 0xFF5A:
        return "latin"
    name = unicodedata.name(ch, "")
    for key, script in (
        ("CYRILLIC", "cyrillic"),
        ("ARABIC", "arabic"),
        ("HANGUL", "hangul"),
        ("HIRAGANA", "kana"),
        ("KATAKANA", "kana"),
        ("THAI", "thai"),
        ("TIBETAN", "tibetan"),
        ("MONGOLIAN", "mongolian"),
        ("CJK", "han"),
    ):
        if key in name:
            return script
    return "other"


def script_mix(text: str) -> Counter[str]:
    """Letters per script (digits, punctuation and spaces are not counted)."""
    out: Counter[str] = Counter()
    for ch in text:
        s = _script(ch)
        if s:
            out[s] += 1
    return out


def dominant_script(text: str) -> str | None:
    """The script most letters are in; "mojibake" for typical mis-decoding; None if no letters."""
    if _is_mojibake(text):
        return "mojibake"
    mix = script_mix(text)
    if not mix:
        return None
    # Chinese texts carry Latin letters (units, brands, "APP"): one Han character in five
    # letters is enough to call a text Chinese.
    if mix["han"] * 4 >= sum(mix.values()):
        return "han"
    return mix.most_common(1)[0][0]


def unreadable_reason(text: str) -> str | None:
    """Why the machine cannot read this text, or None when it can."""
    script = dominant_script(text)
    if script is None:
        return "the text has no letters"
    if script in KNOWN:
        return None
    return f"the text is in {LABELS.get(script, script)}, which the models do not read"


def file_scripts(texts: Iterable[str]) -> Counter[str]:
    """How many texts of a file are in each script (None counted as "none")."""
    return Counter(dominant_script(t) or "none" for t in texts)
