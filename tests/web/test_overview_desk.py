"""The overview: live counts against a hand count, the links behind them, the street heat
map's numbers and the rising categories."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.overview import OPEN, hot_issues, live_counts, street_heat
from jiesu.workflow.service import apply_action

from factories import World, make_request

DAY = timedelta(days=1)


def _act(
    s: Session, w: World, req: ServiceRequest, action: str, who: str, at: Any, **p: Any
) -> None:
    apply_action(s, req, action, actor=w.actor(who), now=at, ctx=w.ctx, params=p)


def _prepare(session: Session, w: World, clock: FixedClock) -> dict[str, ServiceRequest]:
    """Hand-made states (clock: Monday 2026-11-02 09:30 Beijing):

    today     received (东华门), merged-into-it duplicate (东华门)
    3 days    dispatched + handling overdue (交道口), returned (东华门), replied (交道口)
    10 days   answered directly (东华门, 停水)
    40 days   answered directly (交道口): neither open nor recent
    """
    now = clock.now()
    r: dict[str, ServiceRequest] = {}
    r["new"] = make_request(session, w, now)
    r["dup"] = make_request(session, w, now)
    _act(session, w, r["dup"], "merge", "disp", now, into=r["new"].ticket)
    ago = now - 3 * DAY
    r["late"] = make_request(session, w, ago, area="110101008")
    _act(session, w, r["late"], "dispatch", "disp", ago, unit="ST-110101008")
    r["late"].handling_overdue = True
    r["back"] = make_request(session, w, ago)
    _act(session, w, r["back"], "dispatch", "disp", ago, unit="ST-110101001")
    _act(session, w, r["back"], "return", "h1", ago, reason="不属于本街道管辖，应转交他处")
    r["replied"] = make_request(session, w, ago, area="110101008")
    _act(session, w, r["replied"], "dispatch", "disp", ago, unit="ST-110101008")
    _act(session, w, r["replied"], "accept", "h2", ago)
    _act(session, w, r["replied"], "reply", "h2", ago + DAY, text="已协调施工方停止夜间施工")
    r["water"] = make_request(session, w, now - 10 * DAY, category="010102", text="小区停水两天")
    _act(session, w, r["water"], "answer", "op", now - 10 * DAY, text="已告知停水原因和恢复时间")
    r["old"] = make_request(session, w, now - 40 * DAY, area="110101008")
    _act(session, w, r["old"], "answer", "op", now - 40 * DAY, text="已解答")
    session.commit()
    return r


def test_live_counts_equal_a_hand_count(
    web_world: World, session: Session, clock: FixedClock
) -> None:
    _prepare(session, web_world, clock)
    c = live_counts(session, now=clock.now(), tz=web_world.ctx.tz)
    # open: new, late, back, replied; today: new + dup; merged today: dup.
    assert (c.open, c.received_today, c.handling_overdue, c.response_late) == (4, 2, 1, 0)
    assert (c.returned, c.awaiting_callback, c.merged_today) == (1, 1, 1)


def test_overview_page_numbers_link_to_their_requests(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    r = _prepare(session, web_world, clock)
    page = browser("sup").client.get("/desk/overview")
    assert page.status_code == 200
    figs = {
        k: (html.unescape(href), int(n))
        for href, k, n in re.findall(
            r'<a href="([^"]+)" data-figure="(\w+)"><span class="n">(\d+)</span>', page.text
        )
    }
    assert figs["open"] == ("/desk/requests?status=" + "%2C".join(OPEN), 4)
    assert figs["returned"] == ("/desk/requests?status=returned", 1)
    assert figs["awaiting_callback"] == ("/desk/requests?status=replied", 1)
    assert figs["merged_today"][1] == 1 and figs["received_today"][1] == 2
    assert "overdue=handling" in figs["handling_overdue"][0] and figs["handling_overdue"][1] == 1
    assert "overdue=response" in figs["response_late"][0] and figs["response_late"][1] == 0
    # The links open lists the request list really filters that way.
    sup = browser("sup")
    listed = sup.client.get(figs["returned"][0]).text
    assert f'data-ticket="{r["back"].ticket}"' in listed
    assert f'data-ticket="{r["new"].ticket}"' not in listed
    late = sup.client.get(figs["handling_overdue"][0]).text
    assert f'data-ticket="{r["late"].ticket}"' in late
    assert f'data-ticket="{r["back"].ticket}"' not in late
    # Each kind of lateness has its own list: nothing is late to accept here.
    assert "data-ticket=" not in sup.client.get(figs["response_late"][0]).text
    opened = sup.client.get(figs["open"][0]).text
    assert opened.count("data-ticket=") == 4


def test_heat_map_counts_per_street(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    _prepare(session, web_world, clock)
    heat = {h.code: h.count for h in street_heat(session, now=clock.now())}
    # 东华门: new, back, water (10 days, answered); not the merged duplicate.
    # 交道口: late, replied; not the 40-day-old answered one.
    assert heat == {"110101001": 3, "110101008": 2}
    page = browser("analyst").client.get("/desk/overview").text
    points = json.loads(re.search(r'id="heat-points">(.*?)</script>', page, re.S).group(1))
    assert {p["code"]: p["value"][2] for p in points} == heat
    assert {p["code"]: p["value"][:2] for p in points}["110101001"] == [116.40, 39.92]
    rows = dict(
        re.findall(
            r'<tr data-area="(\d+)"><td[^>]*><a href="/desk/requests\?area=\1">.*?'
            r'class="count">(\d+)</td>',
            page,
        )
    )
    assert {k: int(v) for k, v in rows.items()} == heat


def test_hot_issues_compare_this_week_with_the_last(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    for days, category, n in (
        (1, "010101", 3),
        (2, "010102", 1),
        (9, "010102", 2),
        (9, "010101", 1),
    ):
        for _ in range(n):
            make_request(session, web_world, now - days * DAY, category=category)
    make_request(session, web_world, now - 20 * DAY, category="010103")  # outside both weeks
    session.commit()
    hot = hot_issues(session, now=now)
    leaves = {i.code: (i.current, i.previous, i.change) for i in hot.leaves}
    assert leaves == {"010101": (3, 1, 2), "010102": (1, 2, -1)}
    assert [(i.code, i.current, i.previous, i.change) for i in hot.first_level] == [("01", 4, 3, 1)]
    assert hot.leaves[0].code == "010101" and hot.leaves[1].change_share == -0.5
    page = browser("admin").client.get("/desk/overview").text
    block = page.split('id="hot-leaves"')[1]
    row = block.split('data-code="010101"')[1].split("</tr>")[0]
    assert "/desk/requests?category=010101" in row and "+2" in row


def test_overview_is_for_supervisors_analysts_and_admins(browser) -> None:
    for who in ("op", "disp", "h1"):
        assert browser(who).client.get("/desk/overview").status_code == 403
    assert browser(None).client.get("/desk/overview", follow_redirects=False).status_code == 303
