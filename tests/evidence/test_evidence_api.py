"""Evidence through the API: multipart upload, reply with files, fetching by role, refusals,
and the files in `jiesu backup`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock
from jiesu.people.service import issue_token

import evidencekit as kit
from apiclient import Api
from factories import make_world


def _dispatched(api: Api) -> str:
    r = api.post("/api/v1/requests", json={"text": "路面塌陷一个大坑", "area": "110101001",
                                            "category": "010101"})  # fmt: skip
    ticket = r.json()["ticket"]
    r = api.post(f"/api/v1/requests/{ticket}/dispatch", "disp", json={"unit": "ST-110101001"})
    assert r.status_code == 200, r.text
    return str(ticket)


def _upload(
    api: Api, ticket: str, who: str, data: bytes, name: str = "IMG_1.jpg", stage: str = "request"
) -> object:
    return api.post(
        f"/api/v1/requests/{ticket}/files", who,
        files={"file": (name, data, "image/jpeg")}, data={"stage": stage},
    )  # fmt: skip


def test_a_photo_is_uploaded_stripped_and_served_to_the_right_roles(api: Api) -> None:
    ticket = _dispatched(api)
    r = _upload(api, ticket, "op", kit.photo_with_gps())
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    f = r.json()  # type: ignore[attr-defined]
    assert f["media_type"] == "image/jpeg" and "gps" in f["removed"]
    for who in ("h1", "op", "disp", "sup", "analyst", "admin"):
        got = api.get(f["url"], who)
        assert got.status_code == 200, (who, got.text)
        assert kit.metadata_left(got.content) == [], who
        assert got.headers["content-type"] == "image/jpeg"
    thumb = api.get(f["thumbnail_url"], "h1")
    assert Image.open(io.BytesIO(thumb.content)).size == (320, 240)
    assert api.get(f["url"], "h2").status_code == 403  # another unit
    assert api.get(f["url"], "citizen").status_code == 404  # not their request
    assert api.client.get(f["url"]).status_code == 401
    listed = api.get(f"/api/v1/requests/{ticket}/files", "h1").json()
    assert [x["id"] for x in listed] == [f["id"]]
    timeline = api.get(f"/api/v1/requests/{ticket}", "sup").json()["timeline"]
    assert any(e["kind"] == "evidence" for e in timeline)


def test_disguised_broken_and_oversized_files_are_refused_naming_the_field(api: Api) -> None:
    ticket = _dispatched(api)
    for data, problem in (
        (kit.SCRIPT_AS_JPG, "is a script, whatever its name says"),
        (kit.truncated_jpeg(), "damaged or truncated"),
        (kit.bomb_png(), "decompression bomb"),
    ):
        r = _upload(api, ticket, "op", data, name="photo.jpg")
        assert r.status_code == 422, r.text  # type: ignore[attr-defined]
        fields = r.json()["error"]["fields"]  # type: ignore[attr-defined]
        assert fields[0]["field"] == "file" and problem in fields[0]["problem"], fields
    big = b"\xff\xd8\xff" + b"\0" * (10 * 2**20 + 1)
    r = _upload(api, ticket, "op", big)
    assert r.status_code == 422 and "larger than" in r.text  # type: ignore[attr-defined]
    assert api.get(f"/api/v1/requests/{ticket}/files", "sup").json() == []


def test_a_reply_carries_the_units_photo_into_its_event(api: Api) -> None:
    ticket = _dispatched(api)
    assert api.post(f"/api/v1/requests/{ticket}/accept", "h1").status_code == 200
    r = _upload(api, ticket, "h1", kit.png(alpha=True), name="fixed.png", stage="reply")
    fid = r.json()["id"]  # type: ignore[attr-defined]
    assert r.json()["media_type"] == "image/png"  # type: ignore[attr-defined]
    bad = api.post(f"/api/v1/requests/{ticket}/reply", "h1",
                   json={"text": "已修复路面，恢复通行", "files": ["nosuchfile"]})  # fmt: skip
    assert bad.status_code == 422 and "no file nosuchfile" in bad.text
    ok = api.post(f"/api/v1/requests/{ticket}/reply", "h1",
                  json={"text": "已修复路面，恢复通行", "files": [fid]})  # fmt: skip
    assert ok.status_code == 200, ok.text
    reply = next(e for e in ok.json()["timeline"] if e["kind"] == "reply")
    assert reply["payload"]["files"] == [fid]
    again = api.post(f"/api/v1/requests/{ticket}/call-back", "op",
                     json={"satisfaction": "satisfied", "resolution": "solved",
                           "files": [fid]})  # fmt: skip
    assert again.status_code == 422 and "reply file, not call_back" in again.text
    assert _upload(api, ticket, "op", kit.png(), stage="reply").status_code == 403


def test_evidence_files_are_in_the_backup(api: Api, tmp_path: Path) -> None:
    ticket = _dispatched(api)
    f = _upload(api, ticket, "op", kit.photo_with_gps()).json()  # type: ignore[attr-defined]
    stored = list((tmp_path / "evidence").rglob("*.jpg"))
    assert len(stored) == 2  # the photo and its thumbnail
    from jiesu.ops.backup import _data_files

    names = {
        p.relative_to(tmp_path).as_posix() for p in _data_files(tmp_path, besides=tmp_path / "x")
    }
    assert {p.relative_to(tmp_path).as_posix() for p in stored} <= names
    assert f["id"] in " ".join(names)


def test_the_api_with_the_s3_store(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    """The whole upload and fetch through settings and boto3 against moto's S3 server over
    HTTP (an emulator: not AWS, MinIO or Ceph)."""
    boto3 = pytest.importorskip("boto3")
    server = pytest.importorskip("moto.server").ThreadedMotoServer(
        ip_address="127.0.0.1", port=0, verbose=False
    )
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = {"evidence_s3_endpoint": f"http://{host}:{port}", "evidence_s3_region": "us-east-1",
              "evidence_s3_access_key": "k", "evidence_s3_secret_key": "s"}  # fmt: skip
        boto3.client(
            "s3", endpoint_url=s3["evidence_s3_endpoint"], region_name="us-east-1",
            aws_access_key_id="k", aws_secret_access_key="s",
        ).create_bucket(Bucket="city-evidence")  # fmt: skip
        world = make_world(session, clock.now())
        tokens = {n: issue_token(session, u, now=clock.now()) for n, u in world.users.items()}
        session.commit()
        settings = Settings(
            database_url=db_url, data_dir=tmp_path, evidence_store="s3",
            evidence_s3_bucket="city-evidence", evidence_s3_prefix="jiesu", **s3,  # type: ignore[arg-type]
        )  # fmt: skip
        with TestClient(create_app(settings, clock=clock, schedule=False)) as client:
            api = Api(client, tokens, world)
            ticket = _dispatched(api)
            f = _upload(api, ticket, "op", kit.photo_with_gps()).json()  # type: ignore[attr-defined]
            got = api.get(f["url"], "h1")
            assert got.status_code == 200 and kit.metadata_left(got.content) == []
        assert not (tmp_path / "evidence").exists()  # nothing on the local disk
        listed = boto3.client(
            "s3", endpoint_url=s3["evidence_s3_endpoint"], region_name="us-east-1",
            aws_access_key_id="k", aws_secret_access_key="s",
        ).list_objects_v2(Bucket="city-evidence")  # fmt: skip
        # (moto keeps one in-process store: earlier runs' objects may be there too)
        keys = sorted(o["Key"] for o in listed["Contents"] if f["id"] in o["Key"])
        assert keys == [
            f"jiesu/{k}" for k in sorted([f"1/{f['id']}.jpg", f"1/{f['id']}.thumb.jpg"])
        ]
    finally:
        server.stop()
