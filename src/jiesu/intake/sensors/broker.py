"""The MQTT broker: address from a URL, a configured paho client, publishing one alarm."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

DEFAULT_BROKER_URL = "mqtt://127.0.0.1:1883"
DEFAULT_TOPIC = "jiesu/sensors/#"
TOPIC_PREFIX = "jiesu/sensors"
KEEPALIVE = 30
PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    def __str__(self) -> str:
        # For logs and progress lines: never the password.
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://…`` (TLS, port 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in PORTS:
        raise ValueError(f"broker URL {url!r}: the scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"broker URL {url!r} has no host")
    try:
        port = parts.port or PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"broker URL {url!r} has an invalid port") from None
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "mqtts",
    )


def redact_url(url: str) -> str:
    """The URL without its password, for `jiesu settings` and logs; never raises."""
    try:
        return str(parse_broker_url(url))
    except ValueError:
        return "(invalid broker URL)"


def make_client(address: BrokerAddress, client_id: str, *, persistent: bool) -> mqtt.Client:
    """A client that reconnects by itself (1 s, doubling up to 30 s).

    A persistent session (``clean_session=False``) makes the broker keep QoS 1 alarms that
    arrive while the listener is down and deliver them when it is back.
    """
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=not persistent,
        protocol=mqtt.MQTTv311,
    )
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def alarm_topic(kind: str, sensor: str, prefix: str = TOPIC_PREFIX) -> str:
    return f"{prefix}/{kind}/{sensor}"


def publish(url: str, topic: str, payload: str | bytes, *, timeout: float = 10.0) -> None:
    """Publish one message with QoS 1 and wait until the broker has acknowledged it."""
    address = parse_broker_url(url)
    client = make_client(address, "", persistent=False)
    client.connect(address.host, address.port, keepalive=KEEPALIVE)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=timeout)
        if not info.is_published():
            raise TimeoutError(f"{address} did not acknowledge the message within {timeout:g} s")
    finally:
        client.disconnect()
        client.loop_stop()
