"""Anonymised request records beside the open data's tables (``--records``): one row per request.

A record is published only from a cell of ``requests.csv`` that is itself published, so
counting records gives back only counts the tables already show. In each record:

- the ticket is replaced by a keyed hash (HMAC-SHA256 under a key derived from the
  installation's secret): the same request has the same id in every export, and nobody
  without the secret can tell which ticket it is;
- times are cut to the hour, in the city's time zone;
- the place is the table's (district or street); coordinates are snapped to the centre of a
  0.01° grid cell (about 1.1 km north–south, 0.85 km east–west in Beijing) and left out
  unless at least ``min_cell`` records of the file share that cell;
- the citizen's words are masked by ``privacy.pii`` (phones, ID and bank card numbers,
  e-mail addresses, plates). Names and room numbers inside the words are *not* recognised:
  a city publishing records should read them first.

No contact data, unit, reply or call-back answer is in a record.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.privacy.open_data import OpenData, window_filter
from jiesu.privacy.open_files import UNCATEGORISED, UNKNOWN_PLACE, write_csv
from jiesu.privacy.pii import mask_text
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES

GRID = 0.01  # degrees
CHUNK = 500
COLUMNS = [
    "record_id",
    "period",
    "received_hour",
    "place_code",
    "place_name",
    "category_code",
    "category_name",
    "channel",
    "status",
    "closed_hour",
    "lat",
    "lon",
    "description",
]
DICTIONARY = {
    "record_id": "a keyed hash of the ticket: stable across exports, not reversible",
    "received_hour": "when the request was received, to the hour, in the city's time zone",
    "status": "open or closed (closed: 办结, answered at first contact, merged or invalid)",
    "closed_hour": "when it was closed, to the hour; empty while open",
    "lat": f"latitude of the centre of its {GRID}° grid cell; empty when unknown or when "
    "fewer than min_cell records share the cell",
    "lon": "longitude of the same grid cell's centre",
    "description": "the citizen's words with phones, ID and bank card numbers, e-mail "
    "addresses and licence plates masked",
}


def record_key(secret: str) -> bytes:
    """The hashing key of record ids, derived so the installation's secret is used only for
    this one purpose here."""
    return hmac.new(secret.encode(), b"jiesu open-data record id v1", hashlib.sha256).digest()


def record_id(key: bytes, ticket: str) -> str:
    return hmac.new(key, ticket.encode(), hashlib.sha256).hexdigest()[:20]


def grid_centre(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round((math.floor(value / GRID) + 0.5) * GRID, 4)


def _texts(session: Session, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(ServiceRequest.id, ServiceRequest.text).where(
                ServiceRequest.id.in_(ids[i : i + CHUNK])
            )
        )
        out.update({rid: text for rid, text in rows})
    return out


def _hour(at: Any, tz: ZoneInfo) -> str:
    if at is None:
        return ""
    return at.astimezone(tz).replace(minute=0, second=0, microsecond=0).isoformat()


def write_records(
    path: Path,
    con: duckdb.DuckDBPyConnection,
    session: Session,
    data: OpenData,
    *,
    secret: str,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """Write ``records.csv``; what was written and what was held back."""
    spec = data.spec
    published = data.published_cells()
    fmt = "%Y-%m-%d" if spec.period == "day" else "%Y-%m"
    where, params = window_filter(spec, data.include_synthetic)
    rows = con.execute(
        f"""SELECT id, ticket, strftime(day, '{fmt}'), {spec.level}_id,
                   cat{spec.category_level}_id, channel, status, received_at, closed_at, lat, lon
            FROM requests WHERE {where} ORDER BY received_at, id""",
        params,
    ).fetchall()
    kept = [r for r in rows if (r[2], r[3], r[4], r[5]) in published]
    cells = Counter((grid_centre(r[9]), grid_centre(r[10])) for r in kept)
    texts = _texts(session, [r[0] for r in kept])
    key = record_key(secret)
    out, coords_left_out = [], 0
    for rid, ticket, period, place, category, channel, status, received, closed, lat, lon in kept:
        cell = (grid_centre(lat), grid_centre(lon))
        show = None not in cell and cells[cell] >= spec.min_cell
        coords_left_out += cell[0] is not None and not show
        place_code, place_name = data.places.get(place, ("", UNKNOWN_PLACE))
        cat_code, cat_name = data.categories.get(category, ("", UNCATEGORISED))
        out.append(
            {
                "record_id": record_id(key, ticket),
                "period": period,
                "received_hour": _hour(received, tz),
                "place_code": place_code,
                "place_name": place_name,
                "category_code": cat_code,
                "category_name": cat_name,
                "channel": channel,
                "status": "open" if status in OPEN_STATUSES else "closed",
                "closed_hour": _hour(closed, tz) if status not in OPEN_STATUSES else "",
                "lat": cell[0] if show else "",
                "lon": cell[1] if show else "",
                "description": mask_text(texts.get(rid, "")),
            }
        )
    write_csv(path, COLUMNS, out)
    return {
        "rows": len(out),
        "held_back": len(rows) - len(kept),
        "coordinates_left_out": coords_left_out,
        "columns": COLUMNS,
        "dictionary": DICTIONARY,
        "held_back_rule": "records of suppressed cells are not published",
    }
