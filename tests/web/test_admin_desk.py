"""The admin desk: city pack summary, the dispatch catalogue's dry run then save, users,
classifier versions and sensors — and nobody else may use it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.dispatch.models import DispatchCatalogue
from jiesu.dispatch.service import save_catalogue
from jiesu.kit.clock import FixedClock
from jiesu.nlp.tables import ClassifierVersion
from jiesu.people.models import User
from jiesu.workflow.service import apply_action

from factories import World, make_request

PASSWORD = "password-123"  # the factory users' password (tests/web/conftest.py)

PAGE = "/desk/admin/dispatch"
FIRST = {
    "rules": [
        {
            "id": "all-city",
            "name": "城乡建设 → 城管委",
            "match": {"categories": ["01"]},
            "lead": "CB-CGW",
        }
    ]
}
NEW = """settings:
  auto_dispatch: false
rules:
  - id: noise-street
    name: 噪音 → 属地街道
    match: {categories: ["010101"]}
    lead: {role: street_office}
  - id: water
    name: 停水 → 自来水集团
    match: {categories: ["010102"]}
    lead: PS-WATER
"""


def _active(session: Session) -> int | None:
    session.expire_all()
    row = session.scalar(select(DispatchCatalogue).where(DispatchCatalogue.active.is_(True)))
    return row.version if row else None


def _history(session: Session, w: World, clock: FixedClock) -> None:
    """Three noise complaints in 东华门 that went to 交道口 (the new rule sends them home)."""
    at = clock.now() - timedelta(days=5)
    for _ in range(3):
        req = make_request(session, w, at)
        apply_action(
            session,
            req,
            "dispatch",
            actor=w.actor("disp"),
            now=at,
            ctx=w.ctx,
            params={"unit": "ST-110101008"},
        )
    save_catalogue(session, FIRST, by="test", source="test", now=at)
    session.commit()


def test_summary_counts_the_city_pack(browser, web_world: World) -> None:
    page = browser("admin").client.get("/desk/admin").text
    assert re.search(r'id="n-areas">5<', page) and re.search(r'id="n-units">6<', page)
    assert re.search(r'id="n-categories">6<', page)
    city = browser("admin").client.get("/desk/admin/city?q=街道&kind=street_office").text
    assert re.findall(r'data-unit="([^"]+)"', city) == ["ST-110101001", "ST-110101008"]
    assert "110101001 东华门街道" in city


def test_dry_run_shows_results_without_changing_the_active_version(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    _history(session, web_world, clock)
    admin = browser("admin")
    page = admin.client.get(PAGE)
    assert 'data-version="1"' in page.text and "all-city" in page.text
    r = admin.post_form(f"{PAGE}/try", {"catalogue": NEW, "days": "30"}, page=PAGE)
    assert r.status_code == 200
    assert 'id="dry-run"' in r.text and 'id="save"' in r.text
    fired = dict(
        re.findall(
            r'data-rule="([^"]+)"><td><code>[^<]*</code></td><td>[^<]*</td>'
            r'<td class="fired">(\d+)<',
            r.text,
        )
    )
    assert fired == {"noise-street": "3", "water": "0"}
    assert "water" in r.text.split('id="never-fired"')[1].split("</p>")[0]
    assert "交道口街道办事处" in r.text.split('id="moves"')[1]  # from where they went
    assert "noise-street" in r.text and "auto_dispatch: false" in r.text  # the text is kept
    assert _active(session) == 1
    # Saving puts a new version in force.
    r = admin.post_form(f"{PAGE}/save", {"catalogue": NEW, "note": "街道噪音"}, page=PAGE)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?done=saved-2"
    assert _active(session) == 2
    page = admin.client.get(r.headers["location"]).text
    assert 'id="active-version" data-version="2"' in page and "街道噪音" in page
    # Rolling back.
    r = admin.post_form(f"{PAGE}/versions/1/activate", {}, page=PAGE)
    assert r.status_code == 303 and _active(session) == 1


def test_bad_yaml_names_the_problem_and_keeps_the_text(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    _history(session, web_world, clock)
    admin = browser("admin")
    broken = 'rules:\n  - id: x\n    match: {categories: ["01"]\n'
    r = admin.post_form(f"{PAGE}/try", {"catalogue": broken}, page=PAGE)
    assert r.status_code == 422
    err = r.text.split('id="err-catalogue"')[1].split("</div>")[0]
    assert "line" in err and "YAML" in err
    assert "match: {categories: [&#34;01&#34;]" in r.text or 'match: {categories: ["01"]' in r.text
    # A readable file naming a unit the city does not have: the rule and the unit are named.
    unknown = NEW.replace("PS-WATER", "PS-NOWHERE")
    r = admin.post_form(f"{PAGE}/save", {"catalogue": unknown}, page=PAGE)
    assert r.status_code == 422 and "PS-NOWHERE" in r.text.split('id="err-catalogue"')[1]
    assert _active(session) == 1


def test_admin_creates_a_handler_who_can_sign_in_and_switches_them_off(
    browser, web_world: World, session: Session
) -> None:
    admin = browser("admin")
    users = "/desk/admin/users"
    form = {"username": "h3", "role": "handler", "unit": "", "password": PASSWORD}
    r = admin.post_form(users, form, page=users)
    assert r.status_code == 422 and 'id="err-unit"' in r.text
    assert 'value="h3"' in r.text and PASSWORD not in r.text
    r = admin.post_form(users, form | {"unit": "ST-110101008"}, page=users)
    assert r.status_code == 303 and r.headers["location"].endswith("done=created-h3")
    h3 = browser("h3")  # signs in with the password the admin set
    assert h3.client.get("/desk/unit").status_code == 200
    session.expire_all()
    user = session.scalar(select(User).where(User.username == "h3"))
    assert user.role == "handler" and user.unit.code == "ST-110101008"
    r = admin.post_form(f"{users}/h3/active", {"active": "0"}, page=users)
    assert r.status_code == 303
    # The session it had ends, and signing in again is refused.
    assert h3.client.get("/desk/unit", follow_redirects=False).status_code == 303
    again = browser(None).client.post(
        "/login", data={"username": "h3", "password": PASSWORD}, follow_redirects=False
    )
    assert again.status_code != 303
    # A taken name is named.
    r = admin.post_form(users, form | {"username": "h1", "unit": "ST-110101001"}, page=users)
    assert r.status_code == 422 and 'id="err-username"' in r.text


def test_models_are_listed_with_metrics_and_a_missing_one_is_refused(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    session.add(
        ClassifierVersion(
            kind="category",
            version="cat-20261101-abc",
            path="/nonexistent/model",
            n=1200,
            metrics={"accuracy": 0.8123, "per_class": {"x": 1}},
            trained_at=clock.now(),
        )
    )
    session.commit()
    admin = browser("admin")
    page = admin.client.get("/desk/admin/models").text
    row = page.split('data-version="cat-20261101-abc"')[1].split("</tr>")[0]
    assert "accuracy 0.812" in row and "1200" in row and "per_class" not in row
    r = admin.post_form(
        "/desk/admin/models/cat-20261101-abc/activate", {}, page="/desk/admin/models"
    )
    assert r.status_code == 422 and 'id="error-summary"' in r.text
    session.expire_all()
    assert not session.scalar(select(ClassifierVersion)).active


def test_sensors_page_lists_them(browser, web_world: World) -> None:
    page = browser("admin").client.get("/desk/admin/sensors")
    assert page.status_code == 200 and 'id="sensors"' in page.text


def test_admin_desk_is_for_admins_only(browser, web_world: World) -> None:
    for who in ("sup", "analyst", "h1", "op"):
        b = browser(who)
        for path in (
            "/desk/admin",
            PAGE,
            "/desk/admin/users",
            "/desk/admin/models",
            "/desk/admin/city",
            "/desk/admin/sensors",
        ):
            assert b.client.get(path).status_code == 403, (who, path)
    sup = browser("sup")
    r = sup.post_form(f"{PAGE}/save", {"catalogue": NEW})
    assert r.status_code == 403
    r = sup.post_form("/desk/admin/users", {"username": "x", "role": "admin", "password": PASSWORD})
    assert r.status_code == 403
