"""Fixtures of the sensor tests: the small sensor city, loaded with rules and sensors."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from intake.sensors.sensorcity import RULES, SENSORS, sensor_city_pack, write_yaml
from jiesu.city.service import apply_pack, city_context
from jiesu.intake.sensors.registry import load_sensor_file
from jiesu.kit.clock import FixedClock
from jiesu.people.service import create_user

from factories import World


@pytest.fixture
def world(session: Session, clock: FixedClock, tmp_path: Path) -> World:
    now = clock.now()
    apply_pack(session, sensor_city_pack(), now=now)
    users = {
        name: create_user(
            session, username=name, role=role, password="password-123", unit=unit, now=now
        )
        for name, role, unit in (("op", "operator", None), ("h1", "handler", "ST-110101001"))
    }
    load_sensor_file(
        session, write_yaml(tmp_path / "sensors.yaml", {"rules": RULES, "sensors": SENSORS}),
        now=now,
    )  # fmt: skip
    session.commit()
    return World(city_context(session), users)


@pytest.fixture
def broker() -> str:
    """The real Mosquitto on 127.0.0.1:1883; with JIESU_REQUIRE_MQTT=1 a missing one fails."""
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        if os.environ.get("JIESU_REQUIRE_MQTT") == "1":
            pytest.fail("JIESU_REQUIRE_MQTT=1 but no MQTT broker answers on 127.0.0.1:1883")
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (run mosquitto, or JIESU_REQUIRE_MQTT=1)")
    return "mqtt://127.0.0.1:1883"


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test alone, so parallel runs on one broker never cross."""
    return f"jiesu-test/{os.getpid()}/{uuid.uuid4().hex}/sensors"
