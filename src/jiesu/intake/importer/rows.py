"""One source row → the fields of a historical request, or a RowError naming the column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jiesu.intake.importer.mapping import MAX_NAME, Mapping
from jiesu.intake.schemas import MAX_TEXT
from jiesu.workflow.transitions import STATUSES

# The source key import:<mapping name>:<id> must fit the 200 characters a key may have.
MAX_ID = 200 - len("import::") - MAX_NAME


class RowError(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column, self.reason = column, reason


@dataclass
class SourceRow:
    id: str
    received_at: datetime
    title: str
    text: str
    address: str
    lat: float | None
    lon: float | None
    category: str
    category_group: str
    unit: str
    status: str
    channel: str
    area: str
    dispatched_at: datetime | None
    handling_due: datetime | None
    replied_at: datetime | None
    reply: str
    closed_at: datetime | None
    close_note: str
    kept: dict[str, str]


def _cell(row: dict[str, Any], column: str) -> str:
    value: Any = row
    for part in column.split(".") if column not in row else [column]:
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, str):
        # PostgreSQL cannot store NUL in text; in history it is debris of the export.
        return value.replace("\x00", "").strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets turn ids into floats
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).replace("\x00", "").strip()


def _parse_time(value: str, formats: list[str]) -> datetime | None:
    for fmt in formats:
        try:
            if fmt == "iso":
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


class RowReader:
    def __init__(self, mapping: Mapping):
        self.m = mapping

    def _get(self, row: dict[str, Any], field: str) -> tuple[str, str]:
        """(value, column): the first non-empty column of the field."""
        columns = self.m.columns.get(field, [])
        for column in columns:
            value = _cell(row, column)
            if value:
                return value, column
        return "", columns[0] if columns else field

    def _joined(self, row: dict[str, Any], field: str) -> str:
        parts: list[str] = []
        for column in self.m.columns.get(field, []):
            value = " ".join(_cell(row, column).split())  # tidy stray whitespace and tabs
            if value and value not in parts:
                parts.append(value)
        return "\n".join(parts)

    def _time(self, row: dict[str, Any], field: str, *, required: bool = False) -> datetime | None:
        value, column = self._get(row, field)
        if not value:
            if required:
                raise RowError(column, "is empty")
            return None
        dt = _parse_time(value, self.m.time_formats)
        if dt is None:
            formats = " or ".join(repr(f) for f in self.m.time_formats)
            raise RowError(column, f"{value!r} is not a time in the format {formats}")
        return dt if dt.tzinfo else dt.replace(tzinfo=self.m.timezone)

    def _coordinate(self, row: dict[str, Any], field: str, limit: float) -> float | None:
        value, column = self._get(row, field)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise RowError(column, f"{value!r} is not a number") from None
        if not -limit <= number <= limit:
            raise RowError(column, f"{number} is outside ±{limit}")
        return number

    def read(self, row: dict[str, Any]) -> SourceRow:
        if "_error" in row:
            raise RowError("line", str(row["_error"]))
        ident, id_column = self._get(row, "id")
        if not ident:
            raise RowError(id_column, "is empty: every row needs its source id")
        if len(ident) > MAX_ID:
            raise RowError(id_column, f"is {len(ident)} characters long; the limit is {MAX_ID}")
        received_at = self._time(row, "received_at", required=True)
        assert received_at is not None
        title = self._get(row, "title")[0]
        text = self._joined(row, "text") or title
        if not text:
            raise RowError("text", "the row has neither text nor title")
        if len(text) > MAX_TEXT:
            raise RowError("text", f"{len(text):,} characters; the limit is {MAX_TEXT:,}")
        lat = self._coordinate(row, "lat", 90)
        lon = self._coordinate(row, "lon", 180)
        if (lat is None) != (lon is None) or (lat == 0 and lon == 0):
            lat = lon = None  # half a position or null island is no position
        reply = self._joined(row, "reply")
        replied_at = self._time(row, "replied_at")
        raw_status, status_column = self._get(row, "status")
        if raw_status:
            status = self.m.status_map.get(raw_status, raw_status if not self.m.status_map else "")
            if not status:
                known = ", ".join(self.m.status_map)
                raise RowError(status_column, f"{raw_status!r} is not in the status_map ({known})")
        elif (reply or replied_at) and self.m.status_when_replied:
            status = self.m.status_when_replied
        else:
            status = self.m.status_default
        if status not in STATUSES:
            raise RowError(status_column, f"{status!r} is not a status ({', '.join(STATUSES)})")
        closed_at = self._time(row, "closed_at")
        if self.m.closed_at_only_when_closed and status != "closed":
            closed_at = None
        raw_channel = self._get(row, "channel")[0]
        return SourceRow(
            id=ident,
            received_at=received_at,
            title=title[:200],
            text=text,
            address=self._get(row, "address")[0][:500],
            lat=lat,
            lon=lon,
            category=self._get(row, "category")[0],
            category_group=self._get(row, "category_group")[0],
            unit=self._get(row, "unit")[0],
            status=status,
            channel=self.m.channel_map.get(raw_channel, self.m.channel),
            area=self._get(row, "area")[0],
            dispatched_at=self._time(row, "dispatched_at"),
            handling_due=self._time(row, "handling_due"),
            replied_at=replied_at,
            reply=reply,
            closed_at=closed_at,
            close_note=self._joined(row, "close_note")[:2000],
            kept={c: _cell(row, c) for c in self.m.keep if _cell(row, c)},
        )
