from __future__ import annotations

import pytest

from jiesu.nlp.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # Pasted from a web form: tags, entities, tabs and blank lines.
        (
            "<p>小区门口&nbsp;垃圾<br/>没人清理</p>\n\t\t\n",
            "小区门口 垃圾 没人清理",
        ),
        ("&lt;b&gt;不是标签&lt;/b&gt;", "<b>不是标签</b>"),
        # Full-width letters, digits and the ideographic space become plain ASCII.
        ("ＡＢＣ小区３号楼\u3000１２０１室", "abc小区3号楼 1201室"),
        ("电话：１３８００１３８０００", "电话：13800138000"),
        # Chinese punctuation keeps its meaning.
        ("暖气不热，已经三天了！怎么办？", "暖气不热，已经三天了！怎么办？"),
        ("《通知》（第2号）", "《通知》（第2号）"),
        ("WiFi 信号 APP 闪退", "wifi 信号 app 闪退"),
        ("\u200b看\u200d不见\ufeff的字符", "看不见的字符"),
        ("空\x00字符", "空字符"),
        # Traditional characters become simplified ones (OpenCC, phrases first).
        ("臺灣的計程車司機繞路", "台湾的计程车司机绕路"),
        ("暖氣不熱，請處理", "暖气不热，请处理"),
        # Escapes left by spreadsheet exports are the characters they stand for.
        ("尊敬的领导：_x000D_\n您好", "尊敬的领导： 您好"),
        ("", ""),
        ("   \r\n  ", ""),
    ],
)
def test_normalize_messy_text(raw: str, clean: str) -> None:
    assert normalize(raw) == clean


def test_normalize_is_idempotent() -> None:
    raw = "<div>\n\t\t\t\tA3区大道西行便道，ＰＭ２.５超标&amp;扬尘\r\n\r\n</div>"
    once = normalize(raw)
    assert normalize(once) == once
    assert once == "a3区大道西行便道，pm2.5超标&扬尘"
