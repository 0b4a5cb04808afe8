"""`dxbot worker`: the notice worker as a process of its own (several may run on several
machines against the same Redis and database); stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp

from bot.app import new_event_loop, wechat_client
from bot.config import Settings
from bot.translations import translator
from bot.worker.notices import NoticeChannels, build_worker
from storage.db import create_engine, migrate, session_factory
from storage.redis_server import open_redis

log = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(_run(settings))


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
            log.info("notice worker %s started", worker.name)
            await worker.run(stop)
            log.info("notice worker %s stopped", worker.name)
    finally:
        await engine.dispose()
        await close_redis()
    return 0
