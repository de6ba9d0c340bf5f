"""Uploading a city pack on the admin desk: checked whole first with every problem listed and
nothing loaded, then loaded; unsafe or wrong files refused; admins only."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area

from factories import World

DEMO = Path(__file__).resolve().parents[2] / "src" / "jiesu" / "city" / "packs" / "demo"


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _demo_files(prefix: str = "demo/") -> dict[str, bytes]:
    return {
        prefix + str(p.relative_to(DEMO)): p.read_bytes() for p in DEMO.rglob("*") if p.is_file()
    }


def _upload(admin, data: bytes, mode: str):  # type: ignore[no-untyped-def]
    csrf = admin.csrf("/desk/admin/city")
    return admin.client.post(
        "/desk/admin/city/pack",
        data={"csrf": csrf, "mode": mode},
        files={"file": ("pack.zip", data, "application/zip")},
    )


def test_check_then_load_the_demo_pack(browser, web_world: World, session: Session) -> None:
    admin = browser("admin")
    before = session.scalar(select(func.count()).select_from(Area))
    checked = _upload(admin, _zip(_demo_files()), "check")
    assert checked.status_code == 200 and 'id="pack-checked"' in checked.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Area)) == before
    loaded = _upload(admin, _zip(_demo_files("")), "load")
    assert loaded.status_code == 200 and 'id="pack-loaded"' in loaded.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Area)) > before


def test_problems_are_listed_and_nothing_is_loaded(
    browser, web_world: World, session: Session
) -> None:
    admin = browser("admin")
    files = _demo_files()
    files["demo/areas.csv"] += "999999,NOPE,street,无主街道,,39.9,116.4\n".encode()
    before = session.scalar(select(func.count()).select_from(Area))
    r = _upload(admin, _zip(files), "load")
    assert r.status_code == 422 and 'id="pack-problems"' in r.text and "NOPE" in r.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Area)) == before
    for bad, why in (
        (b"not a zip", "is not a .zip file"),
        (_zip({"../evil/city.yaml": b"x"}), "unsafe path"),
        (_zip({"readme.txt": b"x"}), "has no city.yaml"),
    ):
        r = _upload(admin, bad, "check")
        assert r.status_code == 422 and why in r.text
    assert browser("sup").client.post("/desk/admin/city/pack").status_code == 403
