"""Rates, on-time statistics and rankings as CSV or XLSX tables.

CSV is written in UTF-8 with a byte-order mark: unit and area names are Chinese, and the
spreadsheet programs offices open CSV files with read them correctly only with the mark.
An XLSX file holds the table, the focus areas for a ranking, and an "about" sheet with the
period, the moment of judging and the definitions used, so a file read months later still
says what its numbers mean.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, Literal

from openpyxl import Workbook

from jiesu.errors import BadInput
from jiesu.rates.schemas import RankedUnit, Ranking, RateFigures, RateRow, RatesReport

Table = tuple[list[str], list[list[Any]]]
Format = Literal["csv", "xlsx"]
FORMATS = ("csv", "xlsx")
WHATS = ("rates", "ontime", "ranking")
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RATE_COLUMNS = ["response_rate", "resolution_rate", "satisfaction_rate", "score", "reopen_rate"]
ONTIME_COLUMNS = [
    "ontime_n",
    "on_time",
    "no_target",
    "done_on_time",
    "done_late",
    "open_overdue",
    "open_not_due",
    "ontime_share",
    "closed_ontime_share",
]


def check_format(value: str) -> Format:
    if value not in FORMATS:
        raise BadInput("format", f"{value!r} is not an export format; use csv or xlsx")
    return value  # type: ignore[return-value]


def check_what(value: str) -> str:
    if value not in WHATS:
        raise BadInput("what", f"{value!r} cannot be exported; use one of {', '.join(WHATS)}")
    return value


def _rates(r: RateFigures) -> list[Any]:
    return [r.response, r.resolution, r.satisfaction, r.score, r.reopen_rate]


def _ontime(row: RateRow) -> list[Any]:
    o = row.ontime
    if o is None:
        return [None] * len(ONTIME_COLUMNS)
    return [
        o.n,
        o.on_time,
        o.no_target,
        o.done_on_time,
        o.done_late,
        o.open_overdue,
        o.open_not_due,
        o.share,
        o.closed_share,
    ]


def rates_table(report: RatesReport) -> Table:
    counts = list(report.total.counts)
    header = ["code", "name", "kind", "parent", *counts, *RATE_COLUMNS, *ONTIME_COLUMNS]
    header.append("assisted")
    body = [
        [
            row.code,
            row.name,
            row.kind,
            row.parent,
            *(row.counts.get(c, 0) for c in counts),
            *_rates(row.rates),
            *_ontime(row),
            row.assisted,
        ]
        for row in [*report.rows, report.total]
    ]
    return header, body


def ontime_table(report: RatesReport) -> Table:
    header = ["code", "name", "kind", "parent", *ONTIME_COLUMNS]
    body = [[r.code, r.name, r.kind, r.parent, *_ontime(r)] for r in [*report.rows, report.total]]
    return header, body


def _ranked(u: RankedUnit) -> list[Any]:
    drags = "; ".join(f"{d.name} ({d.code}) {d.points:+.2f}" for d in u.drags)
    signals = "; ".join(f"{s.code}: {s.message}" for s in u.signals)
    return [
        u.rank,
        u.code,
        u.name,
        u.parent,
        *_rates(u.rates),
        u.counts.get("assessed", 0),
        u.counts.get("called_back", 0),
        u.counts.get("response_due", 0),
        u.previous_rank,
        u.rank_change,
        u.previous_score,
        u.score_change,
        u.unranked_reason,
        drags,
        signals,
    ]


def ranking_table(r: Ranking) -> Table:
    header = [
        "rank",
        "code",
        "name",
        "parent",
        *RATE_COLUMNS,
        "assessed",
        "called_back",
        "response_due",
        "previous_rank",
        "rank_change",
        "previous_score",
        "score_change",
        "unranked_reason",
        "drags",
        "signals",
    ]
    return header, [_ranked(u) for u in r.units]


def focus_table(r: Ranking) -> Table:
    header = ["code", "name", "level", *RATE_COLUMNS, "assessed", "called_back"]
    body = [
        [
            a.code,
            a.name,
            a.level,
            *_rates(a.rates),
            a.counts.get("assessed", 0),
            a.counts.get("called_back", 0),
        ]
        for a in r.focus_areas
    ]
    return header, body


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else str(k), v)
    else:
        yield prefix, value if isinstance(value, int | float | str | type(None)) else str(value)


def about(doc: RatesReport | Ranking) -> Table:
    data = doc.model_dump(
        mode="json",
        include={"by", "level", "kind", "period", "as_of", "filters", "definitions", "basis"},
    )
    return ["key", "value"], [[k, v] for k, v in _flat("", data)]


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table[0])
    writer.writerows(table[1])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(sheets: dict[str, Table]) -> bytes:
    wb = Workbook(write_only=True)
    for title, (header, body) in sheets.items():
        ws = wb.create_sheet(title=title[:31])
        ws.append(header)
        for row in body:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export(doc: RatesReport | Ranking, what: str, fmt: Format) -> bytes:
    """The file for ``what`` (rates, ontime, ranking) in ``fmt``."""
    if isinstance(doc, Ranking):
        main, extra = ranking_table(doc), {"focus areas": focus_table(doc)}
    elif what == "ontime":
        main, extra = ontime_table(doc), {}
    else:
        main, extra = rates_table(doc), {}
    if fmt == "csv":
        return to_csv(main)
    return to_xlsx({what: main, **extra, "about": about(doc)})


def filename(what: str, label: str, fmt: Format, suffix: str = "") -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{label}{suffix}")
    return f"{what}-{safe}.{fmt}"
