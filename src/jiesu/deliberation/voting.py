"""Taking part: one vote per participant (the unique constraint holds it when two arrive at
once), proposals in a consultation that takes them, comments; and the results, counted from
the votes alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.deliberation.models import (
    Consultation,
    ConsultationComment,
    ConsultationOption,
    ConsultationVote,
)
from jiesu.deliberation.participants import Participant
from jiesu.deliberation.service import phase
from jiesu.errors import BadInput, Conflict
from jiesu.privacy.pii import mask_text

log = structlog.get_logger(__name__)
MAX_COMMENT = 2000
MAX_PROPOSALS_EACH = 3


def _open(c: Consultation, now: datetime, what: str) -> None:
    p = phase(c, now)
    if p == "upcoming":
        problem = f"opens at {c.opens_at.isoformat()}"
    elif p != "open":
        problem = "is closed" if p == "ended" else "is decided"
    else:
        return
    raise Conflict(
        f"no {what}: consultation {c.id} {problem}",
        fields=[{"field": "status", "problem": problem}],
    )


def has_voted(session: Session, c: Consultation, p: Participant) -> bool:
    q = select(ConsultationVote.id).where(
        ConsultationVote.consultation_id == c.id, ConsultationVote.participant_key == p.key
    )
    return session.scalar(q) is not None


def vote(
    session: Session, c: Consultation, p: Participant, *, option_id: int, now: datetime
) -> ConsultationVote:
    _open(c, now, "vote")
    if c.kind == "survey":
        raise BadInput("answers", "a survey is answered with one choice for each question")
    option = session.get(ConsultationOption, option_id)
    if option is None or option.consultation_id != c.id or option.hidden_at is not None:
        raise BadInput("option", f"{option_id} is not an option of this consultation")
    if has_voted(session, c, p):
        raise Conflict(
            "you have voted in this consultation already; one vote each",
            fields=[{"field": "pass", "problem": "has voted already"}],
        )
    v = ConsultationVote(
        consultation_id=c.id,
        option_id=option.id,
        participant_key=p.key,
        method=p.method,
        cast_at=now,
    )
    session.add(v)
    session.flush()  # a concurrent second vote fails here, on the unique constraint
    log.info("deliberation.voted", consultation=c.id, method=p.method)
    return v


def answer(
    session: Session, c: Consultation, p: Participant, *, option_ids: list[int], now: datetime
) -> list[ConsultationVote]:
    """A survey's ballot: one choice for every question, all cast together or none."""
    _open(c, now, "answer")
    if c.kind != "survey":
        raise BadInput("answers", "only a survey takes answers; vote with option_id")
    options = {o.id: o for o in c.options if o.hidden_at is None}
    chosen: dict[int, int] = {}
    for oid in option_ids:
        if oid not in options:
            raise BadInput("answers", f"{oid} is not an option of this survey")
        q = options[oid].question
        if q in chosen:
            raise BadInput("answers", f"question {q + 1} is answered twice")
        chosen[q] = oid
    missing = [str(i + 1) for i in range(len(c.questions)) if i not in chosen]
    if missing:
        raise BadInput("answers", f"answer question(s) {', '.join(missing)}")
    if has_voted(session, c, p):
        raise Conflict(
            "you have answered this survey already; one ballot each",
            fields=[{"field": "pass", "problem": "has answered already"}],
        )
    rows = []
    for q, oid in sorted(chosen.items()):
        v = ConsultationVote(consultation_id=c.id, option_id=oid, participant_key=p.key)
        v.question, v.method, v.cast_at = q, p.method, now
        rows.append(v)
    session.add_all(rows)
    session.flush()  # a concurrent second ballot fails here, on the unique constraint
    log.info("deliberation.answered", consultation=c.id, method=p.method)
    return rows


def propose(
    session: Session, c: Consultation, p: Participant, *, label: str, body: str, now: datetime
) -> ConsultationOption:
    _open(c, now, "proposal")
    if c.kind != "proposals":
        raise BadInput("kind", "this consultation is a poll: its options are fixed")
    label, body = mask_text(label.strip()), mask_text(body.strip())
    if not label or len(label) > 200:
        raise BadInput("label", "a proposal needs a title of 1 to 200 characters")
    if len(body) > MAX_COMMENT:
        raise BadInput("body", f"at most {MAX_COMMENT} characters")
    mine = session.scalar(
        select(func.count())
        .select_from(ConsultationOption)
        .where(
            ConsultationOption.consultation_id == c.id,
            ConsultationOption.author_key == p.author_key,
        )
    )
    if (mine or 0) >= MAX_PROPOSALS_EACH:
        raise Conflict(
            f"at most {MAX_PROPOSALS_EACH} proposals each",
            fields=[{"field": "label", "problem": "too many proposals"}],
        )
    o = ConsultationOption(label=label, body=body, author_key=p.author_key, created_at=now)
    c.options.append(o)
    session.flush()
    return o


def comment(
    session: Session,
    c: Consultation,
    p: Participant,
    *,
    body: str,
    option_id: int | None,
    now: datetime,
) -> ConsultationComment:
    _open(c, now, "comment")
    text = mask_text(body.strip())  # a number or ID said in a comment never reaches the page
    if not text or len(text) > MAX_COMMENT:
        raise BadInput("body", f"a comment is 1 to {MAX_COMMENT} characters")
    if option_id is not None:
        o = session.get(ConsultationOption, option_id)
        if o is None or o.consultation_id != c.id:
            raise BadInput("option", f"{option_id} is not an option of this consultation")
    row = ConsultationComment(
        consultation_id=c.id,
        option_id=option_id,
        author_key=p.author_key,
        body=text,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def results(session: Session, c: Consultation) -> dict[str, Any]:
    """Votes per option and the turnout, counted from the votes table (a hidden proposal's
    votes still count: hiding moderates words, not ballots)."""
    counts = dict(
        session.execute(
            select(ConsultationVote.option_id, func.count())
            .where(ConsultationVote.consultation_id == c.id)
            .group_by(ConsultationVote.option_id)
        ).all()
    )
    by_method = dict(
        session.execute(
            select(
                ConsultationVote.method, func.count(func.distinct(ConsultationVote.participant_key))
            )
            .where(ConsultationVote.consultation_id == c.id)
            .group_by(ConsultationVote.method)
        ).all()
    )
    # Turnout is people, not rows: a survey's ballot holds one row per question.
    total = (
        session.scalar(
            select(func.count(func.distinct(ConsultationVote.participant_key))).where(
                ConsultationVote.consultation_id == c.id
            )
        )
        or 0
    )
    rows = [
        {
            "option_id": o.id,
            "question": o.question,
            "label": o.label if o.hidden_at is None else None,
            "hidden_reason": o.hidden_reason,
            "proposal": o.author_key is not None,
            "votes": counts.get(o.id, 0),
            "share": round(counts.get(o.id, 0) / total, 4) if total else None,
        }
        for o in c.options
    ]
    return {"votes": total, "by_method": by_method, "options": rows}
