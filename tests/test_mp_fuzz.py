"""Property-based fuzzing of the mini-program API from its own OpenAPI document (schemathesis):
whatever a client sends, no response is a 500, and every status, content type and body is one
the document declares. The app runs for real (embedded Redis, SQLite) in a background thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.api.miniprogram import API_KEY
from bot.api.openapi import openapi_document
from bot.app import build_app
from bot.config import Settings
from bot.devtools.fake_wechat import FakeWeChat
from storage.mp_sessions import MpSession

pytestmark = pytest.mark.slow  # a live server, 100 generated requests per operation

EXAMPLES_PER_OPERATION = 100
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

schema = schemathesis.openapi.from_dict(openapi_document())
# Both what the document allows and what it does not: bad input must get a documented 4xx.
# Deterministic, so CI runs are repeatable; a failure found once is found every time.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                deterministic=True)
CASES: list[str] = []


@dataclass
class LiveAPI:
    base: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    data = tmp_path_factory.mktemp("fuzz")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    result: dict[str, LiveAPI] = {}

    async def serve() -> None:
        wechat = FakeWeChat()  # login codes that WeChat never issued get 40029, as for real
        wechat.add_app("wxfuzzmini", "fuzz-secret")
        fake = web.AppRunner(wechat.app(), access_log=None)
        await fake.setup()
        await web.TCPSite(fake, "127.0.0.1", 0).start()
        config = Settings(
            data_dir=Path(data), database_url=f"sqlite+aiosqlite:///{data}/f.sqlite3",
            redis_url=None, wechat_token="fuzz-token", wechat_appid="wxfuzz",
            miniapp_appid="wxfuzzmini", miniapp_secret="fuzz-secret", mp_rate_limit=99_999,
            wechat_api_base=f"http://127.0.0.1:{fake.addresses[0][1]}")
        app = build_app(config)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        api = app[API_KEY]
        token = await api.sessions.create(MpSession(
            person_id="mp:fuzz", subject_id="mp:fuzz", openid="fuzz", unionid=None,
            session_key="sk"))
        result["api"] = LiveAPI(f"http://127.0.0.1:{port}",
                                {"Authorization": f"Bearer {token}"})
        started.set()
        await stop.wait()
        await runner.cleanup()
        await fake.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(60), "the app did not start"
    try:
        yield result["api"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_response_is_documented_and_none_is_a_500(case: schemathesis.Case,
                                                          live_api: LiveAPI) -> None:
    response = case.call_and_validate(base_url=live_api.base, headers=live_api.headers,
                                      checks=CHECKS)
    CASES.append(f"{case.method} {case.path} {response.status_code}")


def test_the_fuzzing_reached_every_operation_and_status() -> None:
    if not CASES:
        pytest.skip("run together with the fuzzing test")
    print(f"\n{len(CASES)} fuzzed requests; statuses: "
          f"{sorted(set(c.rsplit(' ', 1)[1] for c in CASES))}")
    documented = {f"{method.upper()} {path}" for path, item in openapi_document()["paths"].items()
                  for method in item}
    assert documented <= {c.rsplit(" ", 1)[0] for c in CASES}
    statuses = {c.rsplit(" ", 1)[1] for c in CASES}
    assert {"200", "201", "401", "422"} <= statuses
    assert not any(status.startswith("5") for status in statuses)
