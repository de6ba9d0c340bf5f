"""Prove the on-time arithmetic: compare Jiesu's on-time shares with a source file's own labels.

A city that moves its history into Jiesu should see the same on-time figures it published
before. The source export carries its own verdict per case (Boston's ``OnTime_Status`` is
ONTIME or OVERDUE); this reads the file with the same import mapping, counts the verdicts per
unit for the cases received in the period, and sets them beside what Jiesu computes from the
imported requests — with nothing shared between the two sides but the file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.orm import Session

from jiesu.intake.importer.mapping import Mapping
from jiesu.intake.importer.readers import read_rows
from jiesu.intake.importer.rows import RowError, RowReader
from jiesu.rates.compute import rates_report
from jiesu.rates.query import Query


@dataclass
class Labels:
    labelled: int = 0
    on_time: int = 0
    unlabelled: int = 0  # the file gives no verdict; Jiesu gives one, so these differ

    @property
    def share(self) -> float | None:
        return self.on_time / self.labelled if self.labelled else None


@dataclass
class FileLabels:
    by_unit: dict[str, Labels] = field(default_factory=lambda: defaultdict(Labels))
    rows_read: int = 0
    rows_in_period: int = 0
    rows_unreadable: int = 0
    other_labels: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def file_labels(
    path: Path, mapping: Mapping, query: Query, *, column: str, on_time: str, late: str
) -> FileLabels:
    """The file's own on-time verdicts per unit value, for rows received in the period."""
    reader = RowReader(mapping)
    out = FileLabels()
    for _, row in read_rows(path):
        out.rows_read += 1
        try:
            src = reader.read(row)
        except RowError:
            out.rows_unreadable += 1  # the importer rejects these too
            continue
        if not query.window.holds(src.received_at):
            continue
        out.rows_in_period += 1
        label = str(row.get(column) or "").strip()
        bucket = out.by_unit[src.unit]
        if label == on_time:
            bucket.labelled += 1
            bucket.on_time += 1
        elif label == late:
            bucket.labelled += 1
        else:
            bucket.unlabelled += 1
            if label:
                out.other_labels[label] += 1
    return out


class CheckRow(BaseModel):
    source_unit: str
    code: str | None
    file_labelled: int
    file_unlabelled: int
    file_on_time: int
    file_share: float | None
    jiesu_n: int
    jiesu_on_time: int
    jiesu_share: float | None
    difference_pp: float | None


class CheckResult(BaseModel):
    period: str
    column: str
    rows_read: int
    rows_in_period: int
    rows_unreadable: int
    other_labels: dict[str, int]
    rows: list[CheckRow]
    max_abs_difference_pp: float | None
    tolerance_pp: float
    within_tolerance: bool


def _unit_code(value: str, mapping: Mapping, by_name: dict[str, str], codes: set[str]) -> str:
    # The importer's own order: unit_map, then an exact code, then an exact name.
    if value in mapping.unit_map:
        return mapping.unit_map[value]
    if value in codes:
        return value
    return by_name.get(value, "")


def compare(
    session: Session,
    path: Path,
    mapping: Mapping,
    query: Query,
    *,
    column: str,
    on_time: str,
    late: str,
    tolerance_pp: float = 0.5,
) -> CheckResult:
    labels = file_labels(path, mapping, query, column=column, on_time=on_time, late=late)
    report = rates_report(session, query)
    by_code = {r.code: r for r in report.rows}
    by_name = {r.name: r.code for r in report.rows}
    rows: list[CheckRow] = []
    for value, lab in sorted(labels.by_unit.items()):
        code = _unit_code(value, mapping, by_name, set(by_code))
        mine = by_code.get(code)
        ot = mine.ontime if mine is not None else None
        file_share, jiesu_share = lab.share, ot.share if ot is not None else None
        diff = (
            round(100 * (jiesu_share - file_share), 3) + 0.0  # no "-0.0"
            if file_share is not None and jiesu_share is not None
            else None
        )
        rows.append(
            CheckRow(
                source_unit=value,
                code=code or None,
                file_labelled=lab.labelled,
                file_unlabelled=lab.unlabelled,
                file_on_time=lab.on_time,
                file_share=round(file_share, 6) if file_share is not None else None,
                jiesu_n=ot.n if ot is not None else 0,
                jiesu_on_time=ot.on_time if ot is not None else 0,
                jiesu_share=jiesu_share,
                difference_pp=diff,
            )
        )
    diffs = [abs(r.difference_pp) for r in rows if r.difference_pp is not None]
    worst = max(diffs) if diffs else None
    return CheckResult(
        period=query.period.label,
        column=column,
        rows_read=labels.rows_read,
        rows_in_period=labels.rows_in_period,
        rows_unreadable=labels.rows_unreadable,
        other_labels=dict(labels.other_labels),
        rows=rows,
        max_abs_difference_pp=worst,
        tolerance_pp=tolerance_pp,
        within_tolerance=worst is not None and worst <= tolerance_pp,
    )
