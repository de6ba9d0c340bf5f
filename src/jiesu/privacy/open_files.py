"""The open data on disk: one CSV per table and ``metadata.json``, the data dictionary.

CSV files are UTF-8 with a byte-order mark (spreadsheets in Chinese then open them right); a
suppressed row keeps its keys and has every figure empty with ``suppressed`` = ``true``, so a
reader sees that something is hidden rather than reading a zero. An empty rate or median in a
row that is not suppressed means too few answers (or closed requests) to publish one.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import jiesu
from jiesu.privacy.open_data import TABLES, OpenData, Row

UNKNOWN_PLACE = "（未定位）"
UNCATEGORISED = "（未分类）"
MEASURES = (
    "requests",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "median_handling_hours",
)
KEYS = {
    "requests": ("period", "place", "category", "channel"),
    "totals_place": ("period", "place"),
    "totals_category": ("period", "category"),
    "totals_channel": ("period", "channel"),
    "totals": ("period",),
}
TITLES = {
    "requests": "requests per period, place, category and channel",
    "totals_place": "requests per period and place (all categories and channels)",
    "totals_category": "requests per period and category (all places and channels)",
    "totals_channel": "requests per period and channel (all places and categories)",
    "totals": "requests per period, city-wide",
}


def columns(table: str) -> list[str]:
    out = []
    for k in KEYS[table]:
        out += [f"{k}_code", f"{k}_name"] if k in ("place", "category") else [k]
    return [*out, *MEASURES, "suppressed"]


def dictionary(data: OpenData) -> dict[str, str]:
    spec = data.spec
    n = spec.min_cell
    return {
        "period": "the local day (YYYY-MM-DD) or month (YYYY-MM) the requests were received in"
        f" ({data.spec.period})",
        "place_code": f"the {spec.level}'s code in the city's area tree; empty: no place known",
        "place_name": f"the {spec.level}'s name; {UNKNOWN_PLACE} when no place is known",
        "category_code": f"the level-{spec.category_level} category's code; empty: none yet",
        "category_name": f"the level-{spec.category_level} category's name; {UNCATEGORISED} "
        "when none is set",
        "channel": "how the request came in: phone, web, app, wechat, open311, sensor, …",
        "requests": "requests received (each caller's request counts, merged duplicates too)",
        "response_rate": "响应率: share of these requests accepted (签收) by the response deadline"
        f", of those judged; empty when fewer than {n} were judged",
        "resolution_rate": "解决率: points of the callers' answers to 'solved?' at call-back "
        f"(rates.yaml), per answer; empty when fewer than {n} answered",
        "satisfaction_rate": "满意率: points of the callers' satisfaction answers, per answer; "
        f"empty when fewer than {n} answered",
        "median_handling_hours": "median hours from receipt to close (办结) of the closed "
        f"requests; empty when fewer than {n} were closed",
        "suppressed": "true: the figures are hidden (fewer than the minimum, or hidden so that "
        "a hidden figure cannot be worked out from the totals)",
    }


def _names(data: OpenData, kind: str, ident: int | None) -> tuple[str, str]:
    table = data.places if kind == "place" else data.categories
    if ident is None or ident not in table:
        return "", UNKNOWN_PLACE if kind == "place" else UNCATEGORISED
    return table[ident]


def row_values(data: OpenData, row: Row) -> dict[str, Any]:
    period, place, category, channel = row.key
    out: dict[str, Any] = {"period": period}
    for k in KEYS[row.table][1:]:
        if k == "channel":
            out["channel"] = channel
        else:
            out[f"{k}_code"], out[f"{k}_name"] = _names(
                data, k, place if k == "place" else category
            )
    if row.hidden:
        out.update(dict.fromkeys(MEASURES, ""))
        out["suppressed"] = "true"
        return out
    out["requests"] = row.agg.requests
    for name, value in row.agg.measures(data.spec.min_cell).items():
        out[name] = "" if value is None else value
    out["suppressed"] = "false"
    return out


def write_csv(path: Path, names: list[str], rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


GUARANTEES = [
    "Every published count (a row's requests) is at least min_cell.",
    "Each total published beside the rows (per place, category, channel, period) is the sum of"
    " its rows; where rows of a published total are hidden, at least two are, holding together"
    " at least min_cell requests and more than the least they could hold (one request per"
    " hidden cell).",
    "No hidden count can be computed exactly from the published counts of this export, by any"
    " combination of its totals (checked by linear algebra, one period at a time).",
    "In every period not listed under unaudited_periods, no hidden count can be pinned to a"
    " single value even by a reader who uses that counts are whole numbers of at least one per"
    " listed cell (checked for every hidden row with exchanges of requests among hidden rows,"
    " linear and integer programs).",
    "A rate is published only where at least min_cell requests are behind its denominator; a"
    " median only where at least min_cell requests were closed.",
    "No contact data, no free text, no community, grid or coordinates are in the tables.",
]
LIMITS = [
    "A hidden count can still be narrowed to a range of at least two values, not more.",
    "Rates are not protected by complementary suppression and their denominators are not"
    " published.",
    "Two exports whose periods or places overlap differently (a month whole and in part, by"
    " day and by month, by district and by street) can be subtracted from each other: publish"
    " one configuration, of whole periods.",
    "Figures published elsewhere (the portal's statistics, reports) are not taken into account.",
]


def metadata(
    data: OpenData,
    *,
    city: str,
    timezone: str,
    generated_at: datetime,
    files: dict[str, int],
    records: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec = data.spec
    doc = {
        "title": f"{city} 接诉即办 open data",
        "source": {
            "system": f"Jiesu {jiesu.__version__}",
            "city": city,
            "timezone": timezone,
            "read_from": "the analytics warehouse (Parquet), refreshed at as_of; exclusions "
            "from scoring and unreachable call-backs from the operational database",
            "as_of": data.as_of.isoformat() if data.as_of else None,
            "generated_at": generated_at.isoformat(),
        },
        "coverage": {
            "from": spec.first.isoformat(),
            "to": spec.last.isoformat(),
            "period": spec.period,
            "place_level": spec.level,
            "category_level": spec.category_level,
            "partial_periods": spec.partial_periods(),
            "synthetic_requests": data.synthetic,
            "synthetic_included": data.include_synthetic,
        },
        "counting": "every request received in the window counts once, in the period, place,"
        " category and channel it was received with (as of as_of); rates are cohort rates of"
        " those requests with the assessment's rules (docs/rates.md), so they differ from the"
        " assessment's monthly rates, which count verdicts given in the month",
        "suppression": {
            "min_cell": spec.min_cell,
            "rule": "rows with fewer than min_cell requests are hidden (primary); more rows are"
            " hidden so that no hidden row can be worked out from the published totals"
            " (complementary)",
            "guaranteed": GUARANTEES,
            "not_guaranteed": LIMITS,
            "primary": data.suppressed_primary,
            "complementary": data.suppressed_complementary,
            "unaudited_periods": data.unaudited_periods,
            "by_table": data.counts(),
        },
        "tables": {
            f"{t}.csv": {"title": TITLES[t], "rows": files.get(t, 0), "columns": columns(t)}
            for t in TABLES
        },
        "columns": dictionary(data),
    }
    if records is not None:
        doc["records"] = {"file": "records.csv", **records}
    return doc


def write_open_data(
    out: Path,
    data: OpenData,
    *,
    city: str,
    timezone: str,
    generated_at: datetime,
    records: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write every table and the metadata into ``out`` (``records``: what ``records.csv``,
    written before, holds); the metadata written."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, int] = {}
    for table in TABLES:
        rows = [row_values(data, r) for r in data.rows[table]]
        write_csv(out / f"{table}.csv", columns(table), rows)
        files[table] = len(rows)
    meta = metadata(
        data, city=city, timezone=timezone, generated_at=generated_at, files=files, records=records
    )
    write_json(out / "metadata.json", meta)
    return meta


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
