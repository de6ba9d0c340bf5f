"""Reading unlabelled rows of text for the analysis commands (duplicates, reply quality).

``jiesu.nlp.dataset`` needs a label column; these commands need text columns plus a few
optional ones (time, unit, reply). Same readers, same encodings, same ``BadInput`` errors.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jiesu.errors import BadInput
from jiesu.intake.importer.readers import read_rows

# Time formats seen in exports of Chinese government systems and spreadsheets.
TIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)


@dataclass(frozen=True)
class TextRows:
    # Each kept row: its line in the file, its text columns joined, and every asked-for column.
    lines: list[int]
    texts: list[str]
    fields: list[tuple[str, ...]]
    columns: dict[str, list[str]] = field(default_factory=dict)
    skipped: int = 0


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets turn ids into floats
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def parse_time(value: str) -> datetime | None:
    """A local time as written in the file (no zone), or None when it is not a time."""
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        pass
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _check_columns(path: Path, row: dict[str, Any], wanted: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in row]
    if missing:
        available = ", ".join(str(k) for k in row if not str(k).startswith("_"))
        raise BadInput(
            "column", f"no column {', '.join(missing)} in {path.name}; have: {available}"
        )


def load_rows(
    path: Path,
    text_cols: Sequence[str],
    other_cols: Sequence[str] = (),
    *,
    encoding: str | None = None,
    require: Sequence[str] = (),
) -> TextRows:
    """Rows whose joined text (or a ``require``d column) is empty are skipped and counted."""
    if not path.is_file():
        raise BadInput("data", f"{path} does not exist")
    if not text_cols:
        raise BadInput("text-col", "give at least one text column")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise BadInput("encoding", f"unknown encoding {encoding!r}") from None
    wanted = list(dict.fromkeys([*text_cols, *other_cols]))
    lines: list[int] = []
    texts: list[str] = []
    fields: list[tuple[str, ...]] = []
    columns: dict[str, list[str]] = {c: [] for c in other_cols}
    rows = skipped = 0
    try:
        for line, row in read_rows(path, encoding=encoding):
            if "_error" in row:  # a broken JSON line: counted, not fatal
                skipped += 1
                continue
            if rows == 0:
                _check_columns(path, row, wanted)
            rows += 1
            cells = tuple(cell(row.get(c)) for c in text_cols)
            text = "\n".join(t for t in cells if t)
            if not text or any(not cell(row.get(c)) for c in require):
                skipped += 1
                continue
            lines.append(line)
            texts.append(text)
            fields.append(cells)
            for c in other_cols:
                columns[c].append(cell(row.get(c)))
    except UnicodeDecodeError as exc:
        # The CSV reader names the line itself; JSON and gzip decoding errors land here.
        raise BadInput(
            "encoding", f"{path.name} is not valid text ({exc.reason}): give --encoding"
        ) from exc
    except (ValueError, KeyError, OSError, csv.Error, zipfile.BadZipFile) as exc:
        # Broken XLSX/gzip/JSON arrays, oversized CSV fields: a clear message, no traceback.
        raise BadInput("data", f"cannot read {path.name}: {exc}") from exc
    if rows == 0:
        raise BadInput("data", f"{path.name} has no rows")
    if not texts:
        empty = " or ".join(["text", *require])
        raise BadInput("text-col", f"all {rows} rows have an empty {empty}")
    return TextRows(lines, texts, fields, columns, skipped)
