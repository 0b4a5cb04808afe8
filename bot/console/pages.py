"""`/console`: sign-in with a one-time link, the session cookie, CSRF, sign-out, the overview.

Sign-in: a link (`/console/sign-in/<token>`, from the chat's 后台 or `dxbot console-link`)
shows one button; pressing it (a POST, so that a link previewer fetching the page cannot use it
up) takes the link, once, and starts a session in Redis. The cookie is HttpOnly, SameSite=Lax,
and Secure when the bot is reached over HTTPS (DXBOT_PUBLIC_URL). Every form carries the
session's CSRF token; a POST without it changes nothing. A commissioner's area is read from the
archive at every request: whatever the URL or a form says, the console shows, counts and
exports nothing outside it.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from bot.api.area_report import ReportContext, area_statistics, export_workbook, statistics_view
from bot.chat.commissioner_desk import nudge_area
from bot.console import STATIC, TEMPLATES
from bot.templating import Templates, page_headers
from bot.translations import SUPPORTED, translator
from flows.beijing_time import china_day, china_minute
from flows.commissioners import Scope, area_text
from flows.i18n import N_, Translator
from flows.leads import STATUS_TITLES as LEAD_STATUS_TITLES
from flows.profile import parse_credit_code
from flows.scoring import number_text
from flows.statuses import STATUS_TITLES, STATUSES, Status
from storage import commissioners, enterprise_status
from storage.console_sessions import ConsoleSession, ConsoleStore
from storage.db import Sessions
from storage.enterprise_file import enterprise_file
from storage.enterprise_status import Filters

COOKIE = "dxbot_console"
CONSOLE: web.AppKey[Console] = web.AppKey("console")

_HEADERS = page_headers(forms=True)


@dataclass(frozen=True)
class Signed:
    """A live session and the area it reaches (None: the whole province)."""

    session: ConsoleSession
    token: str
    scope: Scope | None

    @property
    def name(self) -> str:
        return self.session.user.name


class Console:
    def __init__(self, store: ConsoleStore, sessions: Sessions, reads: Sessions,
                 report: ReportContext, *, secure: bool, default_locale: str) -> None:
        self.store = store
        self.sessions = sessions
        self.reads = reads
        self.report = report
        self.secure = secure
        self.default_locale = default_locale
        self.templates = Templates(TEMPLATES)

    def locale(self, request: web.Request) -> str:
        asked = request.query.get("lang") or request.cookies.get("dxbot_lang")
        return asked if asked in SUPPORTED else self.default_locale

    def page(self, request: web.Request, template: str, *, status: int = 200,
             **values: object) -> web.Response:
        locale = self.locale(request)
        body = self.templates.render(template, locale, **values)
        response = web.Response(status=status, text=body, content_type="text/html",
                                charset="utf-8", headers=_HEADERS)
        if request.query.get("lang") in SUPPORTED:
            response.set_cookie("dxbot_lang", locale, httponly=True, samesite="Lax",
                                secure=self.secure, path="/console")
        return response

    async def signed(self, request: web.Request) -> Signed | None:
        token = request.cookies.get(COOKIE, "")
        session = await self.store.session(token)
        if session is None:
            return None
        user = session.user
        if user.commissioner_id is None:
            return Signed(session, token, None)
        found = await commissioners.get(self.reads, user.commissioner_id)
        if found is None:
            return None
        return Signed(session, token, found.scope)

    async def require(self, request: web.Request) -> Signed:
        signed = await self.signed(request)
        if signed is None:
            raise web.HTTPSeeOther("/console/signed-out")
        return signed

    async def check_csrf(self, request: web.Request, signed: Signed) -> MultiDictProxy[Any]:
        """The form, when it carries the session's CSRF token; 403 and nothing done when not."""
        form = await request.post()
        given = form.get("csrf")
        if not isinstance(given, str) or not hmac.compare_digest(given, signed.session.csrf):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
        return form


async def sign_in_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    return console.page(request, "sign_in.html", token=request.match_info["token"])


