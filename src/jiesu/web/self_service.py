"""Self-service (一网通办): citizens search the published articles without signing in, read
one, say whether it answered their question, and — when it did not — go on to the public
form with the question already written and the search attached to the request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, write
from jiesu.kb.present import today_in_city
from jiesu.kb.search import search_articles
from jiesu.kb.service import public_article, record_feedback
from jiesu.web.forms import form_dict
from jiesu.web.render import render
from jiesu.workflow.models import ServiceRequest

router = APIRouter(include_in_schema=False)
SHOWN = 8
MAX_QUERY = 500
Id = Path(ge=1, le=2_147_483_647)


def _ids(value: str) -> list[int]:
    out = []
    for part in value.split(","):
        part = part.strip()
        if part.isdigit() and len(part) < 10 and int(part) not in out:
            out.append(int(part))
    return out[:20]


def self_service_context(values: dict[str, str]) -> dict[str, Any] | None:
    """The search a public submission came from (hidden fields of the form), or None."""
    query = values.get("kb_q", "").strip()[:MAX_QUERY]
    if not query:
        return None
    return {
        "query": query,
        "articles_seen": _ids(values.get("kb_seen", "")),
        "not_helpful": _ids(values.get("kb_no", "")),
    }


def searched_before(s: Session, ticket: str) -> dict[str, Any] | None:
    """The self-service search a request came with, for the staff's request page."""
    attributes = s.scalar(select(ServiceRequest.attributes).where(ServiceRequest.ticket == ticket))
    found = (attributes or {}).get("self_service")
    return found if isinstance(found, dict) else None


@router.get("/help", response_class=HTMLResponse)
async def help_search(request: Request, db: DB, clock: ClockDep) -> HTMLResponse:
    q = request.query_params.get("q", "").strip()[:MAX_QUERY]
    now = clock.now()

    def work(s: Session) -> list[Any]:
        return search_articles(s, q, today=today_in_city(s, now), limit=SHOWN) if q else []

    hits = await db.run_sync(work)
    seen = ",".join(str(h.article.id) for h in hits)
    return render(request, "citizen/help.html", q=q, hits=hits, seen=seen)


@router.get("/help/articles/{article_id}", response_class=HTMLResponse)
async def help_article(
    request: Request, db: DB, clock: ClockDep, article_id: int = Id
) -> HTMLResponse:
    now = clock.now()
    a = await db.run_sync(lambda s: _article(s, article_id, now))
    q = request.query_params
    return render(
        request,
        "citizen/help_article.html",
        a=a,
        q=q.get("q", "")[:MAX_QUERY],
        seen=q.get("seen", "")[:200],
        answered=q.get("answered", ""),
    )


def _article(s: Session, article_id: int, now: Any) -> Any:
    a = public_article(s, article_id, today_in_city(s, now))
    _ = a.owner_unit  # loaded here: the page is drawn outside the session
    return a


@router.post("/help/articles/{article_id}/feedback", response_class=HTMLResponse)
async def help_feedback(
    request: Request, db: DB, clock: ClockDep, article_id: int = Id
) -> Response:
    """ "Did this answer your question?" — no account, nothing personal kept."""
    values = await form_dict(request)
    helpful = values.get("helpful") == "yes"
    q = values.get("q", "")[:MAX_QUERY]
    now = clock.now()

    def work(s: Session) -> None:
        a = public_article(s, article_id, today_in_city(s, now))
        record_feedback(s, a, helpful=helpful, query=q, now=now, channel="web")

    await write(db, work)
    from urllib.parse import urlencode

    back = urlencode(
        {"q": q, "seen": values.get("seen", "")[:200], "answered": "yes" if helpful else "no"}
    )
    return RedirectResponse(f"/help/articles/{article_id}?{back}", status_code=303)
