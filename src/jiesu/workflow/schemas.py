"""Request, timeline and action bodies as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jiesu.dispatch.schemas import DispatchInfo


class Ref(BaseModel):
    code: str
    name: str


class CategoryRef(Ref):
    path: list[str] = Field(description="names from the first level down to this category")


class ContactOut(BaseModel):
    name: str
    phone: str
    email: str
    masked: bool


class EventOut(BaseModel):
    seq: int
    kind: str
    at: datetime
    actor: str
    from_status: str | None
    to_status: str | None
    payload: dict[str, Any]


class RequestSummary(BaseModel):
    ticket: str
    status: str
    channel: str
    received_at: datetime
    title: str
    area: Ref | None
    category: CategoryRef | None
    urgency: str
    lead_unit: Ref | None
    response_due: datetime | None
    handling_due: datetime | None
    response_overdue: bool
    handling_overdue: bool
    synthetic: bool
    heat: int = Field(description="callers behind this issue: 1 + requests merged into it")
    urgency_score: float | None = Field(
        description="0–100, from the signals found in the text (see understanding.urgency)"
    )


class CategorySuggestion(BaseModel):
    code: str
    name: str
    confidence: float
    why: list[str] = Field(description="the words in the text that led to it")


# ---------------------------------------------------------------- what the machine read
class _Loose(BaseModel):
    # Older requests' payloads lack newer keys; unknown keys are ignored.
    model_config = ConfigDict(extra="ignore")


class PlaceGuess(_Loose):
    area_code: str
    area_level: str
    area_name: str
    area_path: str = Field(description="names from the top, e.g. 北京市/朝阳区/望京街道")
    start: int | None = Field(None, description="span of the words in the text (end exclusive)")
    end: int | None = None
    text: str = ""
    confidence: float
    source: str = Field(description="area | place | polygon | cpca")


class PlaceOut(_Loose):
    best: PlaceGuess | None = None
    alternatives: list[PlaceGuess] = Field(default_factory=list)
    ambiguous: bool = Field(False, description="the text names several areas; not applied")
    candidates: list[str] = Field(default_factory=list)
    outside_city: bool = Field(False, description="the text is about another city's place")


class UrgencyReason(_Loose):
    code: str
    label: str
    label_en: str = ""
    points: int
    text: str = Field("", description="the words that raised it")
    raises_to: str | None = None


class UrgencyOut(_Loose):
    score: int = Field(description="0–100")
    urgency: str | None = Field(None, description="urgency class the signals call for")
    reasons: list[UrgencyReason] = Field(default_factory=list)


class DemandOut(_Loose):
    level: str = Field(description="basic | quality | development")
    label: str
    label_en: str = ""
    source: str
    evidence: list[str] = Field(default_factory=list)


class PriorityComponent(_Loose):
    name: str
    value: float
    weight: float
    why: str


class PriorityOut(_Loose):
    score: float
    components: list[PriorityComponent] = Field(default_factory=list)


class SentimentOut(_Loose):
    score: float = Field(description="−1 angry … 1 pleased; a weak signal, never a gate")
    anger: float


class DuplicateOut(_Loose):
    ticket: str | None = None
    score: float
    text_similarity: float
    reasons: list[str] = Field(default_factory=list)


class UnderstandingOut(_Loose):
    """What the machine read in the text at intake, each part with why."""

    unreadable: str | None = Field(None, description="why no suggestions could be made")
    area_source: str | None = Field(None, description="given | text (applied from the text)")
    place: PlaceOut | None = None
    urgency: UrgencyOut | None = None
    demand: DemandOut | None = None
    priority: PriorityOut | None = None
    sentiment: SentimentOut | None = None
    duplicates: list[DuplicateOut] = Field(
        default_factory=list, description="open requests that may report the same problem"
    )


class RequestOut(RequestSummary):
    text: str
    address: str
    lat: float | None
    lon: float | None
    category_confirmed: bool
    category_confidence: float | None = Field(
        description="confidence of an automatically applied category; null if a person chose it"
    )
    category_suggestions: list[CategorySuggestion]
    understanding: UnderstandingOut = Field(
        description="what intake suggested when no category was given, best first"
    )
    assisting_units: list[Ref]
    duplicate_of: str | None
    dispatched_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    return_count: int
    reopen_count: int
    solved: bool | None
    satisfaction: str | None
    contact: ContactOut | None
    dispatch: DispatchInfo | None = Field(
        description="how the current lead unit was chosen: rule, model, fallback or a person"
    )
    allowed_actions: list[str] = Field(description="actions the current user may take now")
    timeline: list[EventOut]


class Page(BaseModel):
    items: list[RequestSummary]
    page: int
    page_size: int
    total: int


# ---------------------------------------------------------------- action bodies
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DispatchIn(_Body):
    unit: str | None = Field(
        None,
        description="lead unit code, name or former name; omit to follow the dispatch catalogue",
    )
    assisting_units: list[str] | None = Field(
        None, description="assisting unit codes; omitted: the catalogue's when following it"
    )
    category: str | None = Field(None, description="set or confirm the category")
    urgency: str | None = None
    note: str | None = Field(None, max_length=10_000)


class TransferIn(_Body):
    unit: str
    reason: str = Field(..., min_length=1, max_length=10_000)


class ReasonIn(_Body):
    reason: str = Field(..., min_length=1, max_length=10_000)


class TextIn(_Body):
    text: str = Field(..., min_length=1, max_length=10_000)


FILES_FIELD = Field(
    None,
    max_length=20,
    description="ids of evidence files uploaded for this step (POST /requests/{ticket}/files)",
)


class ReplyIn(TextIn):
    files: list[str] | None = FILES_FIELD


class NoteIn(_Body):
    note: str | None = Field(None, max_length=10_000)


class CallBackIn(_Body):
    resolution: Literal["solved", "partly", "unsolved"] | None = Field(
        None, description="the caller's answer: solved, partly solved or not solved"
    )
    solved: bool | None = Field(
        None, description="older yes/no form: true = solved, false = unsolved; must agree"
    )
    satisfaction: Literal["satisfied", "basically", "unsatisfied"]
    channel: Literal["phone", "link", "sms", "visit"] | None = Field(
        None, description="how the answer came (default phone)"
    )
    note: str | None = Field(None, max_length=10_000)
    files: list[str] | None = FILES_FIELD


class ReopenIn(_Body):
    reason: str = Field(..., min_length=1, max_length=10_000)
    unit: str | None = Field(
        None, description="another lead unit (supervisors only); default the same unit"
    )


class CategorizeIn(_Body):
    category: str = Field(..., description="category code (or exact name) to set or confirm")
    note: str | None = Field(None, max_length=10_000)


class MergeIn(_Body):
    into: str = Field(..., description="ticket of the original request")


class RedispatchIn(_Body):
    unit: str = Field(..., description="a unit inside the district (code, name or former name)")
    note: str | None = Field(None, max_length=10_000)


class ContestIn(_Body):
    reason: str = Field(..., min_length=1, max_length=10_000)
    proposed_unit: str | None = Field(None, description="the unit that should have it")


class UpholdIn(_Body):
    note: str = Field(..., min_length=1, max_length=10_000)
    unit: str | None = Field(None, description="where the case goes; default the proposed unit")
    rule: dict[str, Any] | None = Field(
        None, description="a catalogue rule to add (or replace by id) so it does not recur"
    )


class DecisionNoteIn(_Body):
    note: str = Field(..., min_length=1, max_length=10_000)


class WhistleIn(_Body):
    units: list[str] = Field(..., min_length=1, max_length=20, description="units to summon")
    reason: str = Field(..., min_length=1, max_length=10_000)
    limit: str | None = Field(None, description="time to report, e.g. 2h or 1wd (default 24h)")


class ReportIn(_Body):
    text: str = Field(..., min_length=1, max_length=10_000, description="what the unit will do")
    unit: str | None = Field(None, description="the reporting unit (staff acting for it)")


# path segment → (action, body schema)
ACTION_ROUTES: dict[str, tuple[str, type[BaseModel] | None]] = {
    "dispatch": ("dispatch", DispatchIn),
    "accept": ("accept", None),
    "return": ("return", ReasonIn),
    "transfer": ("transfer", TransferIn),
    "reply": ("reply", ReplyIn),
    "call-back": ("call_back", CallBackIn),
    "close": ("close", NoteIn),
    "answer": ("answer", TextIn),
    "reopen": ("reopen", ReopenIn),
    "merge": ("merge", MergeIn),
    "categorize": ("categorize", CategorizeIn),
    "mark-invalid": ("mark_invalid", ReasonIn),
    "confirm-invalid": ("confirm_invalid", NoteIn),
    "reject-invalid": ("reject_invalid", ReasonIn),
    "notes": ("note", TextIn),
    "redispatch": ("redispatch", RedispatchIn),
    "contest": ("contest", ContestIn),
    "uphold-dispute": ("uphold_dispute", UpholdIn),
    "reject-dispute": ("reject_dispute", DecisionNoteIn),
    "whistle": ("whistle", WhistleIn),
    "report": ("report", ReportIn),
}
