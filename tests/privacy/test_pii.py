"""Personal data inside free text: what is masked, what is left alone, and properties of both.

Check digits are computed here independently of the module (ISO 7064 MOD 11-2 for ID numbers,
Luhn for bank cards), so a wrong implementation there cannot agree with itself here.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jiesu.privacy.pii import find_pii, mask_cut_text, mask_pii, mask_text

# The words that announce a name (privacy/pii.py): a text without them holds no name to mask.
NAME_WORDS = re.compile(
    "我叫|名字|本人|姓名|联系人|投诉人|反映人|来电人|报案人|业主|户主|签名|署名|申请人|当事人|我是"
    "|name|contact|caller",
    re.IGNORECASE,
)
PROVINCES = ["11", "12", "31", "32", "44", "50", "51", "65"]
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def id_check(first17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7, 9, 10, 5, … by definition
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def with_luhn(partial: str) -> str:
    """``partial`` followed by the digit that makes it pass the Luhn check."""
    for d in "0123456789":
        number = partial + d
        total = 0
        for i, c in enumerate(reversed(number)):
            x = int(c) * (2 if i % 2 else 1)
            total += x - 9 if x > 9 else x
        if total % 10 == 0:
            return number
    raise AssertionError("unreachable")


def resident_id(province: str, born: date, seq: int) -> str:
    first17 = f"{province}0105{born:%Y%m%d}{seq:03d}"
    return first17 + id_check(first17)


ID = resident_id("11", date(1990, 1, 1), 123)  # 110105199001011235
CARD = with_luhn("622202123456789")  # 16 digits, UnionPay
CARD19 = with_luhn("621226120201158434")


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_pii(text)]


# --- examples: real-looking texts --------------------------------------------------------


def test_the_reference_numbers_are_what_the_tests_think() -> None:
    assert id_check("11010519491231002") == "X"  # the example of GB 11643-1999
    assert with_luhn("411111111111111") == "4111111111111111"
    assert len(CARD) == 16 and len(CARD19) == 19


@pytest.mark.parametrize(
    ("text", "expected", "found"),
    [
        (
            "我是朝阳区的居民，电话13912345678，楼下烧烤店每天营业到凌晨两点，油烟很大。",
            "我是朝阳区的居民，电话139****5678，楼下烧烤店每天营业到凌晨两点，油烟很大。",
            ["mobile"],
        ),
        (
            "请回电 +86 139-1234-5678 或者座机(010)6512-3456，下午在家",
            "请回电 +86 139****5678 或者座机010****3456，下午在家",
            ["mobile", "landline"],
        ),
        (
            "我的身份证号是" + ID + "，社保卡一直办不下来，窗口说系统里没有我的信息",
            "我的身份证号是110105************，社保卡一直办不下来，窗口说系统里没有我的信息",
            ["id_card"],
        ),
        (
            "小区门口一辆京A·D12345的车堵了消防通道三天了，还有一辆冀B88K21也常年停在这里",
            "小区门口一辆京A******的车堵了消防通道三天了，还有一辆冀B*****也常年停在这里",
            ["plate", "plate"],
        ),
        (
            f"退款一直没到账，银行卡号{CARD}，订单号202611021234567898，金额1280.50元",
            "退款一直没到账，银行卡号************"
            + CARD[-4:]
            + "，订单号202611021234567898，金额1280.50元",
            ["bank_card"],
        ),
        (
            "材料已发到 zhang.san_1990@example.com.cn，请查收",
            "材料已发到 ***@***，请查收",
            ["email"],
        ),
        (
            "联系电话：65123456转8001，白天有人",
            "联系电话：****3456转8001，白天有人",
            ["landline"],
        ),
        (
            "电话１３９１２３４５６７８（全角输入）",
            "电话139****5678（全角输入）",
            ["mobile"],
        ),
        (
            "旧身份证110105900101123，新的还没换",
            "旧身份证110105*********，新的还没换",
            ["id_card"],
        ),
    ],
)
def test_real_looking_texts(text: str, expected: str, found: list[str]) -> None:
    masked = mask_pii(text)
    assert masked.text == expected
    assert [f.kind for f in masked.findings] == found


@pytest.mark.parametrize(
    "text",
    [
        "朝阳区望京街道花家地北里3号楼2单元501室，楼道灯坏了",
        "2026年11月2日上午9:30到10:45停水，2026-11-02 09:30通知的",
        "物业费从每平米2.35元涨到3.80元，一年多交1280元，合计¥12,345.67",
        "工单20261102-ABCDEF，上次的工单号是20261015-QWERTZ",
        "订单号202611021234567898，快递单号SF1234567890123，发票号码04400190021112345678",
        "邮编100010，地址东城区东华门大街100号",
        "打了12345和110，又打了96166供暖热线，还有400-810-8888",
        "北京市2025年GDP增长5.2%，常住人口21850000人",
        "京ABCDE是一句拼音缩写，新A级景区，沪B2B平台",
        "身高175cm，体重68kg，房间号1802",
        "温度-12.5度，持续了13912345678.5秒",  # a decimal, not a phone
        "4111111111111112",  # Luhn fails: not a card
        "快递单号SF13912345678901，记录d4d03989230791fadcf8",  # codes and hashes
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert find_pii(text) == []
    assert mask_text(text) == text


def test_an_id_number_with_a_wrong_check_digit_is_masked_only_after_its_word() -> None:
    wrong = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    assert kinds(f"编号{wrong}") == []
    assert kinds(f"身份证：{wrong}") == ["id_card"]  # mistyped, still somebody's
    assert kinds(f"编号{ID}") == ["id_card"]


def test_ids_need_a_real_province_and_birth_date() -> None:
    assert kinds(resident_id("11", date(2000, 2, 29), 4)) == ["id_card"]
    feb30 = "110105200002300040"
    assert kinds(feb30[:17] + id_check(feb30[:17])) == []
    unknown = "99" + ID[2:17]
    assert kinds(unknown + id_check(unknown)) == []


def test_a_card_needs_a_card_prefix_or_its_word() -> None:
    order = with_luhn("202611021234567")  # Luhn-valid by chance, no card starts like that
    assert kinds(f"单号{order}") == []
    assert kinds(f"卡号 {order}") == ["bank_card"]
    grouped = " ".join(CARD[i : i + 4] for i in range(0, 16, 4))
    assert mask_text(f"卡 {grouped} 谢谢") == f"卡 ************{CARD[-4:]} 谢谢"
    assert kinds(CARD19) == ["bank_card"]


@pytest.mark.parametrize(
    ("plate", "masked"),
    [
        ("京A12345", "京A*****"),
        ("沪AD12345", "沪A******"),  # new energy, small car
        ("粤B12345F", "粤B******"),  # new energy, large vehicle
        ("苏E·A8K21", "苏E*****"),
        ("川a12345", "川a*****"),  # typed in lower case
        ("鲁B1234学", "鲁B*****"),
        ("津C 12345", "津C*****"),
    ],
)
def test_plates(plate: str, masked: str) -> None:
    assert mask_text(f"车牌{plate}违停") == f"车牌{masked}违停"


def test_spans_point_into_the_original_text() -> None:
    text = f"电话13912345678，身份证{ID}，邮箱a@b.cn"
    found = find_pii(text)
    assert [text[f.start : f.end] for f in found] == ["13912345678", ID, "a@b.cn"]
    assert mask_pii(text).kinds == {"mobile", "id_card", "email"}


def test_labels_in_latin_letters_still_count() -> None:
    assert kinds("Tel13912345678") == ["mobile"]
    assert kinds(f"ID{ID}") == ["id_card"]
    assert kinds("abc13912345678") == []


def test_an_email_that_is_a_phone_number_is_one_email() -> None:
    assert mask_pii("13912345678@163.com").text == "***@***"


def test_a_cut_title_masks_digits_running_into_the_cut() -> None:
    assert mask_cut_text("路灯坏了，请联系1391234…") == "路灯坏了，请联系*******…"
    assert mask_cut_text("住在3号楼…") == "住在3号楼…"
    assert mask_cut_text("共123") == "共123"  # not cut


def test_none_and_empty() -> None:
    assert mask_text(None) == "" and mask_text("") == ""


# --- properties --------------------------------------------------------------------------

cjk = st.text(alphabet="的我在楼下小区电话噪音停水路灯，。 市民反映", max_size=12)
births = st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31))


@given(cjk, st.sampled_from(PROVINCES), births, st.integers(0, 999), cjk)
def test_any_valid_id_number_is_masked(
    before: str, province: str, born: date, seq: int, after: str
) -> None:
    number = resident_id(province, born, seq)
    out = mask_pii(before + number + after)
    assert number not in out.text and number[6:14] not in out.text  # the birth date goes
    assert "id_card" in out.kinds


@given(
    cjk,
    st.sampled_from(["13", "15", "17", "18", "19"]),
    st.integers(0, 999_999_999),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["", "+86 ", "+86", "0086-", "86"]),
    cjk,
)
def test_any_mobile_number_is_masked(
    before: str, head: str, rest: int, sep: str, prefix: str, after: str
) -> None:
    digits = f"{head}{rest:09d}"
    shown = prefix + digits[:3] + sep + digits[3:7] + sep + digits[7:]
    out = mask_pii(before + shown + after)
    assert [(f.kind, f.start, f.end) for f in out.findings] == [
        ("mobile", len(before), len(before) + len(shown))
    ]
    assert out.text == before + prefix + digits[:3] + "****" + digits[7:] + after


@given(cjk, st.integers(0, 10**13 - 1), cjk)
def test_any_unionpay_card_is_masked(before: str, middle: int, after: str) -> None:
    number = with_luhn(f"62{middle:013d}")
    out = mask_text(before + number + after)
    assert number not in out and "*" * 12 + number[-4:] in out


@given(st.integers(0, 10**16 - 1), st.sampled_from(["订单号", "单号", "编号 ", ""]))
def test_order_numbers_are_left_alone(n: int, word: str) -> None:
    number = f"20{n:016d}"  # how order numbers start: a year; no province or card does
    assert mask_text(word + number) == word + number


@given(st.sampled_from(PROVINCES), births, st.integers(0, 999), st.sampled_from("0123456789X"))
def test_a_wrong_check_character_is_not_an_id(
    province: str, born: date, seq: int, check: str
) -> None:
    number = resident_id(province, born, seq)
    assume(check != number[-1])
    wrong = number[:-1] + check
    assert "id_card" not in mask_pii(f"编号{wrong}").kinds


noisy = st.text(
    alphabet="0123456789 -+@.()xXabAD京沪粤号楼电话身份证卡号：，" + "１２３",
    max_size=60,
)


@given(noisy)
def test_masking_twice_changes_nothing_more(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@given(noisy)
def test_findings_are_ordered_apart_and_everything_else_is_kept(text: str) -> None:
    masked = mask_pii(text)
    pos, rebuilt = 0, []
    for f in masked.findings:
        assert pos <= f.start < f.end <= len(text)
        rebuilt.append(text[pos : f.start])
        pos = f.end
    rebuilt.append(text[pos:])
    kept = "".join(rebuilt)
    # What lies outside the findings is in the output, in order.
    it = iter(masked.text)
    assert all(c in it for c in kept)


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",), blacklist_characters="@")))
def test_text_without_digits_or_at_signs_is_unchanged(text: str) -> None:
    assume(not any(c in PLATE_PROVINCES for c in text))
    assume(not NAME_WORDS.search(text))  # 我叫… announces a name, which is masked
    assert mask_text(text) == text


@given(
    st.integers(1, 40),
    st.integers(1, 9),
    st.integers(101, 2805),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(0, 10**7),
)
def test_addresses_dates_and_amounts_are_unchanged(
    building: int, unit: int, room: int, day: date, cents: int
) -> None:
    text = (
        f"{building}号楼{unit}单元{room}室，{day.year}年{day.month}月{day.day}日，"
        f"{day.isoformat()} 09:30，金额{cents / 100:.2f}元，共{cents}次"
    )
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("尊敬的领导：我叫王建国，住在东城区", "尊敬的领导：我叫王**，住在东城区"),
        ("联系人：李四 电话13912345678", "联系人：李* 电话139****5678"),
        ("我是张伟，楼下太吵", "我是张*，楼下太吵"),
        ("业主：欧阳娜娜反映漏水", "业主：欧阳**反映漏水"),
        ("投诉人刘德华说物业不管", "投诉人刘**说物业不管"),
        ("我叫周捷（户主：周根芳）是K2村的", "我叫周*（户主：周**）是K2村的"),
        ("我叫杨柳来自农村", "我叫杨*来自农村"),
        ("Hi, my name is John Smith, call back", "Hi, my name is J*** S****, call back"),
        ("Caller: Mary Ann Lee", "Caller: M*** A** L**"),
    ],
)  # fmt: skip
def test_names_after_words_that_announce_them_are_masked_to_the_surname(
    text: str, expected: str
) -> None:
    masked = mask_pii(text)
    assert masked.text == expected
    assert "name" in masked.kinds and mask_text(masked.text) == masked.text


@pytest.mark.parametrize(
    "text",
    [
        "张先生反映路灯坏了，李女士说物业不管",  # the published forms
        "联系人：张主任，电话请咨询街道",  # a title, not a name
        "我是王府井社区的居民",  # 我是 + a place
        "我是安徽人，在这里打工",
        "本人常年在外地工作",
        "业主方面说不清楚",
        "投诉人向镇国土所提交了材料",  # a verb after the word
        "投诉人：邝胡社区邝家村的村民",  # a place after the colon
        "现在我是常客了，总是排队",
        "本人是符合招聘第一条的",
        "李建国反映楼道堆物",  # a name said without a word before it: not found (see pii.py)
    ],
)
def test_what_only_looks_like_a_name_is_left_alone(text: str) -> None:
    assert mask_text(text) == text
