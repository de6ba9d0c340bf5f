"""Gateways: how a rendered message leaves. A small protocol and a registry by name; the
settings say which gateway each channel uses (JIESU_NOTIFY_EMAIL_GATEWAY …).

Built in: ``outbox`` (the message is kept, visible on the admin desk and through
`jiesu notify outbox`, for a person or another system to pass on) and ``smtp`` (e-mail through
smtplib). Other gateways (an SMS provider's API, a WeChat template message …) are plug-ins:
a package declares an entry point in the group ``jiesu.notify_gateways`` naming a factory
``(settings) -> Gateway``, or code calls ``register_gateway``."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from importlib.metadata import entry_points
from typing import Protocol

from jiesu.config import Settings
from jiesu.errors import ConfigError

ENTRY_POINT_GROUP = "jiesu.notify_gateways"


@dataclass(frozen=True)
class Outgoing:
    channel: str  # email | sms | desk
    to: str  # an e-mail address, a phone number, or a unit's code / "supervisors"
    subject: str
    body: str
    locale: str


class DeliveryFailed(Exception):
    """The gateway could not deliver; ``permanent``: trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Gateway(Protocol):
    name: str

    def send(self, message: Outgoing) -> str:
        """Deliver ``message`` or raise ``DeliveryFailed``; returns what the far end said."""
        ...


class OutboxGateway:
    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: Outgoing) -> str:
        return "kept in the outbox"


class SmtpGateway:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: Outgoing) -> str:
        if message.channel != "email" or "@" not in message.to:
            raise DeliveryFailed(
                f"the smtp gateway sends e-mail only, not {message.channel} to {message.to!r}",
                permanent=True,
            )
        s = self.settings
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = s.smtp_from, message.to, message.subject
        mail["Message-ID"] = make_msgid(domain=s.smtp_from.rpartition("@")[2] or None)
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"the server refused the address: {exc}", permanent=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(
                f"SMTP {s.smtp_host}:{s.smtp_port}: {type(exc).__name__}: {exc}"
            ) from exc
        if refused:
            raise DeliveryFailed(f"the server refused {', '.join(refused)}", permanent=True)
        return f"accepted by {s.smtp_host}:{s.smtp_port}"


GatewayFactory = Callable[[Settings], Gateway]
GATEWAYS: dict[str, GatewayFactory] = {"outbox": OutboxGateway, "smtp": SmtpGateway}


def register_gateway(name: str, factory: GatewayFactory) -> None:
    GATEWAYS[name] = factory


def _plugins() -> dict[str, GatewayFactory]:
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


def gateway_names(settings: Settings) -> dict[str, str]:
    """Which gateway each channel uses."""
    return {
        "email": settings.notify_email_gateway,
        "sms": settings.notify_sms_gateway,
        "desk": settings.notify_staff_gateway,
    }


def gateways_for(settings: Settings) -> dict[str, Gateway]:
    """A gateway per channel, made once for a delivery run; an unknown name is refused."""
    known = {**_plugins(), **GATEWAYS}
    out: dict[str, Gateway] = {}
    for channel, name in gateway_names(settings).items():
        if name not in known:
            raise ConfigError(
                f"no notification gateway {name!r} for {channel}; known: {', '.join(sorted(known))}"
            )
        out[channel] = known[name](settings)
    return out
