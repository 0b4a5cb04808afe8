"""Lua scripts called on the message path without redis-py's per-call machinery.

Every ordinary message runs two scripts (`storage.conversations`). Through `Redis.evalsha` each
call checks out a pooled connection (which probes the socket for stray data), goes through the
retry helper, and arms a timer around the send and another around the read: about a third of
the chat's CPU. Here a call takes one of a few connections of its own — created as the client's
pool would create them, but with no socket timeout of their own — sends the one command, reads
the reply, all under a single deadline, and puts the connection back. What it gives up is only
that probing: a connection is returned only after its reply was read whole, and any error or
timeout closes it, so the next call never finds stray data on it.

A dropped connection is retried once on a new one, as the client's retry policy would do (the
commit script is written to be safe when its first attempt did reach Redis). A script the
server does not know (after its restart or SCRIPT FLUSH) is loaded and the call sent again.
Single-node Redis only; the client's pool keeps serving every other command.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

MAX_IDLE = 32  # connections kept between calls; more are opened while more calls are at once


class Script:
    """One Lua script, called by its SHA-1 (`ScriptRunner.call`)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()


class ScriptRunner:
    """Calls `Script`s over connections of its own to the server of `client`."""

    def __init__(self, client: aioredis.Redis, *, timeout: float | None = None) -> None:
        pool = client.connection_pool
        self._make = pool.connection_class
        kwargs = dict(pool.connection_kwargs)
        # One deadline per call instead: the client's socket timeout by default (none without).
        self.timeout: float | None = (timeout if timeout is not None
                                      else kwargs.get("socket_timeout"))
        kwargs["socket_timeout"] = None
        self._kwargs = kwargs
        self._idle: deque[AbstractConnection] = deque()
        self._closed = False

    async def call(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self._once(command)
        except NoScriptError:
            await self._once(("SCRIPT", "LOAD", script.source))
            return await self._once(command)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            return await self._once(command)  # on a fresh connection, as the client would

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            await self._idle.pop().disconnect()

    async def _once(self, command: tuple[Any, ...]) -> Any:
        connection = self._idle.pop() if self._idle else self._make(**self._kwargs)
        try:
            async with asyncio.timeout(self.timeout):
                if not connection.is_connected:
                    await connection.connect()
                await connection.send_packed_command(connection.pack_command(*command),
                                                     check_health=False)
                reply = await connection.read_response()
        except ResponseError:  # an error reply read whole: the connection itself is fine
            await self._put_back(connection)
            raise
        except TimeoutError:  # asyncio.timeout's
            await connection.disconnect(nowait=True)
            raise RedisTimeoutError(f"no reply from Redis within {self.timeout} s") from None
        except BaseException:
            # A reply may be half read (or the send half done): this connection is not reused.
            await connection.disconnect(nowait=True)
            raise
        await self._put_back(connection)
        return reply

    async def _put_back(self, connection: AbstractConnection) -> None:
        if self._closed or len(self._idle) >= MAX_IDLE:
            await connection.disconnect()  # rare: after a burst, or once closed
        else:
            self._idle.append(connection)
