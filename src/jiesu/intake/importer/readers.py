"""Reading source files row by row: CSV (UTF-8, UTF-8 with BOM, GB18030; optionally gzip),
XLSX and JSON Lines / JSON arrays. Every row comes with the line (or sheet row) it came from,
so a reject can point at it."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from jiesu.errors import BadInput

Row = dict[str, Any]
SAMPLE = 1 << 20


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def kind_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    if last in (".csv", ".tsv", ".txt"):
        return "csv"
    if last == ".xlsx":
        return "xlsx"
    if last in (".jsonl", ".ndjson", ".json"):
        return "json"
    raise BadInput("file", f"{path.name}: unknown kind {last!r}; use .csv, .xlsx, .jsonl or .json")


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the start of the file decodes as UTF-8, else GB18030,
    the superset of GBK/GB2312 that Chinese office software writes."""
    with _open_binary(path) as fh:
        head = fh.read(SAMPLE)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        # A multi-byte character may be cut at the end of the sample; ignore only that.
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:
            return "utf-8"
    return "gb18030"


def read_rows(path: Path, *, encoding: str | None = None) -> Iterator[tuple[int, Row]]:
    """Every row with its line; a file that cannot be read at all is a BadInput naming the
    file (or its encoding), raised when reading reaches the trouble: rows before it stand."""
    kind = kind_of(path)
    try:
        if kind == "csv":
            yield from _csv_rows(path, encoding or detect_encoding(path))
        elif kind == "xlsx":
            yield from _xlsx_rows(path)
        else:
            yield from _json_rows(path, encoding or "utf-8")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BadInput("file", f"{path.name} is not a readable gzip file ({exc})") from exc


def _delimiter(path: Path, encoding: str) -> str:
    """Tab or comma, judged by the header line only: texts are full of stray tabs."""
    with _open_binary(path) as raw:
        header = raw.readline(65536).decode(encoding, errors="ignore")
    return "\t" if header.count("\t") > header.count(",") else ","


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, Row]]:
    delimiter = _delimiter(path, encoding)
    with _open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.DictReader(text, delimiter=delimiter)
        try:
            for row in reader:
                yield reader.line_num, row
        except UnicodeDecodeError as exc:
            raise BadInput(
                "encoding",
                f"{path.name} is not {encoding} near line {reader.line_num + 1}: give --encoding",
            ) from exc
        except csv.Error as exc:  # e.g. a quote left open swallowing the rest of the file
            raise BadInput("file", f"{path.name} line {reader.line_num}: {exc}") from exc


def _xlsx_rows(path: Path) -> Iterator[tuple[int, Row]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl has no one error type for a file that is no workbook
        raise BadInput("file", f"{path.name} is not a readable XLSX workbook ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        for number, values in enumerate(rows, start=2):
            if all(v is None for v in values):
                continue
            yield number, {h: v for h, v in zip(header, values, strict=False) if h}
    finally:
        book.close()


def _json_rows(path: Path, encoding: str) -> Iterator[tuple[int, Row]]:
    line_no = 1
    try:
        with _open_binary(path) as raw:
            text = io.TextIOWrapper(raw, encoding=encoding)
            first = text.read(1)
            while first and first.isspace():
                first = text.read(1)
            if first == "[":
                yield from _json_array(path, "[" + text.read())
                return
            buffer = first
            for line in text:
                buffer += line
                yield from _json_line(line_no, buffer)
                line_no += 1
                buffer = ""
            if buffer.strip():
                yield from _json_line(line_no, buffer)
    except UnicodeDecodeError as exc:
        raise BadInput(
            "encoding", f"{path.name} is not {encoding} near line {line_no}: give --encoding"
        ) from exc


def _json_array(path: Path, text: str) -> Iterator[tuple[int, Row]]:
    # A JSON array (an Open311 GET requests.json answer): small enough to load whole.
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise BadInput("file", f"{path.name} is not a JSON array: {exc.msg} at {where}") from exc
    except RecursionError:
        raise BadInput("file", f"{path.name} is nested too deeply to be rows") from None
    for i, item in enumerate(items, start=1):
        yield i, item if isinstance(item, dict) else {"_value": item}


def _json_line(line_no: int, text: str) -> Iterator[tuple[int, Row]]:
    if not text.strip():
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        yield line_no, {"_error": f"not valid JSON: {exc.msg} at column {exc.colno}"}
        return
    except RecursionError:
        yield line_no, {"_error": "nested too deeply to be a row"}
        return
    yield line_no, value if isinstance(value, dict) else {"_error": "a line must be a JSON object"}
