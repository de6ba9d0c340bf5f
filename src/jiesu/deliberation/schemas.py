"""API shapes of deliberation: what a supervisor sends to open and close a consultation, what
a participant sends, and the one view of a consultation that pages, API and CLI share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Text200 = Field(..., min_length=1, max_length=200)
Method = Literal["phone", "ticket", "account"]
ALL_METHODS: tuple[Method, ...] = ("phone", "ticket", "account")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QuestionIn(_In):
    text: str = Field(..., min_length=1, max_length=500)
    options: list[str] = Field(..., max_length=20)


class ConsultationIn(_In):
    title: str = Text200
    question: str = Field(..., min_length=1, max_length=5000)
    kind: Literal["poll", "proposals", "survey"] = "poll"
    subject: Literal["hot_issue", "monthly_topic", "early_warning", "community"] = "community"
    subject_ref: str = Field("", max_length=100, description="topic id, warning id or a ticket")
    area: str | None = Field(None, max_length=64, description="area code; none: the city")
    category: str | None = Field(None, max_length=64)
    options: list[str] = Field(default_factory=list, max_length=20)
    questions: list[QuestionIn] = Field(
        default_factory=list, max_length=10, description="a survey's questions"
    )
    methods: list[Method] = Field(
        default_factory=lambda: list(ALL_METHODS), min_length=1, max_length=3
    )
    opens_at: datetime | None = None
    days: int = Field(14, ge=1, le=90)


class DecisionIn(_In):
    decision: str = Field(..., min_length=1, max_length=5000)
    reasons: str = Field(..., min_length=1, max_length=5000)
    option_id: int | None = Field(None, ge=1, le=2**31 - 1)


class WorkOrderIn(_In):
    """Either the ticket of a request already in the loop, or the text of a new proactive
    work order (placed in the consultation's area and category unless given)."""

    ticket: str | None = Field(None, max_length=32)
    text: str | None = Field(None, max_length=10000)
    area: str | None = Field(None, max_length=64)
    category: str | None = Field(None, max_length=64)


class ModerationIn(_In):
    target: Literal["comment", "option"]
    id: int = Field(..., ge=1, le=2**31 - 1)
    reason: str = Field(..., min_length=1, max_length=500)


class CodeIn(_In):
    phone: str = Field(..., min_length=1, max_length=32)


class PassIn(_In):
    method: Literal["phone", "ticket"]
    code: str = Field(..., min_length=1, max_length=40, description="SMS code or tracking code")
    phone: str | None = Field(None, max_length=32)
    ticket: str | None = Field(None, max_length=32)


class VoteIn(_In):
    """A poll's or proposals' vote (``option_id``), or a survey's ballot (``answers``: one
    option id for each question)."""

    pass_: str = Field(..., alias="pass", min_length=1, max_length=300)
    option_id: int | None = Field(None, ge=1, le=2**31 - 1)
    answers: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(None, max_length=10)


class ProposalIn(_In):
    pass_: str = Field(..., alias="pass", min_length=1, max_length=300)
    label: str = Text200
    body: str = Field("", max_length=2000)


class CommentIn(_In):
    pass_: str = Field(..., alias="pass", min_length=1, max_length=300)
    body: str = Field(..., min_length=1, max_length=2000)
    option_id: int | None = Field(None, ge=1, le=2**31 - 1)


class CodeSent(BaseModel):
    expires_at: datetime


class PassOut(BaseModel):
    pass_: str = Field(..., serialization_alias="pass")
    expires_at: datetime
    voted: bool


class OptionOut(BaseModel):
    id: int
    question: int = Field(description="a survey's question (index into questions); else 0")
    label: str | None = Field(description="null when hidden: see hidden_reason")
    body: str | None
    proposal: bool
    hidden_reason: str | None


class CommentOut(BaseModel):
    id: int
    option_id: int | None
    author: str = Field(description="a pseudonym, the same for one person in one consultation")
    body: str | None
    hidden_reason: str | None
    created_at: datetime


class OptionCount(BaseModel):
    option_id: int
    question: int
    label: str | None
    hidden_reason: str | None
    proposal: bool
    votes: int
    share: float | None


class ResultsOut(BaseModel):
    votes: int = Field(description="turnout: people who voted (a survey: ballots), one each")
    by_method: dict[str, int]
    options: list[OptionCount]


class DecisionOut(BaseModel):
    text: str
    reasons: str
    option_id: int | None
    option: str | None
    decided_at: datetime
    decided_by: str | None


class WorkOrderOut(BaseModel):
    ticket: str
    created: bool = Field(description="opened from the decision (else a request already open)")
    title: str | None
    category: str | None
    area: str | None
    unit: str | None
    status: str
    stage: Literal["planned", "in_progress", "done", "withdrawn"]
    replied_at: datetime | None
    linked_at: datetime


class FollowUpOut(BaseModel):
    work_orders: list[WorkOrderOut]
    stages: dict[str, int]


class AreaRef(BaseModel):
    code: str
    name: str
    level: str


class ConsultationSummary(BaseModel):
    id: int
    title: str
    kind: str
    subject: str
    area: AreaRef
    phase: Literal["upcoming", "open", "ended", "decided"]
    opens_at: datetime
    closes_at: datetime
    votes: int


class ConsultationOut(ConsultationSummary):
    question: str
    questions: list[str]
    subject_ref: str
    category: str | None
    methods: list[str]
    background: dict[str, Any]
    options: list[OptionOut]
    comments: list[CommentOut]
    results: ResultsOut
    decision: DecisionOut | None
    follow_up: FollowUpOut
    created_by: str | None
