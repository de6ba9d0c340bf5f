"""The rates desk: the three rates as rates_report computes them, a handler limited to their
own unit, and the export files."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.rates.compute import rates_report
from jiesu.rates.definitions import load_definitions
from jiesu.rates.query import build_query
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request

# A Monday in October, the last full month before the tests' clock (2026-11-02).
T0 = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
H1_UNIT, H2_UNIT = "ST-110101001", "ST-110101008"


def _act(
    s: Session, w: World, req: ServiceRequest, action: str, who: str, at: Any, **p: Any
) -> None:
    apply_action(s, req, action, actor=w.actor(who), now=at, ctx=w.ctx, params=p)


def _handled(
    s: Session, w: World, unit: str, resolution: str, satisfaction: str, day: int
) -> ServiceRequest:
    at = T0 + timedelta(days=day)
    area = "110101001" if unit == H1_UNIT else "110101008"
    handler = "h1" if unit == H1_UNIT else "h2"
    req = make_request(s, w, at, area=area)
    _act(s, w, req, "dispatch", "disp", at, unit=unit)
    _act(s, w, req, "accept", handler, at + timedelta(hours=1))
    _act(s, w, req, "reply", handler, at + timedelta(days=1), text="已协调施工方停止夜间施工")
    _act(
        s,
        w,
        req,
        "call_back",
        "op",
        at + timedelta(days=1, hours=2),
        resolution=resolution,
        satisfaction=satisfaction,
    )
    _act(s, w, req, "close", "op", at + timedelta(days=1, hours=3))
    return req


def _prepare(session: Session, w: World) -> None:
    _handled(session, w, H1_UNIT, "solved", "satisfied", 0)
    _handled(session, w, H1_UNIT, "unsolved", "unsatisfied", 1)
    _handled(session, w, H1_UNIT, "solved", "basically", 2)
    _handled(session, w, H2_UNIT, "partly", "satisfied", 0)
    session.commit()


def _cells(page: str, code: str) -> dict[str, str]:
    row = page.split('id="rates-table"')[1].split(f'data-code="{code}"')[1].split("</tr>")[0]
    return dict(re.findall(r'class="(response|resolution|satisfaction|score)">([^<]*)<', row))


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def test_rates_page_shows_the_three_rates_of_rates_report(
    browser, web_world: World, session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    _prepare(session, web_world)
    page = browser("sup").client.get("/desk/rates")
    assert page.status_code == 200 and "2026-10" in page.text
    defs = load_definitions(None, data_dir=tmp_path)
    report = rates_report(session, build_query(session, as_of=clock.now(), by="unit", defs=defs))
    row = next(r for r in report.rows if r.code == H1_UNIT)
    assert row.counts["assessed"] == 3 and row.rates.resolution is not None
    cells = _cells(page.text, H1_UNIT)
    assert cells == {
        "response": _pct(row.rates.response),
        "resolution": _pct(row.rates.resolution),
        "satisfaction": _pct(row.rates.satisfaction),
        "score": "—" if row.rates.score is None else f"{row.rates.score:.2f}",
    }
    assert cells["response"] == "100.0%"
    # Each row opens the requests behind it.
    assert f'href="/desk/requests?unit={H1_UNIT}"' in page.text
    assert 'id="ranking-table"' in page.text and f'data-code="{H2_UNIT}"' in page.text


def test_rates_grouped_by_area_drill_to_the_area(
    browser, web_world: World, session: Session
) -> None:
    _prepare(session, web_world)
    page = browser("analyst").client.get("/desk/rates?period=2026-Q4&by=area").text
    assert 'href="/desk/requests?area=110101001"' in page
    assert "2026-Q4" in page


def test_handler_sees_only_their_own_unit(browser, web_world: World, session: Session) -> None:
    _prepare(session, web_world)
    h1 = browser("h1")
    page = h1.client.get("/desk/rates")
    assert page.status_code == 200
    table = page.text.split('id="rates-table"')[1].split("</table>")[0]
    assert f'data-code="{H1_UNIT}"' in table and f'data-code="{H2_UNIT}"' not in table
    ranking = page.text.split('id="ranking-table"')[1].split("</table>")[0]
    assert f'data-code="{H2_UNIT}"' not in ranking
    assert h1.client.get(f"/desk/rates?unit={H2_UNIT}").status_code == 403
    assert h1.client.get("/desk/rates?kind=city_bureau").status_code == 403
    assert h1.client.get(f"/desk/rates/export.csv?unit={H2_UNIT}").status_code == 403


def test_bad_period_is_shown_next_to_the_field_and_kept(browser, web_world: World) -> None:
    page = browser("sup").client.get("/desk/rates?period=2026-13")
    assert page.status_code == 422
    assert 'id="err-period"' in page.text and 'value="2026-13"' in page.text


def test_export_returns_csv_and_xlsx(browser, web_world: World, session: Session) -> None:
    _prepare(session, web_world)
    sup = browser("sup")
    r = sup.client.get("/desk/rates/export.csv?period=2026-10")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="rates-2026-10.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["code"] for row in rows} >= {H1_UNIT, H2_UNIT}
    assert next(row for row in rows if row["code"] == H1_UNIT)["assessed"] == "3"
    x = sup.client.get("/desk/rates/export.xlsx?what=ranking")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert sup.client.get("/desk/rates/export.pdf").status_code == 422


def test_rates_are_not_for_operators(browser) -> None:
    assert browser("op").client.get("/desk/rates").status_code == 403
    assert browser("disp").client.get("/desk/rates/export.csv").status_code == 403
