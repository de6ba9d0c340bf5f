"""The fixture of tests/analytics: two months of history in the factory city."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from analyticskit import History, build_history


@pytest.fixture
def history(session: Session, tmp_path: Path) -> History:
    return build_history(session, tmp_path)
