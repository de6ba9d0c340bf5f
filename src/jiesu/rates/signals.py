"""Gaming signals: patterns that suggest a unit chases the numbers instead of the problems.

Signals are shown to supervisors beside a ranking; they never change a score. Each needs at
least ``signals.min_cases`` cases behind it, and each says what it saw in numbers:

- ``high_satisfaction_high_reopen``: satisfaction at or above ``high_satisfaction`` while at
  least ``high_reopen_rate`` of the assessed requests had to be reopened — callers who were
  "satisfied" with cases that came back;
- ``late_short_replies``: at least ``late_short_share`` of the replies were filed in the last
  ``late_window`` of the time between dispatch and the handling deadline with fewer than
  ``short_reply_chars`` characters of content — a reply to stop the clock, not an answer;
- ``duplicate_replies``: at least ``duplicate_reply_share`` of the replies copy an earlier
  reply of the same unit — the reply-quality module's template measure (jiesu.nlp.replies:
  names in quotation marks dropped, digits masked, similar from ``COPY_FROM``), where giving
  the same answer to a repeat of the same problem is not a copy;
- ``unreachable_callbacks``: at least ``unreachable_share`` of the call-backs never reached the
  caller. Call-back attempts are not recorded yet; the signal works as soon as a
  ``ScoringHooks.unreachable`` reports them, and the ranking says it is unavailable until then.

Replies are read from each assessed request's last ``reply`` event (the answer of its latest
cycle); imported history has no live replies and is not screened.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.nlp.normalize import normalize
from jiesu.nlp.replies import COPY_FROM, TemplateMemory, fit_reply_stats, template_shingles
from jiesu.nlp.shingles import ShingleStats
from jiesu.rates.definitions import Signals
from jiesu.rates.population import Scored, chunks
from jiesu.rates.schemas import Signal
from jiesu.rates.tally import Tally
from jiesu.workflow.models import Event, ServiceRequest

_CONTENT = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


def content(text: str) -> str:
    """The letters, digits and Chinese characters of a text, normalised: what a reply says."""
    return "".join(_CONTENT.findall(normalize(text)))


@dataclass(frozen=True)
class Reply:
    request_id: int
    at: datetime
    text: str
    request_text: str
    # The request's current cycle: the last reply answers the last dispatch (or reopen).
    dispatched_at: datetime | None
    handling_due: datetime | None

    @property
    def position(self) -> float | None:
        """Where in the time allowed (0 = dispatch, 1 = deadline) the reply was filed."""
        start, due = self.dispatched_at, self.handling_due
        if start is None or due is None or due <= start:
            return None
        return (self.at - start).total_seconds() / (due - start).total_seconds()


def last_replies(session: Session, ids: Iterable[int]) -> dict[int, Reply]:
    """Each request's last reply event, by request id."""
    r = ServiceRequest
    out: dict[int, tuple[int, Reply]] = {}
    for batch in chunks(ids):
        rows = session.execute(
            select(
                Event.request_id,
                Event.seq,
                Event.at,
                Event.payload,
                r.text,
                r.dispatched_at,
                r.handling_due,
            )
            .join(r, r.id == Event.request_id)
            .where(Event.kind == "reply", Event.request_id.in_(batch))
        )
        for rid, seq, at, payload, asked, dispatched_at, due in rows:
            text = payload.get("text") if isinstance(payload, dict) else None
            if rid not in out or seq > out[rid][0]:
                text = text if isinstance(text, str) else ""
                out[rid] = (seq, Reply(rid, at, text, asked, dispatched_at, due))
    return {rid: reply for rid, (_, reply) in out.items()}


def _reply_signals(
    rows: list[Scored], replies: Mapping[int, Reply], th: Signals, stats: ShingleStats
) -> list[Signal]:
    out: list[Signal] = []
    mine = [(s, replies[s.id]) for s in rows if s.id in replies]
    judged = late_short = 0
    for _, reply in mine:
        pos = reply.position
        if pos is None:
            continue
        judged += 1
        if 1 - th.late_window <= pos <= 1 and len(content(reply.text)) < th.short_reply_chars:
            late_short += 1
    if judged and late_short >= th.min_cases and late_short / judged >= th.late_short_share:
        out.append(
            Signal(
                code="late_short_replies",
                message=f"{late_short} of {judged} replies were filed in the last "
                f"{th.late_window:.0%} of the time allowed with under "
                f"{th.short_reply_chars} characters of content",
                value=late_short / judged,
                cases=late_short,
            )
        )
    copied = copies([r for _, r in mine], stats)
    if mine and copied >= th.min_cases and copied / len(mine) >= th.duplicate_reply_share:
        out.append(
            Signal(
                code="duplicate_replies",
                message=f"{copied} of {len(mine)} replies copy an earlier reply of the unit",
                value=copied / len(mine),
                cases=copied,
            )
        )
    return out


def copies(replies: list[Reply], stats: ShingleStats) -> int:
    """Replies that copy an earlier one of the same list, in the order they were filed."""
    memory = TemplateMemory(stats)
    n = 0
    for reply in sorted(replies, key=lambda r: r.at):
        if not content(reply.text):
            continue
        match = memory.closest(
            reply.text, request=reply.request_text, remember_as=str(reply.request_id)
        )
        if match is not None and match.similarity >= COPY_FROM and not match.duplicate_request:
            n += 1
    return n


def _tally_signals(t: Tally, th: Signals) -> list[Signal]:
    out: list[Signal] = []
    satisfaction, reopen = t.rate("satisfaction"), t.reopen_rate
    if (
        satisfaction is not None
        and reopen is not None
        and t.reopened >= th.min_cases
        and satisfaction >= th.high_satisfaction
        and reopen >= th.high_reopen_rate
    ):
        out.append(
            Signal(
                code="high_satisfaction_high_reopen",
                message=f"satisfaction {satisfaction:.1%} while {reopen:.1%} of the assessed "
                "requests were reopened",
                value=reopen,
                cases=t.reopened,
            )
        )
    attempts = t.called_back + t.unreachable
    if (
        attempts
        and t.unreachable >= th.min_cases
        and t.unreachable / attempts >= th.unreachable_share
    ):
        out.append(
            Signal(
                code="unreachable_callbacks",
                message=f"{t.unreachable} of {attempts} call-backs never reached the caller",
                value=t.unreachable / attempts,
                cases=t.unreachable,
            )
        )
    return out


def unit_signals(
    session: Session,
    rows_by_unit: Mapping[int, list[Scored]],
    tallies: Mapping[int, Tally],
    th: Signals,
) -> dict[int, list[Signal]]:
    assessed = [s.id for rows in rows_by_unit.values() for s in rows if s.assessed]
    replies = last_replies(session, assessed)
    # Weighed over every reply of the period: a greeting all units use says nothing.
    stats = fit_reply_stats(template_shingles(r.text) for r in replies.values())
    out: dict[int, list[Signal]] = defaultdict(list)
    for unit_id, rows in rows_by_unit.items():
        out[unit_id] += _tally_signals(tallies.get(unit_id) or Tally(), th)
        out[unit_id] += _reply_signals([s for s in rows if s.assessed], replies, th, stats)
    return dict(out)
