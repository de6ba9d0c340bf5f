"""What the privacy tests share: data keys of their own, given back when the test ends."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from jiesu.config import Settings
from jiesu.privacy.keys import use_keyring, use_settings


@pytest.fixture
def own_keys() -> Iterator[None]:
    """The test may point the process at other keys; afterwards it uses the run's key again."""
    run_key = os.environ.get("JIESU_DATA_KEY")
    yield
    use_keyring(None)
    use_settings(Settings(data_key=run_key))
