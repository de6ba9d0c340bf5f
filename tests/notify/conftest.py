from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifykit import SmtpServer, smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server
