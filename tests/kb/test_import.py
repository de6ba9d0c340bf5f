"""`jiesu kb import`: Markdown, HTML and text files; every file's own error; broken and
hostile markup made harmless; importing again writes a version only when something changed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from jiesu.kb.importer import import_files
from jiesu.kb.markup import to_html
from jiesu.kit.clock import FixedClock
from jiesu.people.service import Actor
from kbkit import TODAY

from factories import make_world

ADMIN = Actor(None, "kb-cli", "admin")

GOOD_MD = """---
title: 冬季供暖收费标准
owner_unit: ST-110101001
categories: [010102]
areas: 110101001
valid_until: 2027-03-31
status: published
---
# ignored heading

居民供暖费每平方米每个采暖季30元。
"""


def test_files_of_each_kind_import_and_bad_ones_say_why(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    make_world(session, clock.now())
    (tmp_path / "heat.md").write_text(GOOD_MD, "utf-8")
    (tmp_path / "water.html").write_text(
        "<html><head><title>停水查询</title></head><body><h1>停水查询</h1><p>拨打热线"
        "<script>alert(1)</script><img src=x onerror=alert(2)><a href='javascript:x()'>点此"
        "<p>未闭合的段落<b>粗体", "utf-8",
    )  # fmt: skip
    (tmp_path / "gbk.txt").write_bytes("公积金提取须知\n\n携带身份证办理。".encode("gb18030"))
    (tmp_path / "bad-yaml.md").write_text("---\ntitle: [unclosed\n---\n正文", "utf-8")
    (tmp_path / "bad-unit.md").write_text("---\nowner_unit: NOPE\n---\n正文", "utf-8")
    (tmp_path / "bad-date.md").write_text("---\nvalid_until: next year\n---\n正文", "utf-8")
    (tmp_path / "empty.md").write_text("---\ntitle: x\n---\n  \n", "utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\xff\xfe" * 10)
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    results = import_files(
        session,
        [tmp_path, tmp_path / "missing.md", tmp_path / "notes.pdf"],
        actor=ADMIN,
        now=clock.now(),
        today=TODAY,
    )
    by_name = {Path(r.path).name: r for r in results}
    assert by_name["heat.md"].outcome == "created"
    assert by_name["water.html"].outcome == "created"
    assert by_name["gbk.txt"].outcome == "created"
    problems = {n: r.problem for n, r in by_name.items() if r.outcome == "failed"}
    assert "YAML" in problems["bad-yaml.md"]
    assert "owner_unit" in problems["bad-unit.md"]
    assert "valid_until" in problems["bad-date.md"]
    assert "no text" in problems["empty.md"]
    assert "UTF-8" in problems["binary.txt"] or "NUL" in problems["binary.txt"]
    assert "unknown kind" in problems["notes.pdf"]
    assert "missing.md" in problems


def test_imported_articles_carry_their_metadata_and_no_script(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    from jiesu.kb.models import KbArticle

    make_world(session, clock.now())
    (tmp_path / "heat.md").write_text(GOOD_MD, "utf-8")
    (tmp_path / "water.html").write_text(
        "<title>停水查询</title><p onclick='x()'>拨打热线<script>alert(1)</script>"
        "<img src=x onerror=alert(2)><a href='javascript:x()'>点此</a>", "utf-8",
    )  # fmt: skip
    import_files(session, [tmp_path], actor=ADMIN, now=clock.now(), today=TODAY)
    heat = session.query(KbArticle).filter_by(title="冬季供暖收费标准").one()
    assert heat.status == "published" and heat.owner_unit is not None
    assert heat.categories == ["010102"] and heat.areas == ["110101001"]
    assert str(heat.valid_until) == "2027-03-31"
    water = session.query(KbArticle).filter_by(title="停水查询").one()
    assert water.status == "draft"  # no front matter: a draft until someone publishes it
    for bad in ("<script", "onerror", "onclick", "javascript:", "<img"):
        assert bad not in water.body_html
    assert "拨打热线" in water.plain and "alert" not in water.plain


def test_importing_again_writes_a_version_only_on_change(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    make_world(session, clock.now())
    f = tmp_path / "heat.md"
    f.write_text(GOOD_MD, "utf-8")
    first = import_files(session, [f], actor=ADMIN, now=clock.now(), today=TODAY)[0]
    again = import_files(session, [f], actor=ADMIN, now=clock.now(), today=TODAY)[0]
    assert (again.outcome, again.article_id, again.version) == ("unchanged", first.article_id, 1)
    f.write_text(GOOD_MD.replace("30元", "32元"), "utf-8")
    changed = import_files(session, [f], actor=ADMIN, now=clock.now(), today=TODAY)[0]
    assert (changed.outcome, changed.version) == ("updated", 2)


def test_broken_markup_is_rendered_never_refused() -> None:
    for body, fmt in (
        ("<div><p>未闭合<table><tr><td>格", "html"),
        ("# 标题\n\n<b>粗 <i>斜\n\n* 列表\n<", "markdown"),
        ("<<<>>> &&& </p></div>", "html"),
        ("<script>alert(1)</script> 纯文本 < 和 >", "text"),
    ):
        out = to_html(body, fmt)
        assert "<script" not in out
