"""Imports every domain's tables so that metadata (and Alembic) sees them all."""

from jiesu.analytics.models import EarlyWarning, MonthlyTopic
from jiesu.callers.models import CallerFlag
from jiesu.city.models import (
    Area,
    CalendarYear,
    Category,
    City,
    CityPackLoad,
    HandlingUnit,
    Place,
)
from jiesu.db.base import Base
from jiesu.dispatch.models import Assignment, DispatchCatalogue, Dispute, Summons
from jiesu.intake.models import (
    ApiKey,
    ImportRun,
    Open311Token,
    Sensor,
    SensorMessage,
    SensorRule,
)
from jiesu.loop.models import CallbackAttempt, CallbackTask, ScoringExclusion
from jiesu.nlp.tables import ClassifierVersion
from jiesu.people.models import ApiToken, User
from jiesu.privacy.models import AuditDigest, EventRedaction, PersonalDataRead, PrivacyPurge
from jiesu.surge.models import SurgeAttachment, SurgeCase, SurgeEvent
from jiesu.workflow.models import Contact, Event, ServiceRequest

__all__ = [
    "ApiKey",
    "ApiToken",
    "Area",
    "Assignment",
    "AuditDigest",
    "Base",
    "CalendarYear",
    "CallbackAttempt",
    "CallbackTask",
    "CallerFlag",
    "Category",
    "City",
    "CityPackLoad",
    "ClassifierVersion",
    "Contact",
    "DispatchCatalogue",
    "Dispute",
    "EarlyWarning",
    "Event",
    "EventRedaction",
    "HandlingUnit",
    "ImportRun",
    "MonthlyTopic",
    "Open311Token",
    "PersonalDataRead",
    "Place",
    "PrivacyPurge",
    "ScoringExclusion",
    "Sensor",
    "SensorMessage",
    "SensorRule",
    "ServiceRequest",
    "Summons",
    "SurgeAttachment",
    "SurgeCase",
    "SurgeEvent",
    "User",
]
