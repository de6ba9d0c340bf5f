"""Templates: one Jinja2 environment, the page context every template gets, and the helpers
templates may use (translation pairs, local times, safe return paths). No business rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from jiesu import __version__
from jiesu.web.nav import CITY_WIDE, ROLE_NAMES, STAFF_NAV

HERE = Path(__file__).parent
LANGS = ("zh", "en")
LANG_COOKIE = "jiesu_lang"
VIEW_COOKIE = "jiesu_view"  # "large": large text, high contrast, plain words (适老化)


@dataclass(frozen=True)
class Look:
    """How this visitor wants pages: language and the large-text mode."""

    lang: str = "zh"
    large: bool = False

    def t(self, zh: str, en: str) -> str:
        # Both languages sit side by side at the place of use: a page can never show a key
        # instead of words, and a reviewer sees at once whether the two say the same.
        return en if self.lang == "en" else zh


def look_of(request: Request) -> Look:
    lang = request.cookies.get(LANG_COOKIE, "")
    if lang not in LANGS:
        accept = request.headers.get("accept-language", "").lower()
        lang = "en" if accept.startswith("en") else "zh"
    return Look(lang=lang, large=request.cookies.get(VIEW_COOKIE) == "large")


def safe_next(value: str | None, default: str = "/") -> str:
    """A return path after a switch or sign-in: only a path on this site, never elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def _local(value: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(tz).strftime(fmt) if value else ""


def merge_query(query: dict[str, str], **changes: Any) -> str:
    """The query string with some parameters changed; None removes one (for pagers, filters)."""
    merged = {**query, **{k: v for k, v in changes.items() if v is not None}}
    for k, v in changes.items():
        if v is None:
            merged.pop(k, None)
    return urlencode({k: v for k, v in merged.items() if v not in ("", None)})


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",), default_for_string=True),
        undefined=StrictUndefined,  # a typo in a template fails its test instead of showing ""
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.globals["staff_nav"] = STAFF_NAV
    env.globals["city_wide"] = CITY_WIDE
    env.globals["role_names"] = ROLE_NAMES
    env.filters["urlquote"] = lambda v: quote(str(v), safe="")
    env.filters["merge_query"] = merge_query
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.1f}%"
    return env


ENV = _env()


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    look = look_of(request)
    tz: ZoneInfo = getattr(request.state, "tz", None) or request.app.state.settings.tz
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = ENV.get_template(template).render(
        look=look,
        _=look.t,
        lang=look.lang,
        here=here,
        local=lambda v, fmt="%Y-%m-%d %H:%M": _local(v, tz, fmt),
        user=getattr(request.state, "web_user", None),
        csrf=getattr(request.state, "csrf", ""),
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers=headers)
