"""The bot's application on loopback for end-to-end tests, as `dxbot serve` builds it: an
owner's phone (`Owner`, signed XML through the WeChat simulator), the deployment (`deploy`, on
the test database and Redis, restartable) and sessions on its database (`sessions_on`).
Registered in conftest, so every test module can ask for the fixtures by name."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config import Settings
from bot.devtools.simulator import WeChatSimulator
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.profile import credit_code_check_char
from storage.db import session_factory
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR

TOKEN = "e2e-token"
APPID = "wx00e2e0000000000a"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT_REPLY_LIMIT = 2048
ISET = builtin_sets()[DEFAULT_SET_ID]


def credit_code(serial: int) -> str:
    """A valid unified social credit code (GB 32100-2015) for a made-up Jinan company."""
    first17 = f"91370100MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


PROFILE = ["济南鲁信机械有限公司", "1", "历下区", "C", "34", "120"]
# One reply per question and scene, in order: every accepted answer shape appears somewhere.
ANSWERS = ["B C", "C", "b", "BC", "2", "B、C", "ＢＣ", "B", "B,C", "B", "C", "C", "B", "B", "B",
           "2", "3", "1", "2", "3级", "2", "2", "二", "2", "2", "2", "2", "2", "1", "1", "0"]
# The same answers as the engine takes them.
EXPECTED_ANSWERS: dict[str, Any] = {
    "B1": ["B", "C"], "B2": "C", "B3": "B", "B4": ["B", "C"], "B5": "B", "B6": ["B", "C"],
    "B7": ["B", "C"], "M1": "B", "M2": ["B", "C"], "M3": ["B"], "M4": "C", "R1": "C",
    "R2": "B", "R3": "B", "R4": "B",
    "S01": 2, "S02": 3, "S03": 1, "S04": 2, "S05": 3, "S06": 2, "S07": 2, "S08": 2, "S09": 2,
    "S10": 2, "S11": 2, "S12": 2, "S13": 2, "S14": 1, "S15": 1, "S16": 0,
}
BETTER_ANSWERS = ["B C D", "E", "E", "BCDEFGHI", "D", "BCD", "BCD", "E", "BCDE", "BCD", "C",
                  "C", "C", "C", "C", *["3"] * 16]


def question_header(n: int) -> str:
    return f"第 {n}/{len(ISET.codes)} 题"


class Owner:
    """One enterprise owner's phone: sends through WeChat, keeps every reply it saw."""

    def __init__(self, sim: WeChatSimulator, openid: str) -> None:
        self.sim = sim
        self.openid = openid
        self.replies: list[str] = []

    async def say(self, text_: str, *, msg_id: int | None = None) -> str:
        reply = await self.sim.send_text(self.openid, text_, msg_id=msg_id)
        assert reply is not None, f"no reply to {text_!r}"
        assert len(reply.encode()) <= WECHAT_REPLY_LIMIT, f"reply to {text_!r} too long"
        self.replies.append(reply)
        return reply

    async def says(self, texts: list[str]) -> str:
        reply = ""
        for line in texts:
            reply = await self.say(line)
        return reply

    async def start_with_profile(self, code: str) -> str:
        await self.say("开始测评")
        await self.say(code)
        return await self.says(PROFILE)

    async def questionnaire(self, code: str, answers: list[str] = ANSWERS) -> str:
        """From nothing to the review; returns the review."""
        reply = await self.start_with_profile(code)
        assert reply.startswith(question_header(1)), reply
        return await self.says(answers)


class Deployment:
    """`dxbot serve`'s application on a loopback port, stoppable and restartable."""

    def __init__(self, settings: Settings, connect_args: dict[str, Any]) -> None:
        self.settings = settings
        self.connect_args = connect_args
        self.server: TestServer | None = None
        self.sims: list[WeChatSimulator] = []

    async def start(self) -> None:
        app = build_app(self.settings, connect_args=self.connect_args)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    def http_url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    async def stop(self) -> None:
        for sim in self.sims:
            await sim.close()
        self.sims.clear()
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/wechat"))

    def owner(self, openid: str, *, mode: str | None = None, timeout: float = 5.0) -> Owner:
        aes_key = self.settings.wechat_aes_key
        sim = WeChatSimulator(self.url, token=TOKEN, appid=APPID, aes_key=aes_key,
                              mode=mode, timeout=timeout)  # type: ignore[arg-type]
        self.sims.append(sim)
        return Owner(sim, openid)


@pytest.fixture
def redis_url(redis_client: aioredis.Redis, redis_socket: str | None) -> str:
    """The test Redis (emptied by `redis_client`) as the bot's DXBOT_REDIS_URL."""
    return os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}"


Deploy = Callable[..., Awaitable[Deployment]]


@pytest.fixture
async def deploy(migrated_database: EmptyDatabase, redis_url: str,
                 tmp_path: Path) -> AsyncIterator[Deploy]:
    """Start the bot: on the test database (already migrated) and Redis, in plaintext or
    (aes_key) safe mode."""
    started: list[Deployment] = []

    async def go(*, aes_key: str | None = None, embedded_redis: bool = False,
                 admin_token: str = "") -> Deployment:
        settings = Settings(
            data_dir=tmp_path / "data", database_url=migrated_database.url,
            redis_url=None if embedded_redis else redis_url,
            wechat_token=TOKEN, wechat_appid=APPID, wechat_aes_key=aes_key,
            admin_token=admin_token)
        deployment = Deployment(settings, dict(migrated_database.connect_args))
        await deployment.start()
        started.append(deployment)
        return deployment

    yield go
    for deployment in started:
        await deployment.stop()


@pytest.fixture
async def sessions_on(empty_database: EmptyDatabase) -> AsyncIterator[Any]:
    """Sessions on the bot's database, to look at what it stored."""
    engine = empty_database.engine()
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
