"""SQLite's two engines (storage.db): the writer runs its statements inline on the event loop
through one connection, so our own transactions never wait for each other's file lock; the
readers are threaded and read-only, so a long read leaves the loop free."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from storage import activity, archive
from storage.activity import Activity
from storage.db import create_engine, create_read_engine, migrate, session_factory
from storage.models import DraftActivity
from tests.test_archive import ALICE, T0, make_record


def _activity(i: int) -> Activity:
    return Activity(person_id=f"oa:o-{i}", subject_id=f"oa:o-{i}", draft_id=f"d{i}",
                    credit_code=None, answered=i % 31, total=31, started_at=T0,
                    last_active_at=T0)


async def test_many_writers_at_once_never_meet_the_file_lock(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/w.sqlite3")
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        # Two hundred writes at once (the pooled, threaded connections of before made some of
        # them wait on SQLite's lock with sleeps, and fail with "database is locked").
        await asyncio.gather(*(activity.record(sessions, _activity(i)) for i in range(200)))
        async with sessions() as session:
            assert (await session.execute(
                select(func.count()).select_from(DraftActivity))).scalar_one() == 200
        # The pool holds one connection: every session used it.
        assert engine.pool.size() == 1
    finally:
        await engine.dispose()


async def test_the_writer_runs_on_the_loop_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.sqlite3")
    seen: list[str] = []
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            driver._conn.create_function(  # type: ignore[attr-defined]
                "where_am_i", 0, lambda: seen.append(_thread_name()) or 1)
            await connection.execute(text("SELECT where_am_i()"))
        assert seen == [_thread_name()]
    finally:
        await engine.dispose()


def _thread_name() -> str:
    import threading
    return threading.current_thread().name


async def test_readers_are_read_only_and_see_what_the_writer_committed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/r.sqlite3"
    writer = create_engine(url)
    readers = create_read_engine(url)
    assert readers is not None
    try:
        await migrate(writer)
        await activity.record(session_factory(writer), _activity(1))
        async with session_factory(readers)() as session:
            assert (await session.execute(
                select(func.count()).select_from(DraftActivity))).scalar_one() == 1
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(text("DELETE FROM draft_activity"))
    finally:
        await writer.dispose()
        await readers.dispose()


async def test_a_long_read_leaves_the_loop_free(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/l.sqlite3"
    readers = create_read_engine(url)
    assert readers is not None
    ticks = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    # A query of about a second of SQLite's own work (a recursive count to some millions).
    slow = text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 3000000) SELECT count(*) FROM n")
    try:
        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        async with session_factory(readers)() as session:
            assert (await session.execute(slow)).scalar_one() == 3000000
        elapsed = time.monotonic() - started
        done.set()
        await ticker
        # The loop kept ticking while the read ran (inline it would have ticked once or twice).
        assert ticks >= max(3, int(elapsed / 0.01 / 4)), (ticks, elapsed)
    finally:
        await readers.dispose()


@pytest.mark.parametrize("url", [
    "sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:",
    "postgresql+asyncpg://u@127.0.0.1:1/x",
])
def test_no_readers_where_the_writer_must_read_too(url: str) -> None:
    # In memory, each connection would be a database of its own; PostgreSQL reads as it writes.
    assert create_read_engine(url) is None


async def _suspensions(coroutine: Coroutine[Any, Any, Any]) -> int:
    """How often `coroutine` gives the event loop a turn before it is done."""
    count = 0
    while True:
        try:
            waited = coroutine.send(None)
        except StopIteration:
            return count
        count += 1
        while waited is not None and not waited.done():
            await asyncio.sleep(0)


async def test_the_message_path_never_gives_the_loop_a_turn(tmp_path: Path) -> None:
    # Each turn would be a wait behind every other message the loop is serving (and AsyncSession
    # closes in a shielded task: two turns), so the chat's storage calls must take none on SQLite.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/m.sqlite3")
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        assert await _suspensions(activity.record(sessions, _activity(1))) == 0
        assert await _suspensions(archive.enterprise_profile(sessions, "none")) == 0
        assert await _suspensions(archive.record_with_history(sessions, make_record("d1"))) == 0
        # The same draft again: the lost race's path too.
        assert await _suspensions(archive.record_with_history(sessions, make_record("d1"))) == 0
        assert await _suspensions(archive.latest_results(sessions, person_id=ALICE)) == 0
    finally:
        await engine.dispose()
