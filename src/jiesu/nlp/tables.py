"""Tables of the understanding domain: the registry of trained classifier versions.

(Named ``tables`` rather than ``models`` because ``model.py`` is the classifier itself.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jiesu.db.base import Base

CLASSIFIER_KINDS = ("category", "unit")


class ClassifierVersion(Base):
    """One trained classifier on disk (model.json + arrays.npz in ``path``) and what it was
    trained on. At most one version per kind is active: intake uses it; the others stay for
    comparison and rollback."""

    __tablename__ = "classifier_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200), default="")
    data_sha256: Mapped[str] = mapped_column(String(64), default="")
    n: Mapped[int] = mapped_column(Integer, default=0)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trained_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=False)
    activated_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(100), default="")
