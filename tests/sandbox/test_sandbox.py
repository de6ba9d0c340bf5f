"""The policy sandbox on a generated history: the unchanged replay reproduces the recorded
on-time share; each kind of change moves the results the way it must; bad scenarios are
refused whole, naming the field."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from historykit import NOW, seed_demo
from jiesu.city.models import HandlingUnit
from jiesu.dispatch.directory import directory
from jiesu.errors import ProblemList
from jiesu.sandbox.scenario import Scenario, load_scenario, read_scenario
from jiesu.sandbox.service import run_sandbox, scenario_names
from jiesu.workflow.models import ServiceRequest

# The stated error of the validation replay (docs/sandbox.md): percentage points.
VALIDATION_POINTS = 2.0


def _run(session: Session, raw: dict[str, Any], tmp_path: Path, runs: int = 4) -> dict[str, Any]:
    names = scenario_names(session)
    sc = read_scenario(raw, names, directory(session), base=tmp_path)
    return run_sandbox(session, sc, names, runs=runs, seed=3, now=NOW)


def _busiest(session: Session, k: int = 1) -> list[tuple[str, str]]:
    counts = Counter(
        session.scalars(
            select(HandlingUnit.code)
            .join(ServiceRequest, ServiceRequest.lead_unit_id == HandlingUnit.id)
            .where(ServiceRequest.status == "closed")
        )
    )
    out = []
    for code, _ in counts.most_common(k):
        name = session.scalar(select(HandlingUnit.name).where(HandlingUnit.code == code))
        assert name is not None
        out.append((code, name))
    return out


def test_unchanged_replay_reproduces_the_recorded_history(session: Session, tmp_path: Path) -> None:
    seed_demo(session, 700)
    result = _run(session, {"name": "unchanged"}, tmp_path, runs=6)
    v = result["validation"]
    assert v["recorded_requests"] == v["simulated_requests"] > 500
    assert abs(v["error_points"]) <= VALIDATION_POINTS, v
    # Returns follow the recorded first dispatches exactly; reopens are drawn at each unit's
    # recorded share, so their number comes near the recorded one.
    assert v["simulated_returns"]["mean"] == v["recorded_returns"] > 0
    assert v["simulated_reopens"]["mean"] == pytest.approx(v["recorded_reopens"], rel=0.35)
    # An unchanged scenario is the baseline, run for run.
    assert result["difference"]["on_time_share"] == {"mean": 0.0, "low": 0.0, "high": 0.0}
    assert len(result["backlog"]["baseline"]) == result["period"]["days"] > 360

    # One handler at each of the ten busiest units (named by name or code): their cases wait,
    # and fewer are on time.
    busiest = _busiest(session, 10)
    code, name = busiest[0]
    handlers: dict[str, Any] = {name: 1} | {c: 1 for c, _ in busiest[1:]}
    fewer = _run(session, {"handlers": handlers}, tmp_path)
    row = next(u for u in fewer["units"] if u["unit"] == code)
    assert row["scenario"]["limit"] == 1 < row["scenario"]["recorded_peak_in_hand"]
    assert row["baseline"]["limit"] is None
    assert row["scenario"]["wait_hours"]["mean"] > row["baseline"]["wait_hours"]["mean"] + 1
    assert fewer["difference"]["on_time_share"]["high"] < 0
    assert fewer["difference"]["backlog_mean"]["mean"] > 0

    # A much shorter handling limit for every category: more cases late.
    limits = _run(session, {"time_limits": {"01": "1d", "02": "1d", "03": "1d"}}, tmp_path)
    assert limits["difference"]["on_time_share"]["high"] < 0

    # A surge tripling one first-level category over the whole period: more requests.
    surge = _run(
        session,
        {"surges": [{"categories": ["01"], "from": "2025-11-02", "to": "2026-11-01",
                     "factor": 3}]},
        tmp_path,
    )  # fmt: skip
    assert surge["difference"]["requests"]["low"] > 0
    assert surge["scenario_result"]["requests"]["mean"] > surge["baseline"]["requests"]["mean"]


def test_a_catalogue_sending_cases_to_their_unit_removes_returns(
    session: Session, tmp_path: Path
) -> None:
    seed_demo(session, 300)
    code, _ = _busiest(session)[0]
    # Every case to the busiest unit: the cases it did not handle are sent back.
    (tmp_path / "all-to-one.yaml").write_text(
        f"rules:\n  - id: all\n    name: everything\n    lead: {code}\n", encoding="utf-8"
    )
    result = _run(session, {"catalogue": "all-to-one.yaml"}, tmp_path, runs=2)
    moved = result["dispatch_changes"]
    assert moved["decided"] == result["validation"]["simulated_requests"]
    assert moved["sent_back"] > 0
    assert result["difference"]["returns"]["low"] > 0


def _problems(session: Session, raw: Any, tmp_path: Path) -> list[str]:
    names = scenario_names(session)
    with pytest.raises(ProblemList) as err:
        read_scenario(raw, names, directory(session), base=tmp_path)
    return err.value.problems


def test_bad_scenarios_name_the_field_and_nothing_runs(session: Session, tmp_path: Path) -> None:
    seed_demo(session, 60)
    problems = _problems(
        session,
        {
            "period": {"from": "2026-05-01", "to": "2026-04-01"},
            "handlers": {"NO-SUCH-UNIT": 3, "CB-CGW": -2},
            "time_limits": {"没有这个分类": "3wd", "01": "3 weeks"},
            "surges": [
                {"categories": ["01"], "from": "1999-01-01", "to": "2026-01-10", "factor": -1},
                {"match": "暖", "from": "2026-01-01"},
            ],
            "catalogue": "missing.yaml",
            "colour": "red",
        },
        tmp_path,
    )
    text = "\n".join(problems)
    for needle in (
        "period.to: 2026-04-01 is before from",
        "handlers.NO-SUCH-UNIT: 'NO-SUCH-UNIT' unknown unit",
        "handlers.CB-CGW: must be at least 1",
        "time_limits.没有这个分类: unknown category",
        "time_limits.01: invalid time limit",
        "surges[0].from: 1999-01-01 is outside the recorded history",
        "surges[0].factor: must be a number from 0",
        "surges[1].to: missing",
        "surges[1].factor",
        "catalogue: cannot read",
        "colour: unknown key",
    ):
        assert needle in text, (needle, text)
    assert _problems(session, ["a", "list"], tmp_path) == [
        "(top): must be a mapping of name, period, catalogue, …"
    ]
    assert "handlers.CB-CGW.factor" in "\n".join(
        _problems(session, {"handlers": {"CB-CGW": {"factor": 0}}}, tmp_path)
    )
    # A day that does not exist is named as such, also when YAML would read it as a date.
    assert _problems(session, {"period": {"from": "2026-02-30"}}, tmp_path) == [
        "period.from: '2026-02-30' is not a date (YYYY-MM-DD)"
    ]
    file = tmp_path / "bad-day.yaml"
    file.write_text("period:\n  from: 2026-02-30\n", encoding="utf-8")
    with pytest.raises(ProblemList) as err:
        load_scenario(file, scenario_names(session), directory(session))
    assert err.value.problems == ["period.from: '2026-02-30' is not a date (YYYY-MM-DD)"]
    # A catalogue naming a unit the city does not have: its own problem, under catalogue.
    (tmp_path / "bad.yaml").write_text(
        "rules:\n  - id: x\n    name: x\n    lead: NOPE\n", encoding="utf-8"
    )
    assert any(
        p.startswith("catalogue: ") and "NOPE" in p
        for p in _problems(session, {"catalogue": "bad.yaml"}, tmp_path)
    )


def test_runs_out_of_range_are_refused(session: Session) -> None:
    seed_demo(session, 30)
    names = scenario_names(session)
    from jiesu.errors import BadInput

    with pytest.raises(BadInput, match="runs"):
        run_sandbox(session, Scenario("x"), names, runs=0, seed=1, now=NOW)
