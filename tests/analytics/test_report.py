"""Reports: every number checked against direct SQL on the operational database, the files
written, and bad input refused with the field named."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from analyticskit import History
from jiesu.analytics.periods import ReportPeriod, report_period
from jiesu.analytics.report import build_report
from jiesu.city.models import Area, Category
from jiesu.errors import BadInput
from jiesu.rates.compute import rates_report
from jiesu.rates.query import build_query
from jiesu.workflow.models import Event, ServiceRequest

R = ServiceRequest


def _report(h: History, kind: str, value: str):  # type: ignore[no-untyped-def]
    h.wh.refresh(h.session, now=h.clock.now())
    tz = h.world.ctx.tz
    period = report_period(kind, value, today=h.clock.now().astimezone(tz).date())
    with h.wh.connect() as con:
        return build_report(
            h.session, con, period, tz=tz, now=h.clock.now(), refreshed_at="x"
        ), period


def _in(h: History, period: ReportPeriod) -> list[object]:
    start, end = period.bounds(h.world.ctx.tz)
    return [R.received_at >= start, R.received_at < end]


def test_monthly_numbers_match_the_operational_database(history: History) -> None:
    h, s = history, history.session
    report, period = _report(h, "monthly", "2026-11")
    where = _in(h, period)
    assert report.total == s.scalar(select(func.count()).where(*where)) == 9
    prev = _in(h, period.previous())
    assert report.previous_total == s.scalar(select(func.count()).where(*prev)) == 6
    channels = dict(
        s.execute(select(R.channel, func.count()).where(*where).group_by(R.channel)).all()
    )
    assert {c["channel"]: c["n"] for c in report.channels} == channels
    assert sum(t["n"] for t in report.trend) == report.total and len(report.trend) == 30
    # First-level categories: everything here is under 城乡建设 (01).
    assert [(c.code, c.n, c.previous) for c in report.categories] == [("01", 9, 6)]
    leaf = dict(
        s.execute(
            select(Category.code, func.count())
            .select_from(R)
            .join(Category, Category.id == R.category_id)
            .where(*where)
            .group_by(Category.code)
        ).all()
    )
    assert {c.code: c.n for c in report.leaf_categories} == leaf
    noise = next(c for c in report.leaf_categories if c.code == "010101")
    assert (noise.n, noise.previous, noise.change) == (6, 4, 2)
    # Places: district 东城区 holds both streets; 西城区 is a district-level request.
    districts = {c.name: c.n for c in report.districts}
    assert districts == {"东城区": 8, "西城区": 1}
    streets = dict(
        s.execute(
            select(Area.name, func.count())
            .select_from(R)
            .join(Area, Area.id == R.area_id)
            .where(*where, Area.level == "street")
            .group_by(Area.name)
        ).all()
    )
    assert {c.name: c.n for c in report.streets} == streets
    assert (
        report.emergencies
        == s.scalar(select(func.count()).where(*where, R.urgency == "emergency"))
        == 1
    )
    assert report.emergency_items[0]["category"] == "燃气泄漏"
    start, end = period.bounds(h.world.ctx.tz)
    returns = s.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.kind == "return", Event.at >= start, Event.at < end)
    )
    assert report.returned["returns"] == returns == 1
    statuses = dict(
        s.execute(select(R.status, func.count()).where(*where).group_by(R.status)).all()
    )
    assert {x["status"]: x["n"] for x in report.statuses} == statuses
    # The rates are the rates module's own, for the same span.
    q = build_query(s, as_of=h.clock.now(), period="2026-11", by="unit")
    direct = rates_report(s, q, with_ontime=False).total
    assert report.rates is not None and report.rates["counts"] == direct.counts
    assert {u["code"] for u in report.ranking} == {"ST-110101001", "ST-110101008"}
    # The monthly analysis proposes the month's topic candidates (one second-level category).
    assert [(t["code"], t["n"]) for t in report.topics] == [("0101", 9)]


def test_daily_and_weekly_spans(history: History) -> None:
    h = history
    daily, _ = _report(h, "daily", "2026-11-04")
    assert daily.total == 1 and daily.emergencies == 1 and len(daily.trend) == 24
    assert sum(t["n"] for t in daily.trend) == 1
    # The gas report came in at 10:00 Beijing time.
    assert next(t for t in daily.trend if t["n"])["at"] == "10:00"
    weekly, period = _report(h, "weekly", "2026-11-04")
    assert (period.first, period.last) == (date(2026, 11, 2), date(2026, 11, 8))
    assert weekly.total == 4 and weekly.label == "2026-W45"


def test_a_month_without_requests_says_so(history: History) -> None:
    report, _ = _report(history, "monthly", "2026-08")
    assert report.total == 0 and report.categories == [] and report.ranking is not None
    assert "no request was received in this period" in report.notes


def test_periods_refuse_bad_input() -> None:
    today = date(2026, 12, 2)
    with pytest.raises(BadInput, match="in the future") as e:
        report_period("daily", "2026-12-30", today=today)
    assert e.value.fields[0]["field"] == "date"
    with pytest.raises(BadInput) as e:
        report_period("monthly", "2026-13", today=today)
    assert e.value.fields[0]["field"] == "month"
    with pytest.raises(BadInput) as e:
        report_period("yearly", None, today=today)
    assert e.value.fields[0]["field"] == "kind"
    # Defaults: yesterday, the last full week, last month.
    assert report_period("daily", None, today=today).first == date(2026, 12, 1)
    week = report_period("weekly", None, today=today)
    assert (week.first, week.last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert report_period("monthly", None, today=today).label == "2026-11"


def test_report_files_and_the_cli(
    history: History, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jiesu.cli import app

    history.session.commit()
    data_dir = tmp_path / "data"
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(data_dir))
    out = tmp_path / "report"
    runner = CliRunner()
    res = runner.invoke(app, ["report", "monthly", "--month", "2026-11", "--out", str(out)])
    assert (data_dir / "reports" / "monthly" / "2026-11" / "report.json").exists()
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["total"] == 9 and doc["label"] == "2026-11"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<span class="n" id="total">9</span>' in html and "月分析" in html
    assert (out / "echarts.min.js").stat().st_size > 100_000
    with (out / "top_categories.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["name"] == "市政管理 / 噪音扰民" and rows[0]["n"] == "6"
    bad = runner.invoke(app, ["report", "daily", "--date", "2027-01-05", "--out", str(out)])
    assert bad.exit_code == 1 and "in the future" in bad.output
    bad = runner.invoke(app, ["report", "daily", "--month", "2026-11", "--out", str(out)])
    assert bad.exit_code == 1 and "--month is for the monthly report" in bad.output


def test_due_reports_are_produced_once_and_listed(history: History) -> None:
    from jiesu.analytics.library import find_kept, kept, produce_due
    from jiesu.errors import NotFound

    h = history
    data_dir = h.wh.root.parent
    made = produce_due(h.session, data_dir, now=h.clock.now())
    # 2 December 2026: yesterday, the week of 23–29 November, and November.
    assert [(p.kind, p.label) for p in made] == [
        ("daily", "2026-12-01"),
        ("weekly", "2026-W48"),
        ("monthly", "2026-11"),
    ]
    assert produce_due(h.session, data_dir, now=h.clock.now()) == []
    listed = {(k.kind, k.label): k.total for k in kept(data_dir)}
    assert listed == {
        ("daily", "2026-12-01"): 0,
        ("weekly", "2026-W48"): 1,
        ("monthly", "2026-11"): 9,
    }
    assert find_kept(data_dir, "monthly", "2026-11").name == "2026-11"
    for kind, label in (("monthly", "../daily/2026-12-01"), ("yearly", "2026"), ("daily", "x")):
        with pytest.raises(NotFound):
            find_kept(data_dir, kind, label)
