"""What a new request looks like at the door, whatever the channel."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from jiesu.city.models import URGENCY_CLASSES, check_urgency
from jiesu.workflow.models import CHANNELS

MAX_TEXT = 10_000


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=32, pattern=r"^[0-9+\-() ]*$")
    email: str = Field("", max_length=200)
    wants_reply: bool = True


class RequestIn(BaseModel):
    """A new citizen request (诉求)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str = Field("phone", description=f"one of: {', '.join(CHANNELS)}")
    text: str = Field(
        ..., min_length=1, description="the citizen's words, at most 10,000 characters"
    )
    title: str = Field(
        "", max_length=200, description="a one-line summary; made from the text if empty"
    )
    address: str = Field("", max_length=500)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    area: str | None = Field(None, description="area code or exact name")
    category: str | None = Field(None, description="category code or exact name")
    urgency: str | None = Field(None, description=f"one of: {', '.join(URGENCY_CLASSES)}")
    received_at: AwareDatetime | None = Field(
        None, description="ISO 8601 with a time zone; default now"
    )
    contact: ContactIn | None = None
    source_key: str | None = Field(
        None, max_length=200, description="idempotency key: the same key never makes two requests"
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="answers to the category's intake questions (Open311 attributes), by code",
    )
    media_url: str = Field("", max_length=1000, description="a link to a photo or other media")

    @field_validator("text")
    @classmethod
    def _text_length(cls, value: str) -> str:
        if len(value) > MAX_TEXT:
            raise ValueError(
                f"text is {len(value):,} characters long; the limit is {MAX_TEXT:,} — "
                "attach long documents as files instead"
            )
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"unknown channel {value!r}; use one of {', '.join(CHANNELS)}")
        return value

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, value: str | None) -> str | None:
        return check_urgency(value)

    @model_validator(mode="after")
    def _both_coordinates(self) -> RequestIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon: give both or neither")
        return self
