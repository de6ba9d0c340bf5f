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
from jiesu.deliberation.models import (
    Consultation,
    ConsultationComment,
    ConsultationOption,
    ConsultationVote,
    ConsultationWorkOrder,
    OutboxMessage,
    VerificationCode,
)
from jiesu.dispatch.models import Assignment, DispatchCatalogue, Dispute, Summons
from jiesu.evidence.models import EvidenceFile
from jiesu.intake.models import (
    ApiKey,
    ImportRun,
    Open311Token,
    Sensor,
    SensorMessage,
    SensorRule,
)
from jiesu.kb.models import KbArticle, KbArticleVersion, KbConsultation, KbFeedback, KbSynonym
from jiesu.loop.models import CallbackAttempt, CallbackTask, ScoringExclusion
from jiesu.nlp.tables import ClassifierVersion
from jiesu.notify.models import DeliveryAttempt, Notification
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
    "Consultation",
    "ConsultationComment",
    "ConsultationOption",
    "ConsultationVote",
    "ConsultationWorkOrder",
    "Contact",
    "DeliveryAttempt",
    "DispatchCatalogue",
    "Dispute",
    "EarlyWarning",
    "Event",
    "EventRedaction",
    "EvidenceFile",
    "HandlingUnit",
    "ImportRun",
    "KbArticle",
    "KbArticleVersion",
    "KbConsultation",
    "KbFeedback",
    "KbSynonym",
    "MonthlyTopic",
    "Notification",
    "Open311Token",
    "OutboxMessage",
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
    "VerificationCode",
]
