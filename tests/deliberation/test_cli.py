"""`jiesu consult` on both databases: open, list, refuse bad input by name, close with a
decision and a work order, and read the results."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app

from factories import World

runner = CliRunner()


@pytest.fixture
def env(
    world: World, session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))


def run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["consult", *args])
    return r.exit_code, r.output


def test_open_close_results(env: None) -> None:
    code, out = run(
        "open", "--title", "噪音", "--question", "怎么办", "--option", "只有一个", "--by", "sup"
    )
    assert code == 1 and "options: a poll needs at least two options; 1 given" in out
    code, out = run(
        "open",
        "--title",
        "噪音",
        "--question",
        "怎么办",
        "--option",
        "甲",
        "--option",
        "乙",
        "--area",
        "nowhere",
        "--by",
        "sup",
    )
    assert code == 1 and "area: unknown value 'nowhere'" in out
    code, out = run(
        "open",
        "--title",
        "噪音",
        "--question",
        "怎么办",
        "--option",
        "限时施工",
        "--option",
        "维持现状",
        "--area",
        "110101",
        "--by",
        "sup",
    )
    assert code == 0 and "opened consultation 1 in 东城区" in out, out
    code, out = run(
        "close", "1", "--decision", "限时", "--reasons", "r", "--option", "1", "--by", "sup"
    )
    assert code == 1 and "is still open; end it first" in out
    code, out = run("list")
    assert code == 0 and "open" in out
    code, out = run(
        "close",
        "1",
        "--decision",
        "限时施工",
        "--reasons",
        "无人反对",
        "--option",
        "1",
        "--end",
        "--work-order",
        "夜间巡查",
        "--by",
        "sup",
    )
    assert code == 0 and "consultation 1 decided; work orders: " in out, out
    code, out = run("results", "1")
    assert code == 0 and "限时施工" in out and "0 vote(s)" in out and "planned" in out
    code, out = run("close", "1", "--decision", "x", "--reasons", "y", "--by", "analyst")
    assert code == 1 and "supervisor, admin" in out
