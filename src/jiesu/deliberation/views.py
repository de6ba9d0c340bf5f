"""A consultation as people see it: the one view the API, the pages and the CLI share. In
public, staff names are left out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.deliberation.followup import progress
from jiesu.deliberation.models import Consultation, ConsultationComment, ConsultationVote
from jiesu.deliberation.schemas import (
    AreaRef,
    CommentOut,
    ConsultationOut,
    ConsultationSummary,
    DecisionOut,
    FollowUpOut,
    OptionOut,
    ResultsOut,
)
from jiesu.deliberation.service import phase
from jiesu.deliberation.voting import results


def pseudonym(author_key: str) -> str:
    return f"参与者{author_key[:6]}"


def summary(session: Session, c: Consultation, now: datetime) -> ConsultationSummary:
    votes = session.scalar(
        select(func.count())
        .select_from(ConsultationVote)
        .where(ConsultationVote.consultation_id == c.id)
    )
    return ConsultationSummary(
        id=c.id,
        title=c.title,
        kind=c.kind,
        subject=c.subject,
        area=AreaRef(code=c.area.code, name=c.area.name, level=c.area.level),
        phase=phase(c, now),  # type: ignore[arg-type]
        opens_at=c.opens_at,
        closes_at=c.closes_at,
        votes=votes or 0,
    )


def view(session: Session, c: Consultation, now: datetime, *, public: bool) -> ConsultationOut:
    comments = session.scalars(
        select(ConsultationComment)
        .where(ConsultationComment.consultation_id == c.id)
        .order_by(ConsultationComment.id)
    )
    labels = {o.id: o.label for o in c.options if o.hidden_at is None}
    decision = None
    if c.decided_at is not None:
        decision = DecisionOut(
            text=c.decision or "",
            reasons=c.decision_reasons or "",
            option_id=c.decision_option_id,
            option=labels.get(c.decision_option_id) if c.decision_option_id else None,
            decided_at=c.decided_at,
            decided_by=None if public else c.decided_by,
        )
    return ConsultationOut(
        **summary(session, c, now).model_dump(),
        question=c.question,
        questions=list(c.questions or []),
        subject_ref=c.subject_ref if c.subject != "hot_issue" or not public else "",
        category=c.category.name if c.category else None,
        methods=list(c.methods),
        background=c.background,
        options=[
            OptionOut(
                id=o.id,
                question=o.question,
                label=o.label if o.hidden_at is None else None,
                body=o.body if o.hidden_at is None else None,
                proposal=o.author_key is not None,
                hidden_reason=o.hidden_reason,
            )
            for o in c.options
        ],
        comments=[
            CommentOut(
                id=m.id,
                option_id=m.option_id,
                author=pseudonym(m.author_key),
                body=m.body if m.hidden_at is None else None,
                hidden_reason=m.hidden_reason,
                created_at=m.created_at,
            )
            for m in comments
        ],
        results=ResultsOut(**results(session, c)),
        decision=decision,
        follow_up=FollowUpOut(**progress(session, c)),
        created_by=None if public else c.created_by,
    )
