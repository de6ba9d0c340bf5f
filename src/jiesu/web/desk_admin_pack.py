"""Loading a city pack from the admin desk: a .zip of the pack folder (the same files as
`jiesu city load DIR`), checked whole first — every problem listed with its file and row, and
nothing loaded — then loaded on the admin's say, updating by code and keeping history."""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from jiesu.city.pack import CityPack, CityPackError, read_pack
from jiesu.city.service import apply_pack
from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
MAX_ZIP = 50 * 2**20  # a megacity's pack with polygons is a few MB; 50 MB leaves room
MAX_FILES = 200


def _unpack(data: bytes, into: Path) -> Path:
    """Extract safely (no absolute paths, no "..", bounded size) and find the folder holding
    city.yaml — the zip may hold the folder itself or its contents."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BadInput("file", "is not a .zip file") from None
    members = archive.infolist()
    if len(members) > MAX_FILES:
        raise BadInput("file", f"holds {len(members)} files; a city pack has at most {MAX_FILES}")
    if sum(m.file_size for m in members) > 4 * MAX_ZIP:
        raise BadInput("file", "unpacks to more than 200 MB")
    for m in members:
        path = PurePosixPath(m.filename)
        if path.is_absolute() or ".." in path.parts:
            raise BadInput("file", f"has an unsafe path {m.filename!r}")
        if m.is_dir():
            continue
        target = into.joinpath(*path.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.read(m))
    roots = sorted(p.parent for p in into.rglob("city.yaml"))
    if not roots:
        raise BadInput("file", "has no city.yaml: zip the city pack folder (docs/city-pack.md)")
    return min(roots, key=lambda p: len(p.parts))


def _summary(pack: CityPack) -> dict[str, Any]:
    return {
        "name": pack.city.get("name"),
        "areas": len(pack.areas),
        "categories": len(pack.categories),
        "units": len(pack.units),
    }


@router.post("/desk/admin/city/pack", response_class=HTMLResponse)
async def upload_pack(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, "admin")
    form = await request.form()
    upload = form.get("file")
    mode = form.get("mode", "check")
    problems: list[str] = []
    checked: dict[str, Any] | None = None
    loaded: dict[str, int] | None = None
    status = 200
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise BadInput("file", "choose the city pack as a .zip file")
        data = await upload.read(MAX_ZIP + 1)
        if len(data) > MAX_ZIP:
            raise BadInput("file", "is larger than 50 MB")
        with tempfile.TemporaryDirectory(prefix="jiesu-pack-") as tmp:
            # Recorded as where the pack came from: the upload, not a temporary folder.
            pack = replace(read_pack(_unpack(data, Path(tmp))), source=f"upload {upload.filename}")
        checked = _summary(pack)
        if mode == "load":
            now = clock.now()

            def work(s: Session) -> dict[str, int]:
                return apply_pack(s, pack, now=now)

            loaded = await write(db, work)
    except CityPackError as exc:
        problems, status = exc.problems, 422
    except BadInput as exc:
        problems, status = [exc.message], 422
    return render(
        request,
        "staff/admin_pack.html",
        status_code=status,
        problems=problems,
        checked=checked,
        loaded=loaded,
        mode=mode,
    )
