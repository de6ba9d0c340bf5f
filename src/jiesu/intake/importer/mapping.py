"""Import mappings: which source column holds which field, and how to read times and codes.

A mapping is YAML (see the built-in ones in ``mappings/``):

    name: boston311
    timezone: America/New_York          # zone of naive source times
    time_format: "%Y-%m-%d %H:%M:%S"    # strptime format or "iso" (or a list: tried in order)
    columns: {id: CASE_ENQUIRY_ID, received_at: OPEN_DT, text: [CASE_TITLE, TYPE], …}
    status_map: {Open: dispatched, Closed: closed}
    channel_map: {Constituent Call: phone}
    category_map: {Pothole Repair: "010203"}   # source value → our category code
    unit_map: {PWDx: "CB-CGW"}                 # source value → our unit code
    keep: [QUEUE]                              # extra source columns kept in a history note
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from jiesu.errors import BadInput
from jiesu.workflow.models import CHANNELS
from jiesu.workflow.transitions import STATUSES

BUILTIN = Path(__file__).parent / "mappings"
# A request's source key is ``import:<name>:<source id>`` and holds at most 200 characters.
MAX_NAME = 60
FIELDS = (
    "id", "received_at", "title", "text", "address", "lat", "lon", "category",
    "category_group", "unit", "status", "handling_due", "closed_at", "close_note", "reply",
    "replied_at", "channel", "area", "dispatched_at",
)  # fmt: skip


@dataclass
class Mapping:
    name: str
    columns: dict[str, list[str]]
    timezone: ZoneInfo
    time_formats: list[str] = field(default_factory=lambda: ["iso"])
    status_map: dict[str, str] = field(default_factory=dict)
    channel_map: dict[str, str] = field(default_factory=dict)
    category_map: dict[str, str] = field(default_factory=dict)
    unit_map: dict[str, str] = field(default_factory=dict)
    keep: list[str] = field(default_factory=list)
    channel: str = "import"
    status_default: str = "closed"
    status_when_replied: str | None = None
    closed_at_only_when_closed: bool = False
    description: str = ""

    def source_columns(self) -> set[str]:
        return {c for cols in self.columns.values() for c in cols} | set(self.keep)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN.glob("*.yaml"))


def load_mapping(name_or_path: str) -> Mapping:
    path = Path(name_or_path)
    if not path.is_file():
        path = BUILTIN / f"{name_or_path}.yaml"
        if not path.is_file():
            raise BadInput(
                "mapping",
                f"{name_or_path!r} is neither a file nor a built-in mapping "
                f"({', '.join(builtin_names())})",
            )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise BadInput("mapping", f"{path}: not valid UTF-8 YAML: {exc}") from exc
    return parse_mapping(raw, str(path))


def _problem(where: str, problem: str) -> BadInput:
    return BadInput("mapping", f"{where}: {problem}")


def _map(raw: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise _problem(where, f"{key} must map source values to ours, like {{Open: dispatched}}")
    return {str(k): str(v) for k, v in value.items()}


def _status(raw: dict[str, Any], key: str, default: str | None, where: str) -> str | None:
    value = raw.get(key, default)
    if value is not None and str(value) not in STATUSES:
        raise _problem(where, f"{key}: {value!r} is not one of {', '.join(STATUSES)}")
    return None if value is None else str(value)


def parse_mapping(raw: dict[str, Any], where: str) -> Mapping:
    if not isinstance(raw, dict):
        raise _problem(where, "must be a mapping of keys to values")
    columns_raw = raw.get("columns") or {}
    if not isinstance(columns_raw, dict):
        raise _problem(where, "columns must map field names to source columns")
    unknown = sorted(map(str, set(columns_raw) - set(FIELDS)))
    if unknown:
        raise _problem(
            where, f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(FIELDS)}"
        )
    for needed in ("id", "received_at"):
        if needed not in columns_raw:
            raise _problem(where, f"columns.{needed} is required")
    if "text" not in columns_raw and "title" not in columns_raw:
        raise _problem(where, "columns.text or columns.title is required")
    columns = {
        k: [str(c) for c in (v if isinstance(v, list) else [v])] for k, v in columns_raw.items()
    }
    try:
        tz = ZoneInfo(str(raw.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _problem(where, f"timezone {raw.get('timezone')!r} is not an IANA zone") from exc
    status_map = _map(raw, "status_map", where)
    for source, status in status_map.items():
        if status not in STATUSES:
            raise _problem(
                where, f"status_map.{source}: {status!r} is not one of {', '.join(STATUSES)}"
            )
    channel_map = _map(raw, "channel_map", where)
    for source, channel in [*channel_map.items(), ("channel", str(raw.get("channel", "import")))]:
        if channel not in CHANNELS:
            raise _problem(
                where, f"channel {source}: {channel!r} is not one of {', '.join(CHANNELS)}"
            )
    name = str(raw.get("name") or Path(where).stem)
    if len(name) > MAX_NAME:
        raise _problem(where, f"name is {len(name)} characters long; the limit is {MAX_NAME}")
    status_default = _status(raw, "status_default", "closed", where)
    assert status_default is not None
    return Mapping(
        name=name,
        columns=columns,
        timezone=tz,
        time_formats=[str(f) for f in _as_list(raw.get("time_format", "iso"))],
        status_map=status_map,
        channel_map=channel_map,
        category_map=_map(raw, "category_map", where),
        unit_map=_map(raw, "unit_map", where),
        keep=[str(c) for c in _as_list(raw.get("keep") or [])],
        channel=str(raw.get("channel", "import")),
        status_default=status_default,
        status_when_replied=_status(raw, "status_when_replied", None, where),
        closed_at_only_when_closed=bool(raw.get("closed_at_only_when_closed", False)),
        description=str(raw.get("description", "")),
    )
