"""`dxbot worker`: the notice worker as a process of its own (several may run on several
machines against the same Redis and database); stops cleanly on SIGINT/SIGTERM.

Probes (see bot.health): `dxbot worker --check` runs the readiness checks once and exits (for a
Docker HEALTHCHECK or a monitoring script: no port needed); with a health port
(DXBOT_WORKER_HEALTH_PORT or --health-port) the running worker serves /healthz (its loop turns)
and /readyz (Redis and the database answer), for Kubernetes' httpGet probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from bot.app import new_event_loop, wechat_client
from bot.config import Settings
from bot.health import Heartbeat, Readiness, passwords, worker_health_app
from bot.translations import translator
from bot.worker.notices import NoticeChannels, build_worker
from storage.db import create_engine, migrate, session_factory
from storage.health import OK, database_answers, probe_engine, run_checks
from storage.redis_server import open_redis

log = logging.getLogger(__name__)


def run(settings: Settings, *, check: bool = False) -> int:
    if check:
        return asyncio.run(_check(settings))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_run(settings))


async def _check(settings: Settings) -> int:
    """One line per part ("redis: ok", "database: failed: ..."); 0 when every part answers."""
    engine = probe_engine(settings.database_url)

    async def reach_redis() -> None:
        _client, close = await open_redis(settings)  # pings; the same client the worker uses
        await close()

    try:
        checks = await run_checks({"redis": reach_redis,
                                   "database": lambda: database_answers(engine)},
                                  hide=passwords(settings))
    finally:
        await engine.dispose()
    for name, status in checks.items():
        print(f"{name}: {status}")
    return 0 if all(status == OK for status in checks.values()) else 1


async def _run(settings: Settings) -> int:
    redis, close_redis = await open_redis(settings)
    engine = create_engine(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await migrate(engine)
        async with aiohttp.ClientSession() as http:
            base = settings.wechat_api_base
            channels = NoticeChannels(
                wechat_client(http, redis, base, settings.wechat_appid, settings.wechat_secret),
                wechat_client(http, redis, base, settings.miniapp_appid,
                              settings.miniapp_secret),
                settings.notice_oa_template or None, settings.notice_mp_template or None)
            worker = build_worker(
                session_factory(engine), redis, channels, translator(settings.locale), settings)
            async with _health_port(settings, redis, worker.heartbeat) as listening:
                if not listening:
                    return 1
                log.info("notice worker %s started", worker.name)
                await worker.run(stop)
                log.info("notice worker %s stopped", worker.name)
    finally:
        await engine.dispose()
        await close_redis()
    return 0


@contextlib.asynccontextmanager
async def _health_port(settings: Settings, redis: aioredis.Redis,
                       heartbeat: Heartbeat) -> AsyncIterator[bool]:
    """The worker's /healthz and /readyz while it runs, when a port is set; False when the
    port cannot be had (the worker does not start: its probes would fail anyway)."""
    port = settings.worker_health_port
    if not port:
        yield True
        return
    engine = probe_engine(settings.database_url)
    runner = web.AppRunner(worker_health_app(Readiness(redis, engine, passwords(settings)),
                                             heartbeat), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.host, port).start()
        except OSError as exc:
            print(f"dxbot worker: health port {port}: {exc.strerror}", file=sys.stderr)
            yield False
            return
        log.info("health checks at http://%s:%d/healthz and /readyz", settings.host, port)
        yield True
    finally:
        await runner.cleanup()
        await engine.dispose()
