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
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from bot.api.area_report import ReportContext, area_statistics, statistics_view
from bot.console import STATIC, TEMPLATES
from bot.templating import environment
from bot.translations import SUPPORTED, translator
from flows.commissioners import Scope, area_text
from storage import commissioners
from storage.console_sessions import ConsoleSession, ConsoleStore
from storage.db import Sessions

COOKIE = "dxbot_console"
CONSOLE: web.AppKey[Console] = web.AppKey("console")

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


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
                 report: ReportContext, *, secure: bool, default_locale: str,
                 ) -> None:
        self.store = store
        self.sessions = sessions
        self.reads = reads
        self.report = report
        self.secure = secure
        self.default_locale = default_locale
        self.templates = {locale: environment(TEMPLATES, translator(locale))
                          for locale in SUPPORTED}

    def locale(self, request: web.Request) -> str:
        asked = request.query.get("lang") or request.cookies.get("dxbot_lang")
        return asked if asked in SUPPORTED else self.default_locale

    def page(self, request: web.Request, template: str, *, status: int = 200,
             **values: object) -> web.Response:
        locale = self.locale(request)
        body = self.templates[locale].get_template(template).render(
            lang="zh-CN" if locale == "zh_CN" else locale, **values)
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

    async def check_csrf(self, request: web.Request, signed: Signed) -> dict[str, str]:
        form = await request.post()
        given = form.get("csrf")
        if not isinstance(given, str) or not hmac.compare_digest(given, signed.session.csrf):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
        return {k: v for k, v in form.items() if isinstance(v, str)}


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
    area = tr.gettext("the whole province") if signed.scope is None else area_text(signed.scope)
    return console.page(request, "overview.html", signed=signed, area=area, s=view)


def add_console_routes(app: web.Application) -> None:
    app.router.add_get("/console", overview)
    app.router.add_get("/console/sign-in/{token}", sign_in_page)
    app.router.add_post("/console/sign-in", sign_in)
    app.router.add_post("/console/sign-out", sign_out)
    app.router.add_get("/console/signed-out", signed_out)
    app.router.add_static("/console/static/", STATIC, append_version=False)
