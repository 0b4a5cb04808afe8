"""Database plumbing shared by every storage module, for SQLite (aiosqlite) and PostgreSQL
(asyncpg): the engine, `Sessions`, the dialect's upsert (`insert_for`), schema migration and
`open_archive` for console commands.

`migrate` runs the Alembic revisions in `storage/migrations/` from code; no alembic.ini is needed.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant shared by all processes: serialises concurrent `migrate` calls on PostgreSQL.
_MIGRATION_LOCK_KEY = 0x64786274  # "dxbt"

Sessions: TypeAlias = async_sessionmaker[AsyncSession]
"""What every storage function takes: it opens its own sessions and transactions."""


def create_engine(url: str, *, connect_args: Mapping[str, Any] | None = None) -> AsyncEngine:
    """An async engine for `url` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    `connect_args` go to the driver's connect call, e.g. asyncpg's ``server_settings``.
    """
    parsed = make_url(url)
    # Chinese names stay readable in the stored JSON (the default escapes them as \\uXXXX).
    options: dict[str, Any] = {
        "json_serializer": functools.partial(json.dumps, ensure_ascii=False),
        "connect_args": dict(connect_args or {}),
    }
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = _create_async_engine(parsed, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    # A server database. No ping per checkout (a round trip on every statement's way): a
    # connection found dead fails its statement, which invalidates the pool's older connections
    # at once; connections are recycled before idle-timeouts of proxies.
    return _create_async_engine(
        parsed, pool_size=5, max_overflow=10, pool_recycle=1800, **options
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Off by default in SQLite, per connection.
        cursor.execute("PRAGMA foreign_keys = ON")
        # Readers do not block the writer nor the writer the readers (ignored for :memory:).
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def session_factory(engine: AsyncEngine) -> Sessions:
    # expire_on_commit=False: objects stay readable after commit without an implicit (and,
    # under asyncio, impossible) lazy reload.
    return async_sessionmaker(engine, expire_on_commit=False)


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
