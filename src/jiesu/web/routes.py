"""Everything the web serves: pages of each desk, static files, and HTML error pages."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from jiesu.errors import JiesuError
from jiesu.web import (
    account,
    auth,
    call_desk,
    citizen,
    consult,
    desk_admin,
    desk_admin_pack,
    desk_admin_sensors,
    desk_audit,
    desk_callers,
    desk_consult,
    desk_dispatch,
    desk_equity,
    desk_heat,
    desk_hot,
    desk_outbox,
    desk_overview,
    desk_rates,
    desk_reports,
    desk_surge,
    desk_topics,
    desk_unit,
    desk_warnings,
    dispatch_desk,
    evidence,
    phone_desk,
    requests,
    review_desk,
    stats,
    unit_desk,
)
from jiesu.web.desk_knowledge import router as knowledge_desk
from jiesu.web.kb_intake import router as knowledge_at_intake
from jiesu.web.render import HERE, render, safe_next
from jiesu.web.self_service import router as self_service_pages
from jiesu.web.session import SECOND_FACTOR_PAGE, EnrolmentNeeded, SignInNeeded

router = APIRouter(include_in_schema=False)
for _r in (
    auth.router,
    account.router,
    citizen.router,
    stats.router,
    self_service_pages,
    knowledge_desk,
    knowledge_at_intake,
    requests.router,
    dispatch_desk.router,
    unit_desk.router,
    phone_desk.router,
    call_desk.router,
    review_desk.router,
    desk_overview.router,
    desk_heat.router,
    desk_hot.router,
    desk_rates.router,
    desk_reports.router,
    desk_topics.router,
    desk_warnings.router,
    desk_surge.router,
    desk_callers.router,
    desk_admin.router,
    desk_admin_pack.router,
    desk_admin_sensors.router,
    desk_dispatch.router,
    desk_unit.router,
    evidence.router,
    desk_outbox.router,
    consult.router,
    desk_consult.router,
    desk_audit.router,
    desk_equity.router,
):
    router.include_router(_r)

# Not pages: the API and Open311 answer errors as JSON, whatever asked.
NOT_WEB = ("/api/", "/open311/", "/docs", "/openapi.json", "/redoc")

TITLES: dict[int, tuple[str, str]] = {
    401: ("请先登录", "Please sign in"),
    403: ("无权进行此操作", "Not allowed"),
    404: ("找不到该页面", "Not found"),
    409: ("当前状态下不能这样操作", "Not possible in the current state"),
    410: ("链接已失效", "This link is no longer valid"),
    422: ("填写有误", "Something is wrong in what was sent"),
}


def is_web(request: Request) -> bool:
    return not request.url.path.startswith(NOT_WEB)


def error_page(request: Request, exc: JiesuError) -> Response:
    if isinstance(exc, SignInNeeded):
        return RedirectResponse(f"/login?next={safe_next(exc.next_path)}", status_code=303)
    if isinstance(exc, EnrolmentNeeded):
        return RedirectResponse(SECOND_FACTOR_PAGE, status_code=303)
    zh, en = TITLES.get(exc.status_code, ("出错了", "Something went wrong"))
    title = en if request.cookies.get("jiesu_lang") == "en" else zh
    referer = request.headers.get("referer", "")
    back = safe_next(referer.removeprefix(str(request.base_url).rstrip("/")), "/")
    return render(
        request,
        "error.html",
        status_code=exc.status_code,
        title=title,
        message=exc.message if exc.status_code < 500 else title,
        fields=exc.fields,
        allowed=exc.extra.get("allowed_actions") or [],
        back=back,
    )


class _Invalid(JiesuError):
    status_code = 422
    code = "bad_input"


def validation_page(request: Request, exc: RequestValidationError) -> Response:
    fields = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or "input", "problem": e["msg"]}
        for e in exc.errors()
    ]
    return error_page(request, _Invalid("; ".join(f["problem"] for f in fields), fields=fields))


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
