"""Editing sensors on the admin desk: checked without a change, loaded, refused with every
problem and the text kept, and the page then shows the registry as it is."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area
from jiesu.intake.models import Sensor
from jiesu.kit.clock import FixedClock

from factories import World

GOOD = """rules:
  - {kind: gas, name: 燃气泄漏报警, category: "010103", threshold: 20, above: true}
sensors:
  - {code: GAS-1, kind: gas, area: "11010100101", lat: 39.92, lon: 116.40, description: 后厨}
"""


def _post(admin, text: str, mode: str):  # type: ignore[no-untyped-def]
    return admin.post_form(
        "/desk/admin/sensors/edit", {"text": text, "mode": mode}, page="/desk/admin/sensors/edit"
    )


def test_check_load_refuse_and_show(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    street = session.scalars(select(Area).where(Area.code == "110101001")).one()
    session.add(
        Area(
            code="11010100101",
            parent_id=street.id,
            level="community",
            name="金宝街社区",
            aliases=[],
            path=street.path + "11010100101/",
            updated_at=clock.now(),
        )
    )
    session.commit()
    admin = browser("admin")
    page = admin.client.get("/desk/admin/sensors/edit")
    assert page.status_code == 200 and "rules: []" in page.text
    checked = _post(admin, GOOD, "check")
    assert checked.status_code == 200 and 'id="sensors-checked"' in checked.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Sensor)) == 0
    loaded = _post(admin, GOOD, "load")
    assert loaded.status_code == 200 and 'id="sensors-loaded"' in loaded.text
    session.expire_all()
    assert session.scalars(select(Sensor.code)).all() == ["GAS-1"]
    bad = GOOD.replace('"010103"', '"999999"').replace("GAS-1", "GAS-2")
    refused = _post(admin, bad, "load")
    assert refused.status_code == 422 and 'id="sensor-problems"' in refused.text
    assert "999999" in refused.text and "GAS-2" in refused.text  # the text is kept
    session.expire_all()
    assert session.scalars(select(Sensor.code)).all() == ["GAS-1"]
    broken = _post(admin, "rules: [", "check")
    assert broken.status_code == 422 and "not valid YAML" in broken.text
    shown = admin.client.get("/desk/admin/sensors/edit").text
    assert "code: GAS-1" in shown and "area: &#39;11010100101&#39;" in shown
    assert browser("sup").client.get("/desk/admin/sensors/edit").status_code == 403
