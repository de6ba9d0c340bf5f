"""The knowledge base at the operator's intake desk: as the caller's question is typed, the
best articles and similar past answers appear beside the form (HTMX, debounced), each with
its source and date. "Answered directly" records the contact as a consultation — not a work
order — with the article used; "no answer found" records the question for the knowledge
owners and leaves the form as it is, so the operator goes on to create the work order.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jiesu.deps import DB, ClockDep, write
from jiesu.errors import BadInput, JiesuError
from jiesu.kb.consult import GOOD_MATCH, record_consultation
from jiesu.kb.past import PastHit, similar_past_answers
from jiesu.kb.present import paths_for, today_in_city
from jiesu.kb.search import ArticleHit, search_articles
from jiesu.kb.service import get_article
from jiesu.web.forms import form_dict
from jiesu.web.phone_desk import DESK
from jiesu.web.render import render
from jiesu.web.session import WebActor, need

router = APIRouter(include_in_schema=False)
SHOWN = 5


def _match(values: dict[str, str]) -> float | None:
    """The best answer's match as the panel showed it; anything else is not recorded."""
    try:
        value = float(values["kb_top_match"]) if values.get("kb_top_match") else None
    except ValueError:
        return None
    return value if value is not None and 0.0 <= value <= 1.0 else None


@router.post("/desk/intake/kb", response_class=HTMLResponse)
async def knowledge_panel(
    request: Request, db: DB, actor: WebActor, clock: ClockDep
) -> HTMLResponse:
    need(actor, *DESK)
    values = await form_dict(request)
    text = values.get("text", "").strip()
    now = clock.now()

    def work(s: Session) -> tuple[list[ArticleHit], list[PastHit]]:
        if not text:
            return [], []
        cat, place = paths_for(s, values.get("category"), values.get("area"))
        hits = search_articles(
            s, text, today=today_in_city(s, now), limit=SHOWN, category_path=cat,
            area_path=place,
        )  # fmt: skip
        return hits, similar_past_answers(s, text, category_path=cat, area_path=place)

    hits, past = await db.run_sync(work)
    top = max([h.match for h in hits] + [h.match for h in past], default=None)
    return render(
        request,
        "staff/kb_panel.html",
        text=text,
        hits=hits,
        past=past,
        top_match=top,
        weak=top is None or top < GOOD_MATCH,
    )


async def _record(request: Request, db: DB, actor: WebActor, clock: ClockDep, outcome: str) -> int:
    values = await form_dict(request)
    now = clock.now()
    article_id = values.get("article_id", "")
    if article_id and not article_id.isdigit():
        raise BadInput("article_id", "not an article number")

    def work(s: Session) -> int:
        article = get_article(s, int(article_id)) if article_id else None
        c = record_consultation(
            s,
            question=values.get("text", ""),
            actor=actor,
            now=now,
            outcome=outcome,
            article=article,
            past_ticket=values.get("past_ticket") or None,
            top_match=_match(values),
            category_code=values.get("category") or None,
            area_code=values.get("area") or None,
        )
        return c.id

    return await write(db, work)


@router.post("/desk/intake/consult", response_class=HTMLResponse)
async def answered_directly(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    """The operator read an article (or a past answer) to the caller: a consultation."""
    need(actor, *DESK)
    consultation = await _record(request, db, actor, clock, "answered")
    return RedirectResponse(f"/desk/intake?consulted={consultation}", status_code=303)


@router.post("/desk/intake/no-answer", response_class=HTMLResponse)
async def no_answer_found(
    request: Request, db: DB, actor: WebActor, clock: ClockDep
) -> HTMLResponse:
    """Nothing in the knowledge base answers: recorded for the knowledge owners (HTMX)."""
    need(actor, *DESK)
    try:
        await _record(request, db, actor, clock, "no_answer")
    except JiesuError as exc:
        return render(request, "staff/kb_noted.html", problem=exc.message, status_code=422)
    return render(request, "staff/kb_noted.html", problem="")
