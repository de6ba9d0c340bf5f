"""The span a report covers: a local day, an ISO week (Monday to Sunday) or a calendar month,
and the span before it of the same kind, to show change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from jiesu.errors import BadInput

ReportKind = Literal["daily", "weekly", "monthly"]
KINDS: tuple[ReportKind, ...] = ("daily", "weekly", "monthly")
NAMES = {"daily": ("日通报", "Daily bulletin"), "weekly": ("周汇总", "Weekly summary"),
         "monthly": ("月分析", "Monthly analysis")}  # fmt: skip


@dataclass(frozen=True)
class ReportPeriod:
    kind: ReportKind
    first: date  # first local day
    last: date  # last local day, inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.first.isoformat()
        if self.kind == "weekly":
            y, w, _ = self.first.isocalendar()
            return f"{y}-W{w:02d}"
        return f"{self.first.year:04d}-{self.first.month:02d}"

    @property
    def rates_period(self) -> str:
        """The same span in the rates module's period syntax."""
        if self.kind == "monthly":
            return self.label
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(), tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz).astimezone(UTC)
        return start, end

    def previous(self) -> ReportPeriod:
        if self.kind == "monthly":
            last = self.first - timedelta(days=1)
            return ReportPeriod("monthly", last.replace(day=1), last)
        return ReportPeriod(
            self.kind, self.first - timedelta(days=self.days), self.first - timedelta(days=1)
        )

    def day_list(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


def check_kind(kind: str) -> ReportKind:
    if kind not in KINDS:
        raise BadInput("kind", f"{kind!r} is not a report; use one of {', '.join(KINDS)}")
    return kind  # type: ignore[return-value]


def report_period(kind: str, value: str | None, *, today: date) -> ReportPeriod:
    """``value`` is a day (daily: that day; weekly: the week holding it), or a month
    ``YYYY-MM`` (monthly; a day also works). The default is the last complete one."""
    k = check_kind(kind)
    field = "month" if k == "monthly" else "date"
    day = _parse(value, field, k) if value else None
    if k == "daily":
        d = day or today - timedelta(days=1)
        p = ReportPeriod("daily", d, d)
    elif k == "weekly":
        d = day or today - timedelta(days=today.isoweekday())  # last Sunday
        monday = d - timedelta(days=d.isoweekday() - 1)
        p = ReportPeriod("weekly", monday, monday + timedelta(days=6))
    else:
        d = day or today.replace(day=1) - timedelta(days=1)
        first = d.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        p = ReportPeriod("monthly", first, nxt - timedelta(days=1))
    if p.first > today:
        raise BadInput(field, f"{p.label} is in the future (today is {today.isoformat()})")
    return p


def _parse(value: str, field: str, kind: ReportKind) -> date:
    try:
        if kind == "monthly" and len(value) == 7:
            return date.fromisoformat(value + "-01")
        return date.fromisoformat(value)
    except ValueError:
        want = "YYYY-MM" if kind == "monthly" else "YYYY-MM-DD"
        raise BadInput(field, f"{value!r} is not a date; write {want}") from None
