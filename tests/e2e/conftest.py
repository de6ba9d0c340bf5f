"""End-to-end tests: the real server on a loopback port, driven by headless Chromium.

Chromium is Debian's (/usr/bin/chromium), never a downloaded one; `.ci/run` installs it when
missing and sets JIESU_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping.
Screenshots of the main pages are saved as artifacts in JIESU_SCREENSHOTS (default: the test's
temporary folder); with JIESU_UPDATE_SCREENSHOTS=1 they also replace docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.kit.clock import FixedClock

from factories import World, make_world

CHROMIUM = os.environ.get("JIESU_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("JIESU_REQUIRE_BROWSER") == "1"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # The machine's network is closed: without these Chromium keeps trying Google's hosts.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def e2e_world(session: Session, clock: FixedClock) -> World:
    world = make_world(session, clock.now())
    session.commit()
    return world


@pytest.fixture
def server(e2e_world: World, db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[str]:
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path), clock=clock, schedule=False)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 15
    while not srv.started and time.monotonic() < end:
        time.sleep(0.05)
    assert srv.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if REQUIRE:
            pytest.fail(f"JIESU_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRE:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


class Shots:
    """Saves screenshots as artifacts; never compares pixels."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.update_docs = os.environ.get("JIESU_UPDATE_SCREENSHOTS") == "1"

    def take(self, page: Any, name: str) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if self.update_docs:
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOCS_SHOTS / path.name)
        return path


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    return Shots(Path(os.environ.get("JIESU_SCREENSHOTS") or tmp_path / "screenshots"))
