"""Tables of the intake channels: Open311 keys and tokens, import runs, sensors and alarms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jiesu.db.base import Base


class ApiKey(Base):
    """An Open311 `api_key`. Only its SHA-256 is stored. A key bound to a unit lets that unit's
    own system post request updates (答复, 办结) as the unit."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)
    # Requests per minute this client may make; none = the server's default (settings).
    rate_per_minute: Mapped[int | None]


class Open311Token(Base):
    """A token returned by POST requests for a `batch` service, resolved by GET tokens/{token}."""

    __tablename__ = "open311_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    created_at: Mapped[datetime]


class ImportRun(Base):
    """One run of `jiesu import`: what file, with which mapping, and what became of each row."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    mapping: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_present: Mapped[int] = mapped_column(Integer, default=0)  # already loaded earlier
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejects_path: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SensorRule(Base):
    """When a kind of sensor alarm becomes a work order: threshold, category, time limits."""

    __tablename__ = "sensor_rules"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    threshold: Mapped[float | None] = mapped_column(Float)
    # True: alarm when value >= threshold (smoke, water level); False: when value <= threshold.
    above: Mapped[bool] = mapped_column(default=True)
    urgency: Mapped[str] = mapped_column(String(16), default="emergency")
    updated_at: Mapped[datetime]


class Sensor(Base):
    """A registered sensor with the grid (网格) it watches."""

    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("handling_units.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class SensorMessage(Base):
    """Every message that arrived on the sensor topic, kept whatever became of it, so that a
    malformed or unknown alarm can be reviewed instead of vanishing."""

    __tablename__ = "sensor_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    topic: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    # opened | repeat (appended to the open order) | below_threshold | rejected
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensors.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    reviewed: Mapped[bool] = mapped_column(default=False)
