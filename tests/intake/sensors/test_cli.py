"""`jiesu sensors …` on a real database (and the real broker for simulate and listen)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from intake.sensors.sensorcity import GRID_DHM, alarm, write_yaml
from jiesu.intake.models import SensorMessage
from jiesu.intake.sensors.broker import publish
from jiesu.intake.sensors.cli import app
from jiesu.intake.sensors.service import handle_alarm
from jiesu.kit.clock import FixedClock
from jiesu.logs import configure_logging

from factories import World

runner = CliRunner()
WAIT = 10.0


@pytest.fixture
def env(
    session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "250")  # rich would cut table cells at 80
    yield tmp_path
    # The commands point the logs at the runner's stderr, which is closed after each run.
    configure_logging()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_load_and_list(env: Path, world: World) -> None:
    good = write_yaml(
        env / "more.yaml", {"sensors": [{"code": "SMK-0300", "kind": "smoke", "area": GRID_DHM}]}
    )
    code, out = invoke("load", str(good))
    assert code == 0, out
    assert "sensors: 1 added, 0 updated" in out
    bad = write_yaml(env / "bad.yaml", {"sensors": [{"code": "X-1", "kind": "smoke"}]})
    code, out = invoke("load", str(bad))
    assert code == 1
    assert "nothing was loaded" in out and "sensor #1 (X-1): area: Field required" in out
    code, out = invoke("list")
    assert code == 0, out
    assert "SMK-0300" in out and "东华门街道办事处" in out and "消防安全" in out
    assert "nobody" in out  # SMK-0003 sits where no unit answers


def test_review_lists_refused_messages_and_marks_them_done(
    env: Path, world: World, session: Session, clock: FixedClock
) -> None:
    bad = handle_alarm(session, "t/x", '{"sensor": "NOPE"}', now=clock.now(), ctx=world.ctx)
    handle_alarm(
        session, "t/x", alarm("SMK-0001", "smoke", 1, clock.now()), now=clock.now(), ctx=world.ctx
    )
    session.commit()
    code, out = invoke("review")
    assert code == 0, out
    assert "1 refused messages" in out and "kind: is missing" in out
    code, out = invoke("review", "--done", str(bad.id))
    assert code == 0 and f"marked reviewed: {bad.id}" in out
    code, out = invoke("review")
    assert "no refused messages waiting for review" in out
    code, out = invoke("review", "--done", "4242")
    assert code == 1 and "no sensor message with id 4242" in out


def test_simulate_publishes_an_alarm(env: Path, world: World, broker: str, prefix: str) -> None:
    topic = f"{prefix}/smoke/SMK-0001"
    received: list[mqtt.MQTTMessage] = []
    subscribed, arrived = threading.Event(), threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, m: (received.append(m), arrived.set())
    client.connect("127.0.0.1", 1883)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert subscribed.wait(WAIT)
        code, out = invoke("simulate", "--sensor", "SMK-0001", "--value", "1", "--topic", topic)
        assert code == 0, out
        assert arrived.wait(WAIT)
    finally:
        client.disconnect()
        client.loop_stop()
    body = json.loads(received[0].payload)
    assert body["sensor"] == "SMK-0001" and body["kind"] == "smoke" and body["value"] == 1
    assert body["time"].endswith("+00:00")
    code, out = invoke("simulate", "--sensor", "NOPE", "--value", "1")
    assert code == 1 and "unknown sensor 'NOPE'" in out


def test_listen_prints_progress_until_interrupted(
    env: Path, world: World, broker: str, prefix: str, session: Session
) -> None:
    def feed_then_interrupt() -> None:
        # The command tells nobody when it has subscribed: publish until a message is stored.
        deadline = time.monotonic() + WAIT
        try:
            while time.monotonic() < deadline:
                publish(broker, f"{prefix}/smoke/SMK-0001", alarm("SMK-0001", "smoke", 1, None))
                session.rollback()
                if session.scalar(select(func.count(SensorMessage.id))):
                    break
                time.sleep(0.2)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    feeder = threading.Thread(target=feed_then_interrupt)
    feeder.start()
    client_id = f"jiesu-test-{uuid.uuid4().hex[:12]}"
    code, out = invoke(
        "listen", "--topic", f"{prefix}/#", "--clean-session", "--client-id", client_id
    )
    feeder.join()
    assert code == 0, out
    assert f"to {prefix}/#" in out and " opened " in out
    assert "stopped; handled" in out and "opened 1," in out
