"""A supervisor's analysis in the browser: an early warning becomes a proactive work order,
the heat map's slider walks the weeks, and a monthly analysis is produced and opens with its
charts drawn."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from e2e_helpers import sign_in
from jiesu.analytics.warehouse import Warehouse
from jiesu.analytics.warnings import scan
from jiesu.kit.clock import FixedClock

from factories import World, make_request

PASSWORD = "password-123"


def _plant(session: Session, world: World, clock: FixedClock) -> None:
    """Eight quiet weeks of noise complaints at 东华门, then a week of three a day."""
    now = clock.now()
    d = date(2026, 8, 31)
    while d < date(2026, 11, 2):
        n = 3 if d >= date(2026, 10, 26) else (1 if d.weekday() < 5 else 0)
        for i in range(n):
            at = datetime(d.year, d.month, d.day, 1 + i, tzinfo=UTC)
            make_request(session, world, at, category="010101", area="110101001")
        d += timedelta(days=1)
    session.commit()
    clock.set(now)


def test_warning_heat_map_and_report(
    chromium: Any,
    server: str,
    shots: Any,
    e2e_world: World,
    session: Session,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    _plant(session, e2e_world, clock)
    wh = Warehouse(tmp_path / "warehouse")
    wh.refresh(session, now=clock.now())
    with wh.connect() as con:
        assert scan(session, con, now=clock.now()).created >= 1
    session.commit()
    ctx = chromium.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    page = ctx.new_page()
    sign_in(page, "sup", PASSWORD)

    page.goto("/desk/warnings")
    card = page.locator("article.warning[data-kind=surge_week]").first
    assert "近7天 21 件" in card.inner_text()
    shots.take(page, "desk-warnings")
    card.locator("button", has_text="主动立案").click()
    page.wait_for_url(lambda url: "done=accepted-" in url)
    page.locator("#done a").click()
    page.wait_for_url(lambda url: "/desk/requests/" in url)
    assert "未诉先办" in page.inner_text("main")

    page.goto("/desk/heat?from=2026-08-31&to=2026-11-01&bucket=week")
    page.wait_for_selector("#heat-chart canvas")
    assert page.inner_text("#heat-when") == "全部"
    page.focus("#heat-slider")
    page.keyboard.press("End")
    assert page.inner_text("#heat-when") == "2026-10-26"
    shots.take(page, "desk-heat")

    page.goto("/desk/reports")
    page.select_option("#rp-kind", "monthly")
    page.fill("#rp-month", "2026-10")
    page.click("#make-report button[type=submit]")
    page.wait_for_url(lambda url: url.endswith("/desk/reports/monthly/2026-10/"))
    page.wait_for_selector("#chart-trend svg")
    assert "月分析" in page.title()
    shots.take(page, "report-monthly")
    ctx.close()
