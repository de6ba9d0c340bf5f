"""An article's body as written (Markdown, HTML or plain text) → safe HTML and plain words.

Everything shown passes through nh3 (the Ammonia sanitiser) with a short list of tags and no
attributes that run code, so an imported page with a script, an ``onerror`` or a
``javascript:`` link is stored harmless. Broken markup (unclosed tags, stray ``<``) is what
HTML parsers are built to repair: it is rendered as well as it can be, never refused.
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

from jiesu.errors import BadInput

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s",
    "ul", "ol", "li", "blockquote", "code", "pre", "a", "table", "thead", "tbody", "tr", "th",
    "td", "caption", "dl", "dt", "dd", "sub", "sup", "span", "div",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Raw HTML inside Markdown is kept (then sanitised): policy pages are often pasted that way.
_md = MarkdownIt("commonmark", {"html": True}).enable("table")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANKS = re.compile(r"\n\s*\n+")


def sanitise(raw_html: str) -> str:
    return nh3.clean(
        raw_html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        clean_content_tags={"script", "style"},
    )


def to_html(body: str, body_format: str) -> str:
    if body_format == "markdown":
        return sanitise(_md.render(body))
    if body_format == "html":
        return sanitise(body)
    if body_format == "text":
        paragraphs = [p.strip() for p in _BLANKS.split(body) if p.strip()]
        return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
    raise BadInput("body_format", "must be markdown, html or text")


def to_plain(safe_html: str) -> str:
    """The words of sanitised HTML, for the search and for snippets."""
    spaced = re.sub(r"</?(br|p|li|h\d|tr|td|th|div|ul|ol|table|pre)\b[^>]*>", "\n", safe_html)
    text = html.unescape(nh3.clean(spaced, tags=set()))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
