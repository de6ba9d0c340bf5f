"""`jiesu dispatch` on a real database: import/export of the catalogue, the dry run over
history, stats, and clear refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.kit.clock import FixedClock, utcnow
from jiesu.workflow.service import apply_action

from factories import make_request, make_world

runner = CliRunner()

RULES = {
    "settings": {"auto_dispatch": False},
    "rules": [
        {"id": "urban", "match": {"categories": ["01"]}, "lead": {"role": "street_office"}},
        {"id": "water", "match": {"categories": ["010102"]}, "lead": "PS-WATER"},
        {"id": "never", "match": {"categories": ["010104"], "areas": ["110102"]}, "lead": "CB-CGW"},
    ],
}


@pytest.fixture
def env(session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    # Rich wraps long lines: compare words, not line breaks.
    return result.exit_code, result.output if "--json" in args else " ".join(result.output.split())


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_import_export_and_versions(env: Path, session: Session, clock: FixedClock) -> None:
    make_world(session, clock.now())
    session.commit()
    rules = write(env / "dispatch.yaml", RULES)
    code, out = invoke("dispatch", "rules", "import", str(rules), "--check")
    assert code == 0 and "3 rules, no problems" in out
    code, out = invoke("dispatch", "rules", "import", str(rules), "--note", "first")
    assert code == 0 and "version 1 is active" in out
    code, out = invoke("dispatch", "rules", "export", "--out", str(env / "back.yaml"))
    assert code == 0
    back = yaml.safe_load((env / "back.yaml").read_text(encoding="utf-8"))
    assert [r["id"] for r in back["rules"]] == ["urban", "water", "never"]
    # The export reads back as the same catalogue: importing it changes nothing.
    code, out = invoke("dispatch", "rules", "import", str(env / "back.yaml"))
    assert code == 0 and "version 1 is active" in out
    code, out = invoke("dispatch", "rules", "list", "--json")
    assert [v["version"] for v in json.loads(out)] == [1]
    code, out = invoke("dispatch", "rules", "activate", "7")
    assert code == 1 and "no dispatch catalogue version 7" in out


def test_bad_files_are_refused_with_the_problem(
    env: Path, session: Session, clock: FixedClock
) -> None:
    make_world(session, clock.now())
    session.commit()
    code, out = invoke("dispatch", "rules", "import", str(env / "missing.yaml"))
    assert code == 1 and "does not exist" in out
    broken = env / "broken.yaml"
    broken.write_text("rules: [", encoding="utf-8")
    code, out = invoke("dispatch", "rules", "import", str(broken))
    assert code == 1 and "not readable YAML" in out
    bad = write(env / "bad.yaml", {"rules": [{"id": "x", "lead": "NOBODY"}]})
    code, out = invoke("dispatch", "rules", "import", str(bad))
    assert code == 1 and "unknown unit 'NOBODY'" in out
    code, out = invoke("dispatch", "test-rules", "--rules", str(bad), "--since", "yesterday")
    assert code == 1 and "--since" in out


def test_dry_run_reports_moves_and_rules_that_never_fire(
    env: Path, session: Session, clock: FixedClock
) -> None:
    world = make_world(session, clock.now())
    # History: now-ish, so that --since 30d includes it (the CLI counts from the real clock).
    now = utcnow()
    reqs = [make_request(session, world, now - timedelta(days=1)) for _ in range(3)]
    water = make_request(session, world, now - timedelta(days=1), category="010102", text="停水")
    for r in [*reqs, water]:
        apply_action(
            session,
            r,
            "dispatch",
            actor=world.actor("disp"),
            now=now,
            ctx=world.ctx,
            params={"unit": "CB-CGW"},
        )
    session.commit()
    rules = write(env / "dispatch.yaml", RULES)
    code, out = invoke("dispatch", "test-rules", "--rules", str(rules), "--since", "30d", "--json")
    assert code == 0, out
    result = json.loads(out[out.index("{") :])
    assert result["n"] == 4 and result["decided"] == 4 and result["undecided"] == 0
    assert result["elsewhere_than_actual"] == 4 and result["same_as_actual"] == 0
    assert result["changed_vs_active"] == 4  # no catalogue is active yet
    fired = {r["id"]: r["fired"] for r in result["rules"]}
    assert fired == {"urban": 3, "water": 1, "never": 0}
    assert result["never_fired"] == ["never"]
    moves = {(m["from"], m["to"]): m["count"] for m in result["moves"]}
    assert moves == {("CB-CGW", "ST-110101001"): 3, ("CB-CGW", "PS-WATER"): 1}
    code, out = invoke("dispatch", "stats", "--json")
    stats = json.loads(out)
    assert stats["dispatched"] == 4 and stats["by_source"][0]["source"] == "manual"


def test_bench_dispatch_reports_json(env: Path, session: Session, clock: FixedClock) -> None:
    make_world(session, clock.now())
    session.commit()
    code, out = invoke("bench", "dispatch", "--cases", "200", "--json")
    assert code == 1 and "no dispatch catalogue is active" in out
    invoke("dispatch", "rules", "import", str(write(env / "d.yaml", RULES)))
    code, out = invoke("bench", "dispatch", "--cases", "200", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["cases"] == 200 and result["rules"] == 3
    assert result["decisions_per_second"] > 0 and 0 < result["decided_share"] <= 1
    assert result["p50_ms"] <= result["p99_ms"]


def test_router_commands_are_mounted(env: Path) -> None:
    for command in ("train", "eval", "cv"):
        code, out = invoke("dispatch", command, "--help")
        assert code == 0 and "--label-col" in out
    code, out = invoke(
        "dispatch", "eval", "--data", str(env / "none.csv"), "--text-col", "t", "--label-col", "u"
    )
    assert code == 1 and "does not exist" in out
