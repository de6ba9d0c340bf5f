"""Quiet hours by recipient kind: a window of local time in which messages wait.

``citizen=21:00-08:00`` holds citizens' messages from nine in the evening to eight in the
morning (a window may cross midnight); kinds not named have none. Urgent messages are not held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from jiesu.errors import ConfigError
from jiesu.notify.models import RECIPIENT_KINDS

_ITEM = re.compile(r"^\s*([a-z]+)\s*=\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def opens_after(self, local: datetime) -> datetime:
        """The first moment at or after ``local`` (inside the window) when it is over."""
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)


def parse_quiet_hours(text: str) -> dict[str, Window]:
    out: dict[str, Window] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        m = _ITEM.match(item)
        if m is None:
            raise ConfigError(
                f"JIESU_NOTIFY_QUIET_HOURS: {item!r} is not kind=HH:MM-HH:MM "
                "(e.g. citizen=21:00-08:00)"
            )
        kind, h1, m1, h2, m2 = m.groups()
        if kind not in RECIPIENT_KINDS:
            raise ConfigError(
                f"JIESU_NOTIFY_QUIET_HOURS: unknown recipient kind {kind!r}; "
                f"kinds: {', '.join(RECIPIENT_KINDS)}"
            )
        try:
            out[kind] = Window(time(int(h1), int(m1)), time(int(h2), int(m2)))
        except ValueError as exc:
            raise ConfigError(f"JIESU_NOTIFY_QUIET_HOURS: {item!r}: {exc}") from exc
    return out


def held_until(
    windows: dict[str, Window], kind: str, now: datetime, tz: ZoneInfo
) -> datetime | None:
    """When the quiet window that ``now`` falls in opens again (None: not quiet now)."""
    window = windows.get(kind)
    if window is None:
        return None
    local = now.astimezone(tz)
    if not window.contains(local.time()):
        return None
    return window.opens_after(local)
