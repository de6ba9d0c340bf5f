"""Message texts: one Jinja template per kind and language (``templates/<locale>/<kind>.txt``);
the first line is the subject, the rest the body. Plain text, so nothing is HTML-escaped, and a
missing value is an error rather than a blank in a message to a citizen."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

LOCALES = ("zh-CN", "en")
KINDS = (
    "accepted",
    "replied",
    "closed",
    "new",
    "returned",
    "whistled",
    "due_soon",
    "article_expiring",
    "surge",
    "warning",
)
FOLDER = Path(__file__).parent / "templates"


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(FOLDER),
        undefined=StrictUndefined,
        autoescape=False,  # plain-text messages: SMS and text/plain e-mail
        keep_trailing_newline=False,
    )


def render_message(kind: str, locale: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a ``kind`` message in ``locale``."""
    if locale not in LOCALES:
        locale = LOCALES[0]
    text = _env().get_template(f"{locale}/{kind}.txt").render(**context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()
