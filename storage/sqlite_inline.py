"""aiosqlite's connection without its thread: every call runs at once, on the event loop.

Why: a statement on our SQLite file takes tens of microseconds (a commit, with its fsync, under a
millisecond), while aiosqlite hands each call (cursor, execute, fetch, close: four per statement)
to the connection's thread and back. Under load each hand-over waits for the GIL, which a busy
event loop gives up only every switch interval (5 ms): a submission of a dozen statements took
hundreds of milliseconds, and the pool's many connections, each with its own thread, queued on
SQLite's file lock with sleeps in between. Run inline, a transaction whose statements are all
awaited back to back never yields to the loop, so the process's one connection (`storage.db`
makes it the only one) is its single writer: no lock waits between our own connections.

What it costs: the loop is busy while a statement runs, so long reads (figures, lists, audiences)
go to `storage.db.create_read_engine`'s threaded connections instead. Another process holding the
write lock (a console command) is waited for, on the loop, for up to the busy timeout.

SQLAlchemy's aiosqlite dialect takes this connection through `async_creator`; it also queues
work on the connection's `_tx` directly (its isolation-level setter) and stops the connection
through it, which `_AtOnce` runs at once too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite


class _AtOnce:
    """Stands in for aiosqlite's queue to its thread: runs each function as it is put."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the waiter, as the thread would
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An `aiosqlite.Connection` whose calls run on the calling thread, with no worker thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _AtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:  # the base class starts its thread here
        return self._connect().__await__()


def inline_creator(database: str, **connect_kwargs: Any) -> Callable[[], Any]:
    """An `async_creator` for SQLAlchemy: new inline connections to `database`."""

    async def create() -> InlineConnection:
        return await InlineConnection(partial(sqlite3.connect, database, **connect_kwargs))

    return create
