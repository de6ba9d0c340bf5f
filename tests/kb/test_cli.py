"""`jiesu kb` on a real database: import with per-file errors, search, expiring, synonyms,
consultations, and eval refusing a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.kit.clock import FixedClock

from factories import make_world

runner = CliRunner()


@pytest.fixture
def env(
    session: Session,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
) -> Path:
    make_world(session, clock.now())
    session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_import_search_expiring_and_synonyms(env: Path) -> None:
    folder = env / "kb"
    folder.mkdir()
    (folder / "heat.md").write_text(
        "---\nowner_unit: ST-110101001\nstatus: published\nvalid_until: 2030-01-01\n---\n"
        "# 暖气不热怎么办\n\n拨打供热单位热线报修。", "utf-8",
    )  # fmt: skip
    (folder / "bad.md").write_text("---\ncategories: [NOPE]\n---\n正文", "utf-8")
    code, out = invoke("kb", "import", str(folder), "--json")
    assert code == 1  # one file failed; the other is in
    rows = {Path(r["file"]).name: r for r in json.loads(out)}
    assert rows["heat.md"]["outcome"] == "created"
    assert rows["bad.md"]["outcome"] == "failed" and "categories" in rows["bad.md"]["problem"]
    code, out = invoke("kb", "search", "采暖不热", "--json")
    assert code == 0 and json.loads(out)[0]["title"] == "暖气不热怎么办"
    code, out = invoke("kb", "expiring", "--days", "3650", "--json")
    assert code == 0 and json.loads(out)[0]["unit"] == "ST-110101001"
    code, out = invoke("kb", "synonyms", "add", "报修,修理")
    assert code == 0 and "synonym groups saved" in out
    code, out = invoke("kb", "synonyms", "show")
    assert "报修, 修理" in out
    code, out = invoke("kb", "synonyms", "add", "孤单")
    assert code == 1 and "at least two words" in out
    code, out = invoke("kb", "consultations", "--json")
    assert code == 0 and json.loads(out)["answered_directly"] == 0
    code, out = invoke("kb", "import", str(env / "nothing-here"))
    assert code == 1


def test_eval_refuses_a_file_without_the_columns(env: Path) -> None:
    bad = env / "bad.csv"
    bad.write_text("a,b\n1,2\n", "utf-8")
    code, out = invoke("kb", "eval", "--data", str(bad))
    assert code == 1 and "留言主题" in out  # the missing columns are named
