"""Database fixtures: every test gets an empty database, on SQLite always and on PostgreSQL when
``DXBOT_TEST_POSTGRES_URL`` is set (the ``postgresql`` cases are skipped otherwise).

PostgreSQL isolation: each test gets its own freshly created schema, made the connections'
``search_path`` through asyncpg's ``server_settings``, and dropped (CASCADE) afterwards. Nothing
outside that schema is touched, so the database may hold other data.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_engine, migrate, session_factory

TEST_POSTGRES_URL_VAR = "DXBOT_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class EmptyDatabase:
    """An empty database: `url` plus what the connections need to land in it."""

    backend: str  # "sqlite" | "postgresql"
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)

    def engine(self) -> AsyncEngine:
        return create_engine(self.url, connect_args=self.connect_args)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not os.environ.get(TEST_POSTGRES_URL_VAR), reason=f"{TEST_POSTGRES_URL_VAR} unset"
            ),
        ),
    ]
)
async def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[EmptyDatabase]:
    """An empty database per test, once on each backend."""
    if request.param == "sqlite":
        yield EmptyDatabase("sqlite", f"sqlite+aiosqlite:///{tmp_path}/t.sqlite3")
        return
    url = os.environ[TEST_POSTGRES_URL_VAR]
    schema = f"dxbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield EmptyDatabase("postgresql", url, {"server_settings": {"search_path": schema}})
    finally:
        async with admin.begin() as connection:
            # Fail rather than hang if a test left a transaction open on the schema's tables.
            await connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def database_url(empty_database: EmptyDatabase) -> str:
    """The empty database's URL (on PostgreSQL, engines also need `empty_database.connect_args`)."""
    return empty_database.url


@pytest.fixture
async def db_engine(empty_database: EmptyDatabase) -> AsyncIterator[AsyncEngine]:
    """An engine on the empty, not yet migrated database."""
    engine = empty_database.engine()
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest revision once for the session, for
    `migrated_database` to copy: running every revision again costs a test ~0.1 s."""
    path = tmp_path_factory.mktemp("migrated") / "head.sqlite3"
    # In a thread of its own: asyncio.run would replace the tests' event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, migrate(f"sqlite+aiosqlite:///{path}")).result()
    return path


@pytest.fixture
async def migrated_database(empty_database: EmptyDatabase, migrated_sqlite: Path) -> EmptyDatabase:
    """`empty_database` at the newest revision, for tests of what the bot does rather than of
    its first start (test_archive tests the revisions; other end-to-end tests start on an empty
    database): on SQLite a copy of `migrated_sqlite`, on PostgreSQL the revisions run."""
    if empty_database.backend == "sqlite":
        file = Path(make_url(empty_database.url).database or "")
        assert not file.exists(), "copy before the first connection to the database"
        shutil.copyfile(migrated_sqlite, file)
        return empty_database
    engine = empty_database.engine()
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    return empty_database


@pytest.fixture
async def sessions(db_engine: AsyncEngine,
                   migrated_database: EmptyDatabase) -> async_sessionmaker[AsyncSession]:
    """A sessionmaker on the database migrated to the newest revision."""
    return session_factory(db_engine)
