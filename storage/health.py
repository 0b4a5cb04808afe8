"""Whether Redis and the database answer now: the readiness checks of `dxbot serve` and
`dxbot worker`. Each check has a short timeout of its own, so a hung server cannot hang a probe,
and all run at once. A failure is one short line (the error's type and first line), with the
given secrets masked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from storage.redis_server import RedisStartError

CHECK_TIMEOUT_SECONDS = 2.0
OK = "ok"
REASON_MAX = 200  # characters of an error kept in a check's answer
_MASK = "***"

Check = Callable[[], Awaitable[object]]


def probe_engine(url: str, *, connect_args: Mapping[str, Any] | None = None) -> AsyncEngine:
    """An engine for database checks only. Its own connection per check (no pool): it tells
    whether the database takes a connection now, without queueing behind the app's pool nor
    reusing a connection to a SQLite file that has gone; and it creates no directory."""
    return create_async_engine(url, poolclass=NullPool, connect_args=dict(connect_args or {}))


async def redis_answers(redis: aioredis.Redis) -> None:
    await redis.ping()  # type: ignore[misc]  # redis-py: "awaitable or value"


async def database_answers(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def run_checks(checks: Mapping[str, Check], *, timeout: float = CHECK_TIMEOUT_SECONDS,
                     hide: Collection[str] = ()) -> dict[str, str]:
    """Each check's "ok" or "failed: reason", in the order given."""
    results = await asyncio.gather(*(_run(check, timeout, hide) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


async def _run(check: Check, timeout: float, hide: Collection[str]) -> str:
    try:
        async with asyncio.timeout(timeout):
            await check()
    except TimeoutError:
        return f"failed: no answer within {timeout:g} s"
    except Exception as exc:  # whatever the driver raises, the probe answers
        return "failed: " + _mask(_reason(exc), hide)
    return OK


def _reason(exc: BaseException) -> str:
    # The driver's own error, not SQLAlchemy's wrapper (which adds the statement and a link);
    # the cause of RedisStartError, whose own text repeats what the setting is.
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    elif isinstance(exc, RedisStartError) and exc.__cause__ is not None:
        exc = exc.__cause__
    lines = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return reason[:REASON_MAX]


def _mask(reason: str, hide: Collection[str]) -> str:
    for secret in hide:
        if secret:
            reason = reason.replace(secret, _MASK)
    return reason
