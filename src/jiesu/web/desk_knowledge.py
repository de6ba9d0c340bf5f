"""The knowledge desk (知识库): articles with their status, owner and dates; writing and
editing them (every save a version, the history readable); the articles that have run out or
soon will, per owner unit; the questions callers keep asking that no article answers; and the
city's synonyms. For the knowledge owners: unit handlers (their own unit's articles),
supervisors and admins. Staff at the desks may read any article.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from jiesu.deps import DB, ClockDep, write
from jiesu.errors import JiesuError
from jiesu.kb import synonyms as synonym_store
from jiesu.kb.consult import consultation_counts, gaps
from jiesu.kb.importer import MAX_BYTES, FileResult, import_file
from jiesu.kb.markup import to_html
from jiesu.kb.models import ARTICLE_STATUSES, KbArticle
from jiesu.kb.present import today_in_city
from jiesu.kb.schemas import ArticleIn
from jiesu.kb.service import (
    EDITORS,
    ArticleFields,
    create_article,
    expiring,
    get_article,
    get_version,
    list_articles,
    may_edit,
    update_article,
)
from jiesu.people.service import Actor
from jiesu.web.forms import FormErrors, form_dict
from jiesu.web.render import render
from jiesu.web.requests import pickers
from jiesu.web.session import WebActor, need
from jiesu.workflow.models import ServiceRequest

router = APIRouter(include_in_schema=False)
READERS = ("operator", "dispatcher", "handler", "supervisor", "analyst", "admin")
SYNONYM_EDITORS = ("supervisor", "admin")
STATUS_NAMES = {
    "draft": ("草稿", "draft"),
    "published": ("已发布", "published"),
    "expired": ("已过期", "expired"),
}
Id = Path(ge=1, le=2_147_483_647)


def _own_unit(actor: Actor) -> int | None:
    return actor.unit_id if actor.role == "handler" else None


@router.get("/desk/knowledge", response_class=HTMLResponse)
async def knowledge_desk(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *EDITORS)
    status = request.query_params.get("status") or None
    status = status if status in ARTICLE_STATUSES else None
    now = clock.now()

    def work(s: Session) -> dict[str, Any]:
        today = today_in_city(s, now)
        since = now - timedelta(days=30)
        orders = s.scalar(
            select(func.count())
            .select_from(ServiceRequest)
            .where(ServiceRequest.received_at >= since, ServiceRequest.status != "answered")
        )
        articles = list_articles(s, status=status, unit_id=_own_unit(actor))
        for a in articles:
            _ = a.owner_unit  # loaded here: the page is drawn outside the session
        return {
            "articles": articles,
            "expiring": expiring(s, today, unit_id=_own_unit(actor)),
            "gaps": gaps(s, now=now),
            "consultations": consultation_counts(s, since),
            "work_orders": orders or 0,
        }

    data = await db.run_sync(work)
    return render(request, "staff/knowledge.html", status=status, statuses=STATUS_NAMES, **data)


def _fields(values: dict[str, str]) -> ArticleIn:
    def codes(name: str) -> list[str]:
        return [c.strip() for c in values.get(name, "").replace("，", ",").split(",") if c.strip()]

    data: dict[str, Any] = {
        "title": values.get("title", ""),
        "body": values.get("body", ""),
        "body_format": values.get("body_format") or "markdown",
        "owner_unit": values.get("owner_unit") or None,
        "categories": codes("categories"),
        "areas": codes("areas"),
        "valid_from": values.get("valid_from") or None,
        "valid_until": values.get("valid_until") or None,
        "status": values.get("status") or "draft",
        "note": values.get("note", ""),
    }
    return ArticleIn.model_validate(data)


def _values_of(a: KbArticle) -> dict[str, str]:
    return {
        "title": a.title,
        "body": a.body,
        "body_format": a.body_format,
        "owner_unit": a.owner_unit.code if a.owner_unit else "",
        "categories": ", ".join(a.categories or []),
        "areas": ", ".join(a.areas or []),
        "valid_from": a.valid_from.isoformat() if a.valid_from else "",
        "valid_until": a.valid_until.isoformat() if a.valid_until else "",
        "status": "draft" if a.status == "draft" else "published",
    }


async def _edit_page(
    request: Request,
    db: DB,
    *,
    article_id: int | None,
    values: dict[str, str] | None,
    errors: FormErrors,
    actor: Actor,
    status_code: int = 200,
) -> HTMLResponse:
    def work(s: Session) -> dict[str, Any]:
        a = get_article(s, article_id) if article_id else None
        if a is not None:
            _ = a.owner_unit  # loaded here: the page is drawn outside the session
        return {
            "article": a,
            "versions": list(a.versions) if a else [],
            "editable": may_edit(actor, a),
            "values": values if values is not None else (_values_of(a) if a else {}),
            "picks": pickers(s),
        }

    data = await db.run_sync(work)
    return render(
        request,
        "staff/knowledge_edit.html",
        status_code=status_code,
        errors=errors,
        statuses=STATUS_NAMES,
        **data,
    )


async def _save(
    request: Request, db: DB, actor: Actor, clock: ClockDep, article_id: int | None
) -> Response:
    values = await form_dict(request)
    errors = FormErrors()
    try:
        data = _fields(values)
    except ValidationError as exc:
        errors.from_validation(exc)
        return await _edit_page(request, db, article_id=article_id, values=values,
                                errors=errors, actor=actor, status_code=422)  # fmt: skip
    now = clock.now()

    def work(s: Session) -> int:
        today: date = today_in_city(s, now)
        f = ArticleFields.of(data)
        if article_id is None:
            return create_article(s, f, actor=actor, now=now, today=today).id
        a = get_article(s, article_id)
        return update_article(s, a, f, actor=actor, now=now, today=today).id

    try:
        saved = await write(db, work)
    except JiesuError as exc:
        if exc.status_code not in (403, 422):
            raise
        errors.from_error(exc)
        code = exc.status_code
        return await _edit_page(request, db, article_id=article_id, values=values,
                                errors=errors, actor=actor, status_code=code)  # fmt: skip
    return RedirectResponse(f"/desk/knowledge/{saved}?saved=1", status_code=303)


@router.get("/desk/knowledge/new", response_class=HTMLResponse)
async def new_article(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *EDITORS)
    return await _edit_page(
        request, db, article_id=None, values={}, errors=FormErrors(), actor=actor
    )


@router.post("/desk/knowledge/new", response_class=HTMLResponse)
async def create(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *EDITORS)
    return await _save(request, db, actor, clock, None)


MAX_UPLOADS = 50


@router.post("/desk/knowledge/import", response_class=HTMLResponse)
async def upload(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> HTMLResponse:
    """Files uploaded from the desk, imported exactly as `jiesu kb import` does; each file's
    outcome or problem is listed. An upload is known by its name: uploading it again makes a
    new version of the same article."""
    need(actor, *EDITORS)
    form = await request.form()
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    results: list[FileResult] = []
    with tempfile.TemporaryDirectory(prefix="jiesu-kb-") as tmp:
        staged: list[tuple[FilePath, str]] = []
        for i, f in enumerate(uploads[:MAX_UPLOADS]):
            name = FilePath(f.filename or "file").name[:200]
            data = await f.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                results.append(FileResult(name, "failed", problem=f"larger than {MAX_BYTES} bytes"))
                continue
            path = FilePath(tmp) / f"{i:03d}{FilePath(name).suffix.lower()}"
            path.write_bytes(data)
            staged.append((path, name))
        now = clock.now()

        def work(s: Session) -> list[FileResult]:
            today = today_in_city(s, now)
            return [
                import_file(
                    s,
                    path,
                    actor=actor,
                    now=now,
                    today=today,
                    source=f"upload:{name}",
                    shown_as=name,
                )
                for path, name in staged
            ]

        if staged:
            results.extend(await write(db, work))
    if len(uploads) > MAX_UPLOADS:
        results.append(
            FileResult(f"+{len(uploads) - MAX_UPLOADS}", "failed", problem="too many files at once")
        )
    status = 422 if not results or any(r.outcome == "failed" for r in results) else 200
    return render(request, "staff/knowledge_import.html", results=results, status_code=status)


@router.get("/desk/knowledge/synonyms", response_class=HTMLResponse)
async def synonyms_page(request: Request, db: DB, actor: WebActor) -> HTMLResponse:
    need(actor, *SYNONYM_EDITORS)
    text = await db.run_sync(lambda s: synonym_store.render(synonym_store.current(s)))
    return render(request, "staff/knowledge_synonyms.html", text=text, errors=FormErrors())


@router.post("/desk/knowledge/synonyms", response_class=HTMLResponse)
async def save_synonyms(request: Request, db: DB, actor: WebActor, clock: ClockDep) -> Response:
    need(actor, *SYNONYM_EDITORS)
    values = await form_dict(request)
    text = values.get("synonyms", "")
    errors = FormErrors()
    try:
        groups = synonym_store.parse(text)
    except JiesuError as exc:
        errors.from_error(exc)
        return render(request, "staff/knowledge_synonyms.html", text=text, errors=errors,
                      status_code=422)  # fmt: skip
    now = clock.now()
    await write(db, lambda s: synonym_store.replace(s, groups, actor=actor.name, now=now))
    return RedirectResponse("/desk/knowledge/synonyms?saved=1", status_code=303)


@router.get("/desk/knowledge/{article_id}", response_class=HTMLResponse)
async def article_page(
    request: Request, db: DB, actor: WebActor, article_id: int = Id
) -> HTMLResponse:
    need(actor, *READERS)
    return await _edit_page(
        request, db, article_id=article_id, values=None, errors=FormErrors(), actor=actor
    )


@router.post("/desk/knowledge/{article_id}", response_class=HTMLResponse)
async def edit_article(
    request: Request, db: DB, actor: WebActor, clock: ClockDep, article_id: int = Id
) -> Response:
    need(actor, *EDITORS)
    return await _save(request, db, actor, clock, article_id)


@router.get("/desk/knowledge/{article_id}/versions/{version}", response_class=HTMLResponse)
async def version_page(
    request: Request,
    db: DB,
    actor: WebActor,
    article_id: int = Id,
    version: int = Path(ge=1, le=1_000_000),
) -> HTMLResponse:
    need(actor, *READERS)

    def work(s: Session) -> dict[str, Any]:
        v = get_version(s, article_id, version)
        return {"v": v, "body_html": to_html(v.body, v.body_format)}

    data = await db.run_sync(work)
    return render(request, "staff/knowledge_version.html", **data)
