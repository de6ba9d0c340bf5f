"""Evidence files in the service: type by content, metadata stripped, bombs and broken files
refused, every file hashed into the request's audit chain, storage backends."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.errors import BadInput, Forbidden, NotFound
from jiesu.evidence.images import clean_image
from jiesu.evidence.service import (
    Limits,
    StoredFileDamaged,
    add_file,
    check_fetch,
    read_stored,
    visible_files,
)
from jiesu.evidence.sniff import sniff
from jiesu.evidence.storage import LocalStorage, S3Storage
from jiesu.kit.clock import FixedClock
from jiesu.privacy.audit import verify
from jiesu.workflow.models import Event

import evidencekit as kit
from factories import make_request, make_world

LIMITS = Limits(max_bytes=2 * 2**20, max_pixels=40_000_000, max_files=5)


def test_type_comes_from_the_content_not_the_name() -> None:
    assert sniff(kit.photo_with_gps()[:64]).media_type == "image/jpeg"
    assert sniff(kit.png()[:64]).media_type == "image/png"
    assert sniff(kit.PDF[:64]).kind == "document"
    with pytest.raises(BadInput, match="is a script, whatever its name says"):
        sniff(kit.SCRIPT_AS_JPG)
    with pytest.raises(BadInput, match="SVG"):
        sniff(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    with pytest.raises(BadInput, match="not a file type accepted"):
        sniff(b"just some text")
    with pytest.raises(BadInput, match="empty"):
        sniff(b"")


def test_a_photo_is_re_encoded_without_any_metadata() -> None:
    original = kit.photo_with_gps()
    assert kit.has_gps(original) and kit.metadata_left(original)
    clean = clean_image(original, max_pixels=40_000_000)
    assert set(clean.removed) == {"exif", "gps", "xmp", "icc", "comment"}
    assert kit.metadata_left(clean.data) == []
    assert kit.metadata_left(clean.thumbnail) == []
    assert (clean.width, clean.height) == (640, 480)
    assert clean.file_type.media_type == "image/jpeg"


def test_bombs_oversized_and_truncated_images_are_refused_clearly() -> None:
    with pytest.raises(BadInput, match="decompression bomb"):
        clean_image(kit.bomb_png(), max_pixels=40_000_000)
    with pytest.raises(BadInput, match=r"640×480 pixels .* the most accepted is 100,000"):
        clean_image(kit.photo_with_gps(), max_pixels=100_000)
    with pytest.raises(BadInput, match="damaged or truncated"):
        clean_image(kit.truncated_jpeg(), max_pixels=40_000_000)


def test_a_file_is_stored_hashed_and_recorded_in_the_audit_chain(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    storage = LocalStorage(tmp_path / "evidence")
    original = kit.photo_with_gps()
    f = add_file(
        session, storage, LIMITS, req, actor=world.actor("op"), now=clock.now(),
        stage="request", name="C:\\Users\\张\\IMG_0001.jpg", data=original,
    )  # fmt: skip
    session.commit()
    assert f.name == "IMG_0001.jpg"
    assert f.original_sha256 == hashlib.sha256(original).hexdigest()
    stored = (tmp_path / "evidence" / f.key).read_bytes()
    assert f.sha256 == hashlib.sha256(stored).hexdigest() != f.original_sha256
    assert kit.metadata_left(stored) == [] and f.thumb_key is not None
    event = session.scalars(
        select(Event).where(Event.request_id == req.id, Event.kind == "evidence")
    ).one()
    assert event.payload["sha256"] == f.sha256
    assert event.payload["original_sha256"] == f.original_sha256
    assert "gps" in event.payload["removed"]
    assert verify(session, tz=world.ctx.tz).ok
    # The served bytes are checked against the recorded hash: a changed file is not served.
    (tmp_path / "evidence" / f.key).write_bytes(stored + b"x")
    with pytest.raises(StoredFileDamaged, match="no longer matches"):
        read_stored(storage, f)


def test_refused_files_change_nothing(session: Session, clock: FixedClock, tmp_path: Path) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    storage = LocalStorage(tmp_path / "evidence")
    events = req.event_count
    for data, problem in (
        (kit.SCRIPT_AS_JPG, "a script"),
        (kit.truncated_jpeg(), "truncated"),
        (b"%PDF-1.4\n1 0 obj", "truncated PDF"),
        (b"\xff\xd8\xff" + b"0" * (LIMITS.max_bytes + 1), "the most accepted"),
    ):
        with pytest.raises(BadInput, match=problem) as err:
            add_file(
                session, storage, LIMITS, req, actor=world.actor("op"), now=clock.now(),
                stage="request", name="photo.jpg", data=data,
            )  # fmt: skip
        assert err.value.fields[0]["field"] == "file"
    assert req.event_count == events
    assert not (tmp_path / "evidence").exists()


def test_who_may_add_and_fetch(session: Session, clock: FixedClock, tmp_path: Path) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now())
    from jiesu.workflow.service import apply_action

    apply_action(
        session, req, "dispatch", actor=world.actor("disp"), now=clock.now(), ctx=world.ctx,
        params={"unit": "ST-110101001"},
    )  # fmt: skip
    storage = LocalStorage(tmp_path / "evidence")

    def add(who: str, stage: str, data: bytes) -> object:
        return add_file(
            session, storage, LIMITS, req, actor=world.actor(who), now=clock.now(),
            stage=stage, name="f", data=data,
        )  # fmt: skip

    photo = add("op", "request", kit.photo_with_gps())
    doc = add("h1", "reply", kit.PDF)
    with pytest.raises(Forbidden, match="may not add reply files"):
        add("op", "reply", kit.png())
    with pytest.raises(Forbidden):
        add("h2", "request", kit.png())  # another unit's handler
    with pytest.raises(Forbidden):
        add("analyst", "request", kit.png())
    session.commit()
    assert {f.public_id for f in visible_files(session, req, world.actor("h1"))} == {
        photo.public_id,  # type: ignore[attr-defined]
        doc.public_id,  # type: ignore[attr-defined]
    }
    # Analysts get photos (stripped) but no documents, whose insides cannot be masked.
    assert [f.kind for f in visible_files(session, req, world.actor("analyst"))] == ["image"]
    with pytest.raises(Forbidden, match="document"):
        check_fetch(world.actor("analyst"), doc, req)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        check_fetch(world.actor("h2"), photo, req)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        check_fetch(world.actor("citizen"), photo, req)  # type: ignore[arg-type]


def test_the_s3_backend_against_an_s3_compatible_server(tmp_path: Path) -> None:
    """boto3 against moto's S3 server over HTTP on localhost: the real client and wire
    protocol, an emulated store (not AWS, MinIO or Ceph)."""
    boto3 = pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        client.create_bucket(Bucket="evidence")
        store = S3Storage(client, "evidence", prefix="jiesu")
        key = "7/" + "a" * 32 + ".jpg"
        store.put(key, b"\xff\xd8\xffdata")
        assert store.get(key) == b"\xff\xd8\xffdata"
        assert client.head_object(Bucket="evidence", Key=f"jiesu/{key}")["ContentLength"] == 7
        store.delete(key)
        from jiesu.evidence.storage import StoredFileMissing

        with pytest.raises(StoredFileMissing):
            store.get(key)
        with pytest.raises(ValueError, match="not an evidence storage key"):
            store.put("../../etc/passwd", b"")
    finally:
        server.stop()
