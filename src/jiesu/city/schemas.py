"""The city as the API shows it."""

from __future__ import annotations

from pydantic import BaseModel


class AreaOut(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None
    aliases: list[str]
    lat: float | None
    lon: float | None


class CategoryOut(BaseModel):
    code: str
    name: str
    level: int
    parent: str | None
    urgency: str
    response_limit: str
    handling_limit: str


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    phone: str
    areas: list[str]
    categories: list[str]
    all_categories: bool
