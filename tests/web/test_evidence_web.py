"""Evidence on the web: a photo sent with the public form reaches the unit's reply page
stripped, the tracking link shows it (and nothing else), the unit's reply carries its own
photo, refused files come back beside their field with what was typed kept."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.evidence.models import EvidenceFile
from jiesu.workflow.models import Event, ServiceRequest

import evidencekit as kit

TEXT = "东华门街道南池子大街路面塌陷，有一个大坑，很危险"


def _submit(anon: Any, files: list[tuple[str, bytes]]) -> Any:
    return anon.client.post(
        "/",
        data={"text": TEXT, "area": "110101001", "category": "010101", "form_id": "ev-1"},
        files=[("files", (name, data, "image/jpeg")) for name, data in files],
        follow_redirects=False,
    )


def test_a_citizens_photo_reaches_the_unit_without_its_gps(browser, session: Session) -> None:
    anon = browser(None)
    r = _submit(anon, [("IMG_0001.jpg", kit.photo_with_gps())])
    assert r.status_code == 303, r.text
    track = r.headers["location"].split("?")[0]
    ticket = track.split("/")[2]
    page = anon.client.get(track).text
    urls = re.findall(r'<img src="([^"]+/thumbnail)"', page)
    assert len(urls) == 1 and urls[0].startswith(track + "/files/")
    full = anon.client.get(urls[0].removesuffix("/thumbnail"))
    assert full.status_code == 200 and kit.metadata_left(full.content) == []
    # The link's secret is the key: a wrong code, or the file through another ticket, is 404.
    fid = urls[0].split("/")[-2]
    assert anon.client.get(f"/t/{ticket}/{'0' * 20}/files/{fid}").status_code == 404

    disp = browser("disp")
    r = disp.post_form(f"/desk/requests/{ticket}/act/dispatch", {"unit": "ST-110101001"})
    assert r.status_code == 303, getattr(r, "text", "")
    h1 = browser("h1")
    reply_page = h1.client.get(f"/desk/unit/reply/{ticket}").text
    assert f"/desk/files/{fid}/thumbnail" in reply_page
    served = h1.client.get(f"/desk/files/{fid}")
    assert served.status_code == 200 and not kit.has_gps(served.content)
    assert kit.metadata_left(served.content) == []
    h2 = browser("h2")
    assert h2.client.get(f"/desk/files/{fid}").status_code == 403
    assert anon.client.get(f"/desk/files/{fid}", follow_redirects=False).status_code == 303


def test_the_units_reply_carries_its_photo_and_the_citizen_sees_it(
    browser, session: Session
) -> None:
    anon = browser(None)
    track = _submit(anon, []).headers["location"].split("?")[0]
    ticket = track.split("/")[2]
    browser("disp").post_form(f"/desk/requests/{ticket}/act/dispatch", {"unit": "ST-110101001"})
    h1 = browser("h1")
    h1.post_form(f"/desk/requests/{ticket}/act/accept", {})
    csrf = h1.csrf(f"/desk/unit/reply/{ticket}")
    r = h1.client.post(
        f"/desk/requests/{ticket}/act/reply",
        data={"text": "已回填路面并压实，恢复通行", "csrf": csrf, "next": "/desk/unit"},
        files=[("files", ("fixed.png", kit.png((64, 64)), "image/png"))],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    session.expire_all()
    req = session.scalars(select(ServiceRequest).where(ServiceRequest.ticket == ticket)).one()
    f = session.scalars(select(EvidenceFile).where(EvidenceFile.request_id == req.id)).one()
    reply = session.scalars(
        select(Event).where(Event.request_id == req.id, Event.kind == "reply")
    ).one()
    assert f.stage == "reply" and reply.payload["files"] == [f.public_id]
    assert f.action_seq == reply.seq
    assert f"/files/{f.public_id}/thumbnail" in anon.client.get(track).text


def test_a_disguised_file_is_refused_beside_its_field_and_nothing_is_kept(
    browser, session: Session
) -> None:
    anon = browser(None)
    r = _submit(anon, [("holiday.jpg", kit.SCRIPT_AS_JPG)])
    assert r.status_code == 422
    assert "holiday.jpg: is a script, whatever its name says" in r.text
    assert TEXT in r.text  # what was typed is kept
    assert session.scalar(select(ServiceRequest.id)) is None  # nothing half-accepted


def test_staff_add_files_on_the_request_page(browser, session: Session) -> None:
    anon = browser(None)
    ticket = _submit(anon, []).headers["location"].split("/")[2]
    op = browser("op")
    csrf = op.csrf(f"/desk/requests/{ticket}")
    r = op.client.post(
        f"/desk/requests/{ticket}/files",
        data={"csrf": csrf, "stage": "request"},
        files=[("files", ("scan.pdf", kit.PDF, "application/pdf"))],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = op.client.get(f"/desk/requests/{ticket}").text
    assert "scan.pdf" in page
    bad = op.client.post(
        f"/desk/requests/{ticket}/files",
        data={"csrf": csrf, "stage": "request"},
        files=[("files", ("x.jpg", kit.truncated_jpeg(), "image/jpeg"))],
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "x.jpg: is a damaged or truncated image" in bad.text
    analyst = browser("analyst")
    fid = re.search(r'data-file="([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    assert analyst.client.get(f"/desk/files/{fid}").status_code == 403  # a document


def test_the_outbox_page_shows_messages_masked(browser, session: Session) -> None:
    anon = browser(None)
    r = anon.client.post(
        "/",
        data={"text": TEXT, "form_id": "ev-2", "contact_phone": "13800138000",
              "contact_wants_reply": "on"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    admin = browser("admin")
    page = admin.client.get("/desk/admin/outbox").text
    assert 'data-kind="accepted"' in page and "138****8000" in page
    assert "13800138000" not in page
    assert browser("sup").client.get("/desk/admin/outbox").status_code == 403
