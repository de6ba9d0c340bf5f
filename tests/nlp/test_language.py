"""Which script a text is in, and when the machine declines to read it."""

from __future__ import annotations

import pytest

from jiesu.nlp.language import dominant_script, file_scripts, unreadable_reason


@pytest.mark.parametrize(
    "text, script",
    [
        ("小区门口的路灯坏了三天", "han"),
        ("APP无法登录，客服电话一直占线", "han"),
        ("The streetlight on Main St is out", "latin"),
        ("Уличный фонарь не работает", "cyrillic"),
        ("가로등이 고장났어요", "hangul"),
        ("街灯が壊れています", "han"),  # kanji-heavy Japanese reads as Han: close enough
        ("ストリートライトがこわれた", "kana"),
        ("小区门口的路灯坏了".encode().decode("cp1252", errors="ignore"), "mojibake"),
        ("小区门口的路灯坏了".encode().decode("latin-1"), "mojibake"),
        ("小区门口的路灯坏了".encode("gb18030").decode("utf-8", errors="replace"), "mojibake"),
        ("Café crème près de l'église", "latin"),
        ("12345 !!! ???", None),
        ("", None),
    ],
)
def test_dominant_script(text: str, script: str | None) -> None:
    assert dominant_script(text) == script


def test_unreadable_reason_names_the_problem() -> None:
    assert unreadable_reason("楼下噪音很大") is None
    assert unreadable_reason("noise at night") is None
    assert unreadable_reason("Уличный фонарь не работает") == (
        "the text is in Cyrillic, which the models do not read"
    )
    broken = "路灯坏了很多天".encode().decode("latin-1")
    assert "wrong file encoding" in (unreadable_reason(broken) or "")
    assert unreadable_reason("123 456") == "the text has no letters"


def test_file_scripts_counts_texts() -> None:
    broken = "停水两天".encode().decode("latin-1")
    mix = file_scripts(["路灯坏了", "停水", "no water", "", broken])
    assert mix == {"han": 2, "latin": 1, "none": 1, "mojibake": 1}
