"""A TCP forwarder on a loopback port in front of a real server (Redis, PostgreSQL), to take that
server away in the middle of a test: `close()` cuts every connection and closes the port (the
server is gone), `stall()` keeps the connections but forwards nothing more (the server hangs)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import make_url

from tests.redis_fixtures import TEST_REDIS_URL_VAR

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Proxy:
    def __init__(self, connect: Callable[[], Awaitable[Streams]]) -> None:
        self._connect = connect
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stall(self) -> None:
        self._flowing.clear()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._flowing.set()  # let the held pumps see their closed ends
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await self._connect()
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer),
                             return_exceptions=True)
        for end in (writer, up_writer):
            end.close()
            self._writers.discard(end)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()


async def redis_proxy(redis_socket: str | None) -> tuple[Proxy, str]:
    """A proxy in front of the tests' Redis, and the URL that reaches it through the proxy."""
    url = os.environ.get(TEST_REDIS_URL_VAR)
    if not url:
        assert redis_socket is not None
        proxy = await Proxy(lambda: asyncio.open_unix_connection(redis_socket)).start()
        return proxy, f"redis://127.0.0.1:{proxy.port}/0"
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    proxy = await Proxy(lambda: asyncio.open_connection(host, port)).start()
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    return proxy, urlunsplit(parts._replace(netloc=netloc))


async def postgres_proxy(url: str) -> tuple[Proxy, str]:
    """A proxy in front of the PostgreSQL server of `url`, and the URL through the proxy."""
    parsed = make_url(url)
    host, port = parsed.host or "127.0.0.1", parsed.port or 5432
    proxy = await Proxy(lambda: asyncio.open_connection(host, port)).start()
    through = parsed.set(host="127.0.0.1", port=proxy.port)
    return proxy, through.render_as_string(hide_password=False)
