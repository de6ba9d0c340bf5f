"""Evidence files travel with `jiesu backup` and come back with `jiesu restore`, byte for byte
and matching the hashes the audit chain recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.city.service import city_context
from jiesu.cli import app
from jiesu.db.engine import make_engine
from jiesu.evidence.models import EvidenceFile
from jiesu.evidence.service import Limits, add_file, read_stored
from jiesu.evidence.storage import LocalStorage
from jiesu.ops.archive import read_manifest
from jiesu.people.models import User
from jiesu.workflow.models import ServiceRequest
from opskit import NOW, populate

import evidencekit as kit
from factories import World

runner = CliRunner()


def test_evidence_is_backed_up_and_restored(
    scratch: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data = scratch("live"), tmp_path / "data"
    populate(url, requests=2)
    storage = LocalStorage(data / "evidence")
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        world = World(city_context(s), {u.username: u for u in s.scalars(select(User))})
        req = s.scalars(select(ServiceRequest)).first()
        assert req is not None
        f = add_file(
            s, storage, Limits(2**22, 10**7, 5), req, actor=world.actor("op"),
            now=NOW + timedelta(days=4), stage="request", name="p.jpg", data=kit.photo_with_gps(),
        )  # fmt: skip
        s.commit()
    engine.dispose()
    stored = (data / "evidence" / f.key).read_bytes()
    monkeypatch.setenv("JIESU_DATABASE_URL", url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(data))
    out = tmp_path / "nightly.jiesu"
    result = runner.invoke(app, ["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    members = read_manifest(out).members
    assert f"files/evidence/{f.key}" in members and f"files/evidence/{f.thumb_key}" in members
    assert members[f"files/evidence/{f.key}"].sha256 == f.sha256  # the chain's hash

    # The disk loses the photo; the restore brings it back and it is served again (events
    # after the digested days, so the restore check of the audit chain passes).
    (data / "evidence" / f.key).unlink()
    result = runner.invoke(app, ["restore", "--from", str(out), "--yes"])
    assert result.exit_code == 0, result.output
    assert (data / "evidence" / f.key).read_bytes() == stored
    engine = make_engine(url)
    with Session(engine) as s:
        row = s.scalars(select(EvidenceFile)).one()
        assert read_stored(storage, row) == stored
    engine.dispose()
