"""The dispatcher's two side lists: returned requests with their reason, and categories to
confirm with intake's suggestions, each confirmed in one press."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

from factories import World, make_request


def test_returned_list_shows_the_units_reason(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = make_request(session, web_world, clock.now())
    kept = make_request(session, web_world, clock.now())
    w, now = web_world, clock.now()
    apply_action(
        session,
        req,
        "dispatch",
        actor=w.actor("disp"),
        now=now,
        ctx=w.ctx,
        params={"unit": "ST-110101001"},
    )
    apply_action(
        session,
        req,
        "return",
        actor=w.actor("h1"),
        now=now,
        ctx=w.ctx,
        params={"reason": "该路段属于相邻街道，请改派"},
    )
    session.commit()
    disp = browser("disp")
    page = disp.client.get("/desk/dispatch/returned")
    assert page.status_code == 200
    card = page.text.split(f'data-ticket="{req.ticket}"')[1].split("</article>")[0]
    assert "该路段属于相邻街道，请改派" in card
    assert f'data-ticket="{kept.ticket}"' not in page.text  # only returned ones
    assert browser("sup").client.get("/desk/dispatch/returned").status_code == 200


def test_categories_to_confirm_with_suggestions_confirmed_in_one_press(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    req = make_request(session, web_world, clock.now(), category=None, text="小区楼下噪音扰民")
    chosen = make_request(session, web_world, clock.now())  # the operator chose: confirmed
    session.commit()
    assert not req.category_confirmed and chosen.category_confirmed
    disp = browser("disp")
    page = disp.client.get("/desk/dispatch/categories").text
    assert f'data-ticket="{req.ticket}"' in page
    assert f'data-ticket="{chosen.ticket}"' not in page
    card = page.split(f'data-ticket="{req.ticket}"')[1].split("</article>")[0]
    codes = re.findall(r'name="category" value="([^"]+)"', card)
    assert codes, "intake's suggestions are offered"
    r = disp.post_form(
        f"/desk/requests/{req.ticket}/act/categorize",
        {"category": codes[0], "next": "/desk/dispatch/categories"},
        page="/desk/dispatch/categories",
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/desk/dispatch/categories?done=")
    session.expire_all()
    got = session.get(ServiceRequest, req.id)
    assert got.category_confirmed and got.category.code == codes[0]
    assert f'data-ticket="{req.ticket}"' not in disp.client.get("/desk/dispatch/categories").text


def test_side_lists_are_for_dispatch_roles_only(browser) -> None:
    for who in ("h1", "analyst"):
        b = browser(who)
        assert b.client.get("/desk/dispatch/returned").status_code == 403
        assert b.client.get("/desk/dispatch/categories").status_code == 403
    anon = browser(None).client.get("/desk/dispatch/categories", follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/login")
