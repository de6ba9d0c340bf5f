"""The equity view on a generated history copied to the warehouse: counts recounted from the
records, intervals around the rates, and a planted gap found by its test."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from historykit import NOW, seed_demo
from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.equity.service import caller_groups, equity_report
from jiesu.errors import BadInput
from jiesu.workflow.models import ServiceRequest


def test_outcomes_by_group_with_intervals_and_a_planted_gap(
    session: Session, tmp_path: Path
) -> None:
    seed_demo(session, 500)
    # The city records caller groups on some requests; the older callers' answered cases
    # were all unsatisfied (a gap the view must find), the migrants' are as everyone's.
    answered = session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.satisfaction.is_not(None))
        .order_by(ServiceRequest.id)
    ).all()
    for i, r in enumerate(answered[:160]):
        group = "older" if i % 2 == 0 else "migrant"
        r.attributes = {**(r.attributes or {}), "caller_group": group}
        if group == "older":
            r.satisfaction = "unsatisfied"
    session.commit()
    wh = Warehouse(tmp_path / "warehouse")
    wh.refresh(session, now=NOW)
    today = NOW.astimezone(city_context(session).tz).date()
    first = today - timedelta(days=400)
    report = equity_report(session, wh, first, today)

    total = (
        session.query(ServiceRequest)
        .filter(
            ServiceRequest.status.not_in(("merged", "invalid", "answered")),
            ServiceRequest.duplicate_of_id.is_(None),
        )
        .count()
    )
    assert report["requests"] == total
    assert report["caller_groups_recorded"] is True
    dims = report["dimensions"]
    assert sum(r["n"] for r in dims["district"]) == total
    assert sum(r["n"] for r in dims["channel_family"]) == total
    groups = {r["group"]: r for r in dims["caller_group"]}
    assert groups["older"]["n"] == groups["migrant"]["n"] == 80
    older = groups["older"]["satisfied"]
    assert older["k"] == 0 and older["n"] == 80 and older["ci"][0] == 0.0
    assert groups["older"]["tests"]["satisfied"]["flag"] is True
    assert groups["migrant"]["tests"]["satisfied"]["flag"] is False
    assert {"dimension": "caller_group", "group": "older", "outcome": "satisfied"}.items() <= (
        next(f for f in report["flags"] if f["group"] == "older").items()
    )
    for row in dims["district"]:
        s = row["satisfied"]
        if s["n"]:
            assert s["ci"][0] <= s["rate"] <= s["ci"][1]
        h = row["reply_hours"]
        if h["ci"]:
            assert h["ci"][0] <= h["median"] <= h["ci"][1]
    # Recount the phone callers' returns straight from the records.
    phone = next(r for r in dims["channel"] if r["group"] == "phone")
    returned = (
        session.query(ServiceRequest)
        .filter(
            ServiceRequest.status.not_in(("merged", "invalid", "answered")),
            ServiceRequest.duplicate_of_id.is_(None),
            ServiceRequest.channel == "phone",
            ServiceRequest.return_count > 0,
        )
        .count()
    )
    assert phone["returned"]["k"] == returned

    with pytest.raises(BadInput, match="to"):
        equity_report(session, wh, today, today - timedelta(days=1))
    with pytest.raises(BadInput, match="from"):
        equity_report(session, wh, date(2020, 1, 1), today)


def test_caller_groups_are_read_only_from_the_attribute() -> None:
    assert caller_groups(
        [
            (1, {"caller_group": " older "}),
            (2, {"other": "x"}),
            (3, None),
            (4, {"caller_group": 7}),
            (5, {"caller_group": ""}),
        ]
    ) == {1: "older"}


def test_unknown_group_attribute_values_do_not_break_the_view(
    session: Session, tmp_path: Path
) -> None:
    seed_demo(session, 40)
    session.execute(update(ServiceRequest).values(attributes={"caller_group": "外来务工"}))
    session.commit()
    wh = Warehouse(tmp_path / "warehouse")
    wh.refresh(session, now=NOW)
    today = NOW.astimezone(city_context(session).tz).date()
    report = equity_report(session, wh, today - timedelta(days=366), today)
    (only,) = report["dimensions"]["caller_group"]
    assert only["group"] == "外来务工" and only["tests"] == {}
