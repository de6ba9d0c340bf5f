"""What the API shows of dispatch: the engine's decision and how the current unit was chosen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jiesu.dispatch.engine import Decision
from jiesu.dispatch.models import Assignment


class SuggestionOut(BaseModel):
    unit: str
    name: str
    source: str = Field(description="rule | model | directory | fallback")
    confidence: float | None
    why: str


class DecisionOut(BaseModel):
    """What the catalogue (or the learned router) decides for a request now."""

    unit: str | None = Field(description="null: no rule or confident model; a dispatcher decides")
    assisting_units: list[str]
    source: str | None = Field(description="rule | model | fallback (区政府兜底) | null")
    rule: str | None
    rule_name: str | None
    confidence: float | None
    reasons: list[str]
    mode: str = Field(description="direct | two_level")
    catalogue_version: int | None
    deadlines: dict[str, str | None] | None = None
    disagreement: dict[str, Any] | None = Field(
        None, description="the learned router's confident choice when it differs from the rule"
    )
    suggestions: list[SuggestionOut] = Field(description="top units, best first")

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls.model_validate(d.as_payload())


class DispatchInfo(BaseModel):
    """How the request's current lead unit was chosen."""

    unit: str
    unit_name: str
    assisting_units: list[str]
    source: str = Field(description="rule | model | fallback | manual | sensor")
    rule: str | None
    catalogue_version: int | None
    confidence: float | None
    reasons: list[str]
    mode: str
    suggested_unit: str | None = Field(
        description="what the catalogue would have chosen when a person chose otherwise"
    )
    started_at: datetime
    accepted_at: datetime | None

    @classmethod
    def of(cls, a: Assignment, tz: Any) -> DispatchInfo:
        def local(at: datetime | None) -> datetime | None:
            if at is None:
                return None
            # SQLite hands back naive datetimes; everything stored is UTC.
            return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz)

        return cls(
            unit=a.unit.code,
            unit_name=a.unit.name,
            assisting_units=list(a.assisting or []),
            source=a.source,
            rule=a.rule,
            catalogue_version=a.catalogue_version,
            confidence=a.confidence,
            reasons=list(a.reasons or []),
            mode=a.mode,
            suggested_unit=a.suggested_unit,
            started_at=local(a.started_at) or a.started_at,
            accepted_at=local(a.accepted_at),
        )


class CatalogueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    settings: dict[str, Any] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(..., max_length=10_000)
    note: str = Field("", max_length=2_000)


class CatalogueOut(BaseModel):
    version: int
    active: bool
    created_at: datetime
    created_by: str
    source: str
    note: str
    settings: dict[str, Any]
    rules: list[dict[str, Any]]
    warnings: list[str] = Field(
        default_factory=list,
        description="when saving: rules that send departments' work to street offices",
    )


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str = Field(..., min_length=1, max_length=20_000)
    category: str | None = Field(None, max_length=64, description="category code or name")
    area: str | None = Field(None, max_length=64, description="area code or name")
    urgency: str = Field("general", max_length=16)
    channel: str = Field("phone", max_length=16)
    received_at: datetime | None = Field(None, description="for hour rules; default now")
