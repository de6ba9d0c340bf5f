"""Reading one sensor message: a JSON payload in, a checked alarm (or why it was refused) out.

Nothing here touches the database, so every way a device can get the format wrong is tested
without one. Extra fields (battery, signal strength…) are ignored: devices add them freely.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

# An alarm is a few hundred bytes; anything far larger is a misbehaving device, and the whole
# payload is kept for review, so it is cut off rather than stored in full.
MAX_PAYLOAD = 16 * 1024
MAX_CODE = 64

T = TypeVar("T")


class Refused(Exception):
    """The message cannot become an alarm; ``reason`` names the field and the problem."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    @property
    def reason(self) -> str:
        return f"{self.field}: {self.problem}"


@dataclass(frozen=True)
class Alarm:
    sensor: str
    kind: str
    value: float
    time: datetime | None  # aware, UTC; None when the device sent no time
    grid: str | None = None
    lat: float | None = None
    lon: float | None = None


def decode(payload: bytes | str) -> tuple[str, Refused | None]:
    """The payload as text to store, and the refusal if it is not usable text."""
    if isinstance(payload, str):
        raw = payload.encode("utf-8", errors="replace")
        text = payload
    else:
        raw = payload
        text = payload.decode("utf-8", errors="replace")
    # PostgreSQL's text cannot hold NUL: a broken message must still be kept for review.
    text = text.replace("\x00", "\ufffd")
    if len(raw) > MAX_PAYLOAD:
        return text[:MAX_PAYLOAD], Refused(
            "payload", f"{len(raw):,} bytes; the limit is {MAX_PAYLOAD:,}"
        )
    if isinstance(payload, bytes):
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return text, Refused("payload", f"not UTF-8 text (byte {exc.start})")
    return text, None


def _no_constants(name: str) -> Any:
    # Python's json accepts NaN and Infinity; a reading of NaN would pass no threshold test.
    raise ValueError(f"{name} is not a JSON number")


def parse_alarm(text: str) -> Alarm:
    """Check the fields of ``{sensor, kind, value, time?, grid?, lat?, lon?}``."""
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        raise Refused("payload", f"not valid JSON ({exc})") from None
    except RecursionError:  # "[[[[…": the reader recurses once per level
        raise Refused("payload", "nested too deeply to be an alarm") from None
    if not isinstance(data, dict):
        raise Refused("payload", f"must be a JSON object, got {type(data).__name__}")
    lat, lon = _coordinate(data, "lat", 90), _coordinate(data, "lon", 180)
    if (lat is None) != (lon is None):
        raise Refused("lat" if lat is None else "lon", "give lat and lon together or neither")
    return Alarm(
        sensor=_required(_code(data, "sensor"), "sensor"),
        kind=_required(_code(data, "kind"), "kind"),
        value=_required(_number(data, "value"), "value"),
        time=_time(data),
        grid=_code(data, "grid"),
        lat=lat,
        lon=lon,
    )


def _required(value: T | None, field: str) -> T:
    if value is None:
        raise Refused(field, "is missing")
    return value


def _code(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Refused(field, f"must be a non-empty string, got {json.dumps(value)[:40]}")
    if len(value) > MAX_CODE:
        raise Refused(field, f"is {len(value)} characters long; the limit is {MAX_CODE}")
    if any(c < " " for c in value):  # "\u0000" and other controls: no code holds them
        raise Refused(field, "contains a control character")
    return value.strip()


def _number(data: dict[str, Any], field: str) -> float | None:
    value = data.get(field)
    if value is None:
        return None
    # bool is an int in Python; a device sending true/false must say 1/0 explicitly.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(field, f"must be a number, got {json.dumps(value)[:40]}")
    try:
        number = float(value)
    except OverflowError:  # an integer with hundreds of digits
        raise Refused(field, "is too large a number") from None
    if not math.isfinite(number):
        raise Refused(field, "must be a finite number")
    return number


def _coordinate(data: dict[str, Any], field: str, limit: int) -> float | None:
    value = _number(data, field)
    if value is not None and not -limit <= value <= limit:
        raise Refused(field, f"{value} is outside -{limit}…{limit}")
    return value


def _time(data: dict[str, Any]) -> datetime | None:
    value = data.get("time")
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused("time", f"must be an ISO 8601 string, got {json.dumps(value)[:40]}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Refused("time", f"{value!r} is not an ISO 8601 date-time") from None
    if at.tzinfo is None or at.utcoffset() is None:
        # A naive time has no defined instant: guessing the zone could shift an alarm by hours.
        raise Refused("time", f"{value!r} has no time zone; send e.g. {value}+08:00 or {value}Z")
    try:
        return at.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of Greenwich is before the first instant
        raise Refused("time", f"{value!r} is out of range") from None
