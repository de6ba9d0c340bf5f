"""Imports every domain's tables so that metadata (and Alembic) sees them all."""

from jiesu.city.models import Area, CalendarYear, Category, City, CityPackLoad, HandlingUnit
from jiesu.db.base import Base
from jiesu.people.models import ApiToken, User
from jiesu.privacy.models import AuditDigest
from jiesu.workflow.models import Contact, Event, ServiceRequest

__all__ = [
    "ApiToken",
    "Area",
    "AuditDigest",
    "Base",
    "CalendarYear",
    "Category",
    "City",
    "CityPackLoad",
    "Contact",
    "Event",
    "HandlingUnit",
    "ServiceRequest",
    "User",
]
