"""The two wire formats of GeoReport v2: schemaless XML and its "Spark convention" JSON.

A document is built once as plain values and rendered either way. The Spark convention maps a
container of one repeated element to an array (even with one item) and drops the root element,
so list resources are top-level JSON arrays while ``service_definition`` and ``discovery`` are
objects, exactly as in the specification's examples.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

from fastapi import Response

Format = Literal["xml", "json"]
FORMATS: tuple[Format, ...] = ("xml", "json")

CONTENT_TYPES: dict[Format, str] = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


@dataclass(frozen=True)
class Many:
    """A container element holding repeated ``tag`` children: an array in JSON."""

    tag: str
    items: Sequence[Value]


Scalar: TypeAlias = str | int | float | bool | None
Value: TypeAlias = Scalar | Many | Mapping[str, "Value"]

# XML 1.0 cannot carry most control characters at all, not even escaped; a stray one in a
# citizen's text must not make the whole list unparseable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse_format(value: str | None) -> Format | None:
    return value if value in FORMATS else None  # type: ignore[return-value]


def w3c(dt: datetime | None, tz: ZoneInfo) -> str | None:
    """W3C date-time with the city's offset, whole seconds: ``2026-11-02T09:30:00+08:00``."""
    if dt is None:
        return None
    return dt.astimezone(tz).replace(microsecond=0).isoformat()


def _text(value: Scalar) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Value) -> None:
    if isinstance(value, Many):
        for item in value.items:
            _fill(ET.SubElement(element, value.tag), item)
    elif isinstance(value, Mapping):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Value) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    ET.indent(element, space="  ")
    return (XML_DECLARATION + ET.tostring(element, encoding="unicode") + "\n").encode()


def _spark(value: Value) -> object:
    if isinstance(value, Many):
        return [_spark(item) for item in value.items]
    if isinstance(value, Mapping):
        return {key: _spark(child) for key, child in value.items()}
    return value


def to_json(value: Value) -> bytes:
    return json.dumps(_spark(value), ensure_ascii=False, indent=1).encode()


def render(fmt: Format, root: str, value: Value, status_code: int = 200) -> Response:
    body = to_xml(root, value) if fmt == "xml" else to_json(value)
    return Response(body, status_code=status_code, media_type=CONTENT_TYPES[fmt])