async def sign_in(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    form = await request.post()
    token = form.get("token")
    user = await console.store.use_link(token) if isinstance(token, str) else None
    if user is None:
        return console.page(request, "link_refused.html", status=403)
    session = await console.store.new_session(user)
    response = web.HTTPSeeOther("/console")
    response.set_cookie(COOKIE, session, httponly=True, samesite="Lax", secure=console.secure,
                        path="/console", max_age=None)
    raise response


async def sign_out(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    signed = await console.require(request)
    await console.check_csrf(request, signed)
    await console.store.end(signed.token)
    response = web.HTTPSeeOther("/console/signed-out")
    response.del_cookie(COOKIE, path="/console")
    raise response


async def signed_out(request: web.Request) -> web.Response:
    return request.app[CONSOLE].page(request, "signed_out.html")


async def overview(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    signed = await console.require(request)
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    stats = await area_statistics(console.reads, signed.scope, now, console.report)
    view = statistics_view(stats, signed.scope, now, console.report)
    tr = translator(console.locale(request))
    return console.page(request, "overview.html", signed=signed, area=_area(tr, signed), s=view)


PAGE_SIZE = 50
MAX_NUDGED = PAGE_SIZE  # enterprises per 催办 from the list (what one page can select)


def _list_query(console: Console, query: Mapping[str, str]) -> tuple[
        Status | None, Filters, int]:
    """The list's status, filters and page from the URL; anything malformed is left open."""
    status = query.get("status", "")
    level = query.get("level", "")
    page = query.get("page", "")
    industry = query.get("industry", "")
    filters = Filters(
        county=query.get("county", "").strip()[:32] or None,
        industry=industry if industry in console.report.industry_names() else None,
        level=int(level) if level.isdigit() and int(level) in console.report.level_names()
        else None,
        search=query.get("q", "").strip()[:40] or None)
    number = int(page) if page.isdigit() and 0 < len(page) <= 6 else 1
    return (status if status in STATUSES else None), filters, max(number, 1)


async def enterprises(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    signed = await console.require(request)
    status, filters, page = _list_query(console, request.query)
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    rows, total = await enterprise_status.listing(
        console.reads, signed.scope, status, now, offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE, filters=filters)
    tr = translator(console.locale(request))
    pages = max(1, -(-total // PAGE_SIZE))
    kept = {k: v for k, v in request.query.items() if k in ("status", "county", "industry",
                                                               "level", "q") and v}
    return console.page(
        request, "enterprises.html", signed=signed, area=_area(tr, signed), rows=rows,
        total=total, page=page, pages=pages, chosen=status or "", filters=filters,
        statuses={s: tr.gettext(STATUS_TITLES[s]) for s in STATUSES},
        levels=console.report.level_names(), industries=console.report.industry_names(),
        link=lambda n: "/console/enterprises?" + urlencode({**kept, "page": n}),
        can_nudge=signed.session.user.commissioner_id is not None)


async def nudge(request: web.Request) -> web.Response:
    """催办 the selected enterprises, with the chat's rules (within the area, once in three
    days, not the submitted ones); commissioners only, as in the chat and the API."""
    console = request.app[CONSOLE]
    signed = await console.require(request)
    form = await console.check_csrf(request, signed)
    tr = translator(console.locale(request))
    commissioner_id = signed.session.user.commissioner_id
    if commissioner_id is None:
        return console.page(request, "nudged.html", status=403, signed=signed,
                            area=_area(tr, signed), report=None)
    found = await commissioners.get(console.sessions, commissioner_id)
    assert found is not None  # `require` just read it
    codes = [c for c in (parse_credit_code(str(v)) for v in form.getall("code", []))
             if isinstance(c, str)][:MAX_NUDGED]
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    total = {"asked": len(codes), "nudged": 0, "people": 0, "recent": 0, "no_contact": 0,
             "submitted": 0, "outside": 0}
    for code in dict.fromkeys(codes):
        done = await nudge_area(console.sessions, found, code, now)
        if not done.found:
            total["outside"] += 1
            continue
        for key in ("nudged", "people", "recent", "no_contact", "submitted"):
            total[key] += getattr(done, key)
    return console.page(request, "nudged.html", signed=signed, area=_area(tr, signed),
                        report=total)


SIGN_UP_TITLES = {"registered": N_("sign-up: registered"),
                  "waitlisted": N_("sign-up: on the waiting list"),
                  "cancelled": N_("sign-up: cancelled")}


async def enterprise_page(request: web.Request) -> web.Response:
    """一企一档: one enterprise of the area; anything outside it (or unknown) is 404 alike."""
    console = request.app[CONSOLE]
    signed = await console.require(request)
    tr = translator(console.locale(request))
    code = parse_credit_code(request.match_info["code"])
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    found = (None if not isinstance(code, str)
             else await enterprise_file(console.reads, code, signed.scope, now))
    if found is None:
        return console.page(request, "no_enterprise.html", status=404, signed=signed,
                            area=_area(tr, signed))
    return console.page(
        request, "enterprise.html", signed=signed, area=_area(tr, signed), e=found,
        industry=console.report.reference.industry_name(found.industry,
                                                        found.industry_division),
        lead_titles={k: tr.gettext(v) for k, v in LEAD_STATUS_TITLES.items()},
        sign_up_titles={k: tr.gettext(v) for k, v in SIGN_UP_TITLES.items()},
        dims=console.report.dimension_names(), day=china_day, minute=china_minute,
        number=number_text)


async def export(request: web.Request) -> web.Response:
    """The area's Excel file, as the admin API's export gives it (the area is the session's)."""
    console = request.app[CONSOLE]
    signed = await console.require(request)
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    body = await export_workbook(console.reads, signed.scope, now, console.report)
    name = f"dx-export-{now.strftime('%Y%m%d-%H%M')}.xlsx"
    return web.Response(body=body, headers={
        **_HEADERS, "Content-Type": XLSX,
        "Content-Disposition": f'attachment; filename="{name}"'})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _area(tr: Translator, signed: Signed) -> str:
    return tr.gettext("the whole province") if signed.scope is None else area_text(signed.scope)


def add_console_routes(app: web.Application) -> None:
    app.router.add_get("/console", overview)
    app.router.add_get("/console/enterprises", enterprises)
    app.router.add_post("/console/enterprises/nudge", nudge)
    app.router.add_get("/console/enterprises/{code}", enterprise_page)
    app.router.add_get("/console/export.xlsx", export)
    app.router.add_get("/console/sign-in/{token}", sign_in_page)
    app.router.add_post("/console/sign-in", sign_in)
    app.router.add_post("/console/sign-out", sign_out)
    app.router.add_get("/console/signed-out", signed_out)
    app.router.add_static("/console/static/", STATIC, append_version=False)
