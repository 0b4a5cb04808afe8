"""Database plumbing shared by every storage module, for SQLite (aiosqlite) and PostgreSQL
(asyncpg): the engines, `Sessions`, the dialect's upsert (`insert_for`), schema migration and
`open_archive` for console commands.

On SQLite a process writes through one connection whose statements run on the event loop
(`storage.sqlite_inline`: no thread hand-over per call, no lock waits between our own
connections); long reads have `create_read_engine`'s threaded, read-only connections beside it.

`migrate` runs the Alembic revisions in `storage/migrations/` from code; no alembic.ini is needed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Executable, Row, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from storage.sqlite_inline import inline_creator

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant shared by all processes: serialises concurrent `migrate` calls on PostgreSQL.
_MIGRATION_LOCK_KEY = 0x64786274  # "dxbt"

Sessions: TypeAlias = async_sessionmaker[AsyncSession]
"""What every storage function takes: it opens its own sessions and transactions."""

_INLINE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()  # SQLite's, see storage.sqlite_inline


def create_engine(url: str, *, connect_args: Mapping[str, Any] | None = None) -> AsyncEngine:
    """An async engine for `url` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``): the one
    every write goes through.

    `connect_args` go to the driver's connect call, e.g. asyncpg's ``server_settings``.
    """
    parsed = make_url(url)
    options = _options(connect_args)
    if parsed.get_backend_name() == "sqlite":
        _make_parent(parsed.database or "")
        args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
        kwargs = {**kwargs, "check_same_thread": False, **options.pop("connect_args")}
        # One connection, inline: a second one of ours could only wait for its lock (on the loop,
        # while the first one's transaction waits for the loop), and a file database has one
        # writer anyway. A session waits for it in the pool, never for SQLite's lock.
        pool: dict[str, Any] = (
            {"poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0}
            if not _in_memory(parsed.database or "") else {})
        engine = _create_async_engine(parsed, async_creator=inline_creator(*args, **kwargs),
                                      **pool, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        _INLINE_ENGINES.add(engine.sync_engine)
        return engine
    # A server database. No ping per checkout (a round trip on every statement's way): a
    # connection found dead fails its statement, which invalidates the pool's older connections
    # at once; connections are recycled before idle-timeouts of proxies. The pool keeps what a
    # busy process uses at once (opened lazily): connections beyond `pool_size` are closed when
    # returned, and opening one costs more than the transaction it serves.
    return _create_async_engine(
        parsed, pool_size=20, max_overflow=10, pool_recycle=1800, **options
    )


def create_read_engine(url: str) -> AsyncEngine | None:
    """Where the database needs them (a SQLite file), connections for long reads (figures, lists,
    exports, audiences) that run beside the writer in aiosqlite's threads and keep the loop free:
    read-only, and in WAL mode never waiting for the writer nor it for them. None: read through
    `create_engine`'s engine (PostgreSQL, and an in-memory SQLite database, which has only one
    connection).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or _in_memory(parsed.database or ""):
        return None
    engine = _create_async_engine(parsed, **_options(None))
    event.listen(engine.sync_engine, "connect", _sqlite_reader_on_connect)
    return engine


def _options(connect_args: Mapping[str, Any] | None) -> dict[str, Any]:
    # Chinese names stay readable in the stored JSON (the default escapes them as \\uXXXX).
    return {"json_serializer": functools.partial(json.dumps, ensure_ascii=False),
            "connect_args": dict(connect_args or {})}


def _in_memory(database: str) -> bool:
    return not database or database == ":memory:" or "mode=memory" in database


def _make_parent(database: str) -> None:
    if not _in_memory(database) and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Off by default in SQLite, per connection.
        cursor.execute("PRAGMA foreign_keys = ON")
        # Readers do not block the writer nor the writer the readers (ignored for :memory:).
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_reader_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # A write sent here by mistake fails at once instead of competing with the writer.
        cursor.execute("PRAGMA query_only = ON")
    finally:
        cursor.close()


def session_factory(engine: AsyncEngine) -> Sessions:
    # expire_on_commit=False: objects stay readable after commit without an implicit (and,
    # under asyncio, impossible) lazy reload.
    session_class = _InlineSession if engine.sync_engine in _INLINE_ENGINES else AsyncSession
    return async_sessionmaker(engine, expire_on_commit=False, class_=session_class)


class _InlineSession(AsyncSession):
    """A session on the inline SQLite engine, closed at the end of `async with` directly.

    AsyncSession closes in a task of its own behind asyncio.shield, so that a cancellation
    cannot cut a close (its rollback's round trip) short; that costs two turns of the event loop
    per session. On the inline connection a close never waits for anything: nothing to protect.
    """

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await self.close()


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration built in code; `url` is only needed without a passed connection.

    For a new revision: ``command.revision(alembic_config(url), message=..., autogenerate=True)``.
    """
    config = Config()
    # ConfigParser interpolation: a literal "%" must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(target: str | AsyncEngine) -> None:
    """Upgrade the database at `target` (a URL or an engine) to the newest revision.

    Idempotent. On PostgreSQL an advisory lock makes concurrent start-ups take turns.
    """
    if isinstance(target, str):
        engine = create_engine(target)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
        return
    async with target.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection  # env.py runs on this connection
    command.upgrade(config, "head")


@contextlib.asynccontextmanager
async def open_archive(url: str) -> AsyncIterator[Sessions]:
    """The database at `url`, migrated, as sessions for one console command; closed after."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def execute_alone(sessions: Sessions, statement: Executable,
                        parameters: Mapping[str, Any] | None = None) -> list[Row[Any]]:
    """Run one statement on its own, outside a transaction (a single statement is atomic by
    itself), and return its rows, if any, read in full.

    On PostgreSQL that is one round trip where a session's transaction takes three (BEGIN, the
    statement, COMMIT or ROLLBACK), and every round trip of a chat message waits for its turn
    on a busy event loop. For the message path's single reads and upserts.
    """
    engine: AsyncEngine = sessions.kw["bind"]
    connection = await engine.connect()
    try:
        alone = await connection.execution_options(isolation_level="AUTOCOMMIT")
        result = await alone.execute(statement, parameters)
        return list(result.all()) if result.returns_rows else []
    finally:
        # Not `async with`: its exit closes in a task of its own behind asyncio.shield (two
        # turns of the loop, against a cancelled close); closing an autocommit connection has
        # no transaction to end, so nothing in it waits and nothing can be cut short.
        await connection.close()


def dialect_of(sessions: Sessions) -> str:
    """The name of the dialect `sessions` open sessions on ("sqlite", "postgresql")."""
    bind = sessions.kw["bind"]
    return str(bind.dialect.name)


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT, which has ``on_conflict_do_update`` (an atomic upsert on both)."""
    return insert_of(session.get_bind().dialect.name)


def insert_of(dialect: str) -> Callable[..., Any]:
    """`insert_for` by the dialect's name (for statements built once per dialect)."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"unsupported database {dialect!r}")
