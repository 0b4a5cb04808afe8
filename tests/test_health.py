"""Probes for operators: `/healthz` (the process answers) and `/readyz` (Redis and the database
answer, each within a short timeout) of `dxbot serve`; `dxbot worker --check` and the worker's
health port. Dependencies are taken away for real: a SQLite file's directory removed, a proxy in
front of PostgreSQL or Redis closed or stalled, ports nobody listens on."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config import Settings
from bot.health import STALL_SECONDS, Heartbeat, Readiness, worker_health_app
from storage.health import CHECK_TIMEOUT_SECONDS, probe_engine
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR
from tests.tcp_proxy import Proxy, postgres_proxy, redis_proxy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-never-shown-4711"


def redis_url_of(redis_socket: str | None) -> str:
    return os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nobody listens there once the socket is closed


@asynccontextmanager
async def running_bot(tmp_path: Path, database_url: str, redis_url: str,
                      connect_args: dict[str, Any] | None = None) -> AsyncIterator[TestServer]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url,
                        redis_url=redis_url, wechat_token="health", notice_worker=False)
    bot = TestServer(build_app(settings, connect_args=connect_args), host="127.0.0.1")
    await bot.start_server()
    try:
        yield bot
    finally:
        await bot.close()


async def probe(server: TestServer | str, path: str) -> tuple[int, Any]:
    url = server.make_url(path) if isinstance(server, TestServer) else server + path
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


# --- dxbot serve ---


async def test_readyz_is_ok_when_redis_and_the_database_answer(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, empty_database.url, redis_url_of(redis_socket),
                           empty_database.connect_args) as bot:
        assert await probe(bot, "/readyz") == (
            200, {"status": "ok", "checks": {"redis": "ok", "database": "ok"}})
        assert await probe(bot, "/healthz") == (200, {"status": "ok"})


async def test_readyz_names_the_database_when_it_is_gone(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    proxy: Proxy | None = None
    connect_args = dict(empty_database.connect_args)
    if empty_database.backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/archive/dx.sqlite3"
    else:
        proxy, url = await postgres_proxy(empty_database.url)
    try:
        async with running_bot(tmp_path, url, redis_url_of(redis_socket), connect_args) as bot:
            assert (await probe(bot, "/readyz"))[0] == 200
            if proxy is None:
                shutil.rmtree(tmp_path / "archive")  # the disk or the mount went away
            else:
                await proxy.close()  # the server is gone, its port closed
            caplog.set_level(logging.WARNING)
            status, body = await probe(bot, "/readyz")
            assert (await probe(bot, "/healthz")) == (200, {"status": "ok"})  # still alive
    finally:
        if proxy is not None:
            await proxy.close()
    assert status == 503
    assert body["status"] == "unavailable" and body["checks"]["redis"] == "ok"
    assert body["checks"]["database"].startswith("failed: ")
    assert len(body["checks"]["database"]) < 300
    [warning] = [r for r in caplog.records if r.name == "bot.health"]
    assert warning.levelno == logging.WARNING
    assert "database" in warning.getMessage()
    assert body["checks"]["database"] in warning.getMessage()


async def test_readyz_names_redis_when_it_is_unreachable(
    redis_client: aioredis.Redis, redis_socket: str | None, tmp_path: Path,
) -> None:
    proxy, redis_url = await redis_proxy(redis_socket)
    try:
        async with running_bot(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/dx.sqlite3",
                               redis_url) as bot:
            assert (await probe(bot, "/readyz"))[0] == 200
            await proxy.close()
            status, body = await probe(bot, "/readyz")
    finally:
        await proxy.close()
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("failed: ")


@pytest.mark.slow
async def test_a_hung_redis_cannot_hang_the_probe(
    redis_client: aioredis.Redis, redis_socket: str | None, tmp_path: Path,
) -> None:
    proxy, redis_url = await redis_proxy(redis_socket)
    try:
        async with running_bot(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/dx.sqlite3",
                               redis_url) as bot:
            proxy.stall()  # connections stay open; nothing answers
            started = time.monotonic()
            status, body = await probe(bot, "/readyz")
            took = time.monotonic() - started
    finally:
        await proxy.close()
    assert status == 503
    assert body["checks"] == {
        "redis": f"failed: no answer within {CHECK_TIMEOUT_SECONDS:g} s", "database": "ok"}
    assert CHECK_TIMEOUT_SECONDS <= took < CHECK_TIMEOUT_SECONDS + 1.5


# --- dxbot worker ---


def worker_env(tmp_path: Path, database_url: str, redis_url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DXBOT_")}
    env.update({"PYTHONPATH": str(PROJECT_ROOT), "DXBOT_DATA_DIR": str(tmp_path / "data"),
                "DXBOT_DATABASE_URL": database_url, "DXBOT_REDIS_URL": redis_url, **more})
    return env


def check(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "worker", "--check"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_worker_check_says_ok_for_each_part(
    redis_client: aioredis.Redis, redis_socket: str | None, tmp_path: Path,
) -> None:
    env = worker_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/dx.sqlite3",
                     redis_url_of(redis_socket))
    run = check(env, tmp_path)
    assert (run.returncode, run.stdout) == (0, "redis: ok\ndatabase: ok\n"), run.stderr


@pytest.mark.slow
def test_worker_check_names_each_part_that_does_not_answer(tmp_path: Path) -> None:
    env = worker_env(
        tmp_path, f"postgresql+asyncpg://dx:{PASSWORD}@127.0.0.1:{closed_port()}/dx",
        f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0")
    started = time.monotonic()
    run = check(env, tmp_path)
    assert time.monotonic() - started < 30
    assert run.returncode == 1, run.stderr
    redis_line, database_line = run.stdout.splitlines()
    assert redis_line.startswith("redis: failed: ")
    assert database_line.startswith("database: failed: ")
    assert PASSWORD not in run.stdout + run.stderr


@pytest.mark.slow
def test_worker_check_names_a_sqlite_file_out_of_reach(
    redis_client: aioredis.Redis, redis_socket: str | None, tmp_path: Path,
) -> None:
    env = worker_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/gone/dx.sqlite3",
                     redis_url_of(redis_socket))
    run = check(env, tmp_path)
    assert run.returncode == 1, run.stderr
    assert run.stdout.splitlines()[0] == "redis: ok"
    assert run.stdout.splitlines()[1].startswith("database: failed: ")
    assert not (tmp_path / "gone").exists()  # a check creates nothing


async def wait_for_port(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        assert process.poll() is None, log.read_text()
        try:
            await probe(base, "/healthz")
            return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    pytest.fail("dxbot worker did not open its health port: " + log.read_text())


@pytest.mark.slow
async def test_the_workers_health_port(
    redis_client: aioredis.Redis, redis_socket: str | None, tmp_path: Path,
) -> None:
    proxy, redis_url = await redis_proxy(redis_socket)
    port = closed_port()
    env = worker_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/dx.sqlite3", redis_url)
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker", "--health-port", str(port)], cwd=tmp_path,
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for_port(base, process, log)
        status, alive = await probe(base, "/healthz")
        assert status == 200 and alive["status"] == "ok"
        assert 0 <= alive["seconds_since_round"] < 5
        assert await probe(base, "/readyz") == (
            200, {"status": "ok", "checks": {"redis": "ok", "database": "ok"}})
        await proxy.close()  # Redis goes away under the running worker
        status, body = await probe(base, "/readyz")
        assert status == 503 and body["checks"]["database"] == "ok"
        assert body["checks"]["redis"].startswith("failed: ")
        await asyncio.sleep(4)  # its rounds fail, each retried after a second: still turning
        status, alive = await probe(base, "/healthz")
        assert status == 200 and alive["seconds_since_round"] < 3
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
        await proxy.close()


async def test_a_worker_whose_loop_stopped_turning_is_not_alive(
    redis_client: aioredis.Redis, tmp_path: Path,
) -> None:
    now = [1000.0]
    heartbeat = Heartbeat(clock=lambda: now[0])
    engine = probe_engine(f"sqlite+aiosqlite:///{tmp_path}/dx.sqlite3")
    server = TestServer(worker_health_app(Readiness(redis_client, engine), heartbeat),
                        host="127.0.0.1")
    await server.start_server()
    try:
        now[0] += STALL_SECONDS - 1
        assert await probe(server, "/healthz") == (
            200, {"status": "ok", "seconds_since_round": STALL_SECONDS - 1})
        now[0] += 2
        assert await probe(server, "/healthz") == (
            503, {"status": "stalled", "seconds_since_round": STALL_SECONDS + 1})
        heartbeat.beat()
        assert (await probe(server, "/healthz"))[0] == 200
    finally:
        await server.close()
        await engine.dispose()
