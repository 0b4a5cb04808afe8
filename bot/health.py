"""Probes for operators. `dxbot serve`: `/healthz` (liveness: the process answers) and
`/readyz` (readiness: Redis answers PING and the database a query). `dxbot worker`, which
serves nothing else, on its health port: `/healthz` (its loop made a round within
STALL_SECONDS) and the same `/readyz`; and `dxbot worker --check` (the readiness checks once).

Bodies are JSON for machines, in English, like every probe's: {"status": "ok"|"unavailable",
"checks": {"redis": "ok", "database": "failed: <reason>"}}. A failure is logged as a warning;
neither carries a password.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from storage.health import (
    CHECK_TIMEOUT_SECONDS,
    OK,
    database_answers,
    redis_answers,
    run_checks,
)

log = logging.getLogger(__name__)

# A round takes about a second when idle; a busy one sends a few chunks, each bounded by
# WeChat's timeout, the back-off of retries (30 s at most) and the shared send rate.
STALL_SECONDS = 300.0


@dataclass(frozen=True)
class Readiness:
    """The readiness checks on a process's own Redis client and a probe engine."""

    redis: aioredis.Redis
    engine: AsyncEngine  # storage.health.probe_engine: a connection of its own per check
    hide: tuple[str, ...] = ()  # secrets that must not appear in a reason
    timeout: float = CHECK_TIMEOUT_SECONDS

    async def checks(self) -> dict[str, str]:
        return await run_checks({"redis": lambda: redis_answers(self.redis),
                                 "database": lambda: database_answers(self.engine)},
                                timeout=self.timeout, hide=self.hide)


class Heartbeat:
    """When a loop last made a round (monotonic seconds); it counts from its creation."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.at = clock()

    def beat(self) -> None:
        self.at = self.clock()

    def age(self) -> float:
        return self.clock() - self.at


READINESS = web.AppKey("readiness", Readiness)
HEARTBEAT = web.AppKey("heartbeat", Heartbeat)


def passwords(settings: Settings) -> tuple[str, ...]:
    """The URL passwords of the settings, as written and decoded: kept out of every reason."""
    found: set[str] = set()
    for url in (settings.database_url, settings.redis_url or ""):
        raw = urlsplit(url).password
        if raw:
            found |= {raw, unquote(raw)}
    return tuple(found)


async def readyz(request: web.Request) -> web.Response:
    checks = await request.app[READINESS].checks()
    failed = {name: status for name, status in checks.items() if status != OK}
    for name, status in failed.items():
        log.warning("not ready: %s: %s", name, status)
    if failed:
        return web.json_response({"status": "unavailable", "checks": checks}, status=503)
    return web.json_response({"status": "ok", "checks": checks})


async def worker_healthz(request: web.Request) -> web.Response:
    age = round(request.app[HEARTBEAT].age(), 1)
    if age > STALL_SECONDS:
        log.warning("not alive: the notice worker made no round for %.0f s", age)
        return web.json_response({"status": "stalled", "seconds_since_round": age}, status=503)
    return web.json_response({"status": "ok", "seconds_since_round": age})


def worker_health_app(readiness: Readiness, heartbeat: Heartbeat) -> web.Application:
    """What `dxbot worker` serves on its health port."""
    app = web.Application()
    app[READINESS] = readiness
    app[HEARTBEAT] = heartbeat
    app.router.add_get("/healthz", worker_healthz)
    app.router.add_get("/readyz", readyz)
    return app
