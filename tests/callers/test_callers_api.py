"""The caller routes: the profile in full for operators and masked for analysts, flags with a
reason and consent, each view of a profile recorded as a read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.privacy.models import PersonalDataRead

from apiclient import Api
from factories import make_request

PHONE = "13800138000"


def test_profile_flags_and_masking(session: Session, api: Api, clock: FixedClock) -> None:
    world, now = api.world, clock.now()
    first = make_request(session, world, now, contact={"phone": PHONE})
    again = make_request(
        session, world, now, contact={"phone": PHONE}, text="夜里施工还在继续，太吵了"
    )
    session.commit()
    url = f"/api/v1/requests/{again.ticket}"
    bad = api.post(
        f"{url}/caller-flags", "op", json={"kind": "disabled", "reason": "", "consent": True}
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "reason"
    bad = api.post(
        f"{url}/caller-flags", "op", json={"kind": "disabled", "reason": "x", "consent": False}
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "consent"
    bad = api.post(
        f"{url}/caller-flags", "op", json={"kind": "rich", "reason": "x", "consent": True}
    )
    assert bad.status_code == 422
    body = {"kind": "disabled", "reason": "视力残疾，需电话回访", "consent": True}
    r = api.post(f"{url}/caller-flags", "op", json=body)
    assert r.status_code == 201, r.text
    flag_id = r.json()["id"]

    full = api.get(f"{url}/caller", "op").json()
    assert full["masked"] is False and full["repeat_of"] == [first.ticket]
    assert [h["ticket"] for h in full["history"]] == [first.ticket]
    assert full["flags"][0]["reason"] == "视力残疾，需电话回访"
    reads = session.scalars(select(PersonalDataRead.purpose)).all()
    assert "api.caller" in reads
    masked = api.get(f"{url}/caller", "analyst").json()
    assert masked["masked"] is True and masked["history"] == [] and masked["repeat_of"] == []
    assert masked["earlier"] == 1 and masked["flags"][0] == {
        "kind": "disabled",
        "kind_name": ["残疾人", "disabled person"],
    }
    assert "视力" not in str(masked)
    assert api.get(f"{url}/caller", "h1").status_code == 403

    gone = api.post(f"{url}/caller-flags/{flag_id}/remove", "op", json={"reason": "误标"})
    assert gone.status_code == 200 and gone.json()["removed_by"] == "op"
    again_r = api.post(f"{url}/caller-flags/{flag_id}/remove", "op", json={"reason": "x"})
    assert again_r.status_code == 409
    other = api.post(f"/api/v1/requests/{first.ticket}/caller-flags/{flag_id}/remove", "op",
                     json={"reason": "x"})  # fmt: skip
    assert other.status_code == 404  # a flag is removed through the request it was raised on
