"""The aiohttp application behind `dxbot serve`: WeChat callback, resources, health checks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from bot.api.admin import add_admin_routes
from bot.api.admin_access import ADMIN_KEY, AdminAPI
from bot.api.area_report import ReportContext
from bot.api.miniprogram import API_KEY, MiniProgramAPI, add_mp_routes
from bot.api.openapi import openapi_document
from bot.chat.binding import Binder, bind_limiter
from bot.chat.commissioner_desk import CommissionerDesk
from bot.chat.effects import Effects
from bot.chat.matching import Matcher
from bot.chat.responder import OfficialAccountResponder
from bot.config import Settings
from bot.console.links import ConsoleLinks
from bot.console.pages import CONSOLE, Console, add_console_routes
from bot.health import READINESS, Readiness, passwords, readyz
from bot.report.charts import ResultCharts
from bot.report.links import ReportLinks
from bot.report.page import REPORT_PAGES, ReportPages, add_report_routes
from bot.translations import translator
from bot.wechat.callback import AFTER_REPLY_KEY, Responder, add_wechat_routes
from bot.wechat.client import WeChatClient
from bot.wechat.identity import OaIdentities
from bot.worker.notices import NoticeChannels, build_worker
from flows.indicators import DEFAULT_SET_ID, IndicatorSet, builtin_sets
from flows.profile import builtin_reference
from flows.state import Context
from storage.console_sessions import ConsoleStore
from storage.conversations import ConversationStore
from storage.db import create_engine, create_read_engine, migrate, session_factory
from storage.health import probe_engine
from storage.identities import SubjectAliases
from storage.mp_sessions import MpSessionStore, RateLimiter
from storage.redis_server import open_redis

log = logging.getLogger(__name__)

RESPONDER: web.AppKey[Responder] = web.AppKey("responder")
WORKER_TASK = web.AppKey("notice_worker", asyncio.Task[None])
SETTINGS = web.AppKey("settings", Settings)


def build_app(settings: Settings, *, sets: Mapping[str, IndicatorSet] | None = None,
              connect_args: Mapping[str, Any] | None = None) -> web.Application:
    """The application; Redis, the database and migrations start with it (cleanup_ctx).

    `connect_args` go to the database driver (asyncpg server settings, TLS options).
    """
    app = web.Application()
    app[SETTINGS] = settings
    ctx = Context(sets=sets or builtin_sets(), default_set=DEFAULT_SET_ID,
                  reference=builtin_reference(), tr=translator(settings.locale))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        redis, close_redis = await open_redis(settings)
        engine = create_engine(settings.database_url, connect_args=connect_args)
        readers = create_read_engine(settings.database_url)
        probes = probe_engine(settings.database_url, connect_args=connect_args)
        app[READINESS] = Readiness(redis, probes, hide=passwords(settings))
        http = aiohttp.ClientSession()
        base = settings.wechat_api_base
        oa_api = wechat_client(http, redis, base, settings.wechat_appid, settings.wechat_secret)
        mp_api = wechat_client(http, redis, base, settings.miniapp_appid,
                                settings.miniapp_secret)
        stop = asyncio.Event()
        store = ConversationStore(redis)
        charts: ResultCharts | None = None
        try:
            await migrate(engine)
            await store.load_scripts()
            sessions = session_factory(engine)
            # Long reads beside the writer where the database needs it (SQLite: off the loop).
            reads = sessions if readers is None else session_factory(readers)
            desk = CommissionerDesk(sessions, clock=time.time, reads=reads)
            binder = Binder(sessions, bind_limiter(redis), clock=time.time, desk=desk)
            matcher = Matcher(sessions, ctx.iset(None), clock=time.time)
            await matcher.pool()  # loaded now, not while the first result waits for it
            links = ReportLinks(sessions, settings.public_base,
                                days=settings.report_link_days, clock=time.time)
            pages = app[REPORT_PAGES] = ReportPages(ctx, links, reads, matcher,
                                                    default_locale=settings.locale)
            charts = (None if oa_api is None
                      else ResultCharts(oa_api, pages, locale=settings.locale))
            console_store = ConsoleStore(redis)
            effects = Effects(sessions, clock=time.time, matcher=matcher, desk=desk,
                              binder=binder, links=links,
                              console=ConsoleLinks(console_store, sessions,
                                                   settings.public_base))
            identities = OaIdentities(SubjectAliases(redis),
                                      unionid_of=oa_api.unionid_of if oa_api else None)
            responder = OfficialAccountResponder(ctx, store, effects, identities, charts=charts)
            answers: Responder = responder
            app[RESPONDER] = answers
            app[AFTER_REPLY_KEY] = responder.replied
            app[API_KEY] = MiniProgramAPI(
                ctx, store, effects, MpSessionStore(redis),
                RateLimiter(redis, limit=settings.mp_rate_limit),
                exchange=mp_api.jscode2session if mp_api else None)
            max_level = len(ctx.sets[ctx.default_set].level_rules)
            area_report = ReportContext(ctx.iset(None), ctx.reference, ctx.tr)
            app[ADMIN_KEY] = AdminAPI(settings.admin_token, sessions, ctx.reference,
                                      ctx.tr, max_level=max_level, reads=reads,
                                      report=area_report)
            app[CONSOLE] = Console(console_store, sessions, reads, area_report,
                                   secure=settings.public_base.startswith("https:"),
                                   default_locale=settings.locale)
            if settings.notice_worker:
                channels = NoticeChannels(oa_api, mp_api, settings.notice_oa_template or None,
                                          settings.notice_mp_template or None)
                worker = build_worker(sessions, redis, channels, ctx.tr, settings, reads=reads)
                app[WORKER_TASK] = asyncio.create_task(worker.run(stop))
            yield
        finally:
            stop.set()
            task = app.get(WORKER_TASK)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if charts is not None:
                await charts.aclose()
            if REPORT_PAGES in app:
                app[REPORT_PAGES].renderer.close()
            await http.close()
            await probes.dispose()
            await engine.dispose()
            if readers is not None:
                await readers.dispose()
            await store.aclose()
            await close_redis()

    app.cleanup_ctx.append(resources)
    add_wechat_routes(app, token=settings.wechat_token, appid=settings.wechat_appid,
                      aes_key=settings.wechat_aes_key, responder_key=RESPONDER)
    add_mp_routes(app)
    add_admin_routes(app)
    add_report_routes(app)
    add_console_routes(app)
    app.router.add_get("/api/openapi.json", _openapi)
    app.router.add_get("/healthz", _health)  # liveness: the process answers, nothing more
    app.router.add_get("/readyz", readyz)
    return app


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def wechat_client(http: aiohttp.ClientSession, redis: aioredis.Redis, base: str, appid: str,
                   secret: str) -> WeChatClient | None:
    """A client for an app whose credentials are configured (None: that channel has no API)."""
    if not (appid and secret):
        return None
    return WeChatClient(http, redis, base=base, appid=appid, secret=secret)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not settings.wechat_token:
        log.warning("DXBOT_WECHAT_TOKEN is empty: set it to the Token of the Official Account "
                    "(the callback rejects every request whose signature does not match)")
    # No access log: WeChat's query strings carry the user's openid, and a reverse proxy in
    # front logs requests anyway. uvloop where available: the callback is loop-bound.
    app = build_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    web.run_app(app, host=settings.host, port=settings.port, access_log=None,
                loop=new_event_loop(), print=lambda text: log.info("%s", text.strip()))


async def _freeze_startup_objects(app: web.Application) -> None:
    # Indicator sets, catalogs and libraries live for the whole process: keep the collector
    # from walking them again on every full collection.
    gc.collect()
    gc.freeze()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is built (the callback and the notice sends are loop-bound), else the
    standard loop, which works the same."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
