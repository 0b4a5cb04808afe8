"""The admin API for notices over real HTTP against the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config import Settings
from flows.profile import credit_code_check_char
from storage.archive import Profile, SubmissionRecord, record_submission
from storage.db import session_factory
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR

ADMIN_TOKEN = "admin-token-0123456789abcdef"
NOTICE = {"kind": "event", "title": "场景路演：智能制造专场", "body": "优秀解决方案现场展示。",
          "starts_at": "2026-12-15T14:00:00+08:00", "audience": {"cities": ["济南市"]}}

Call = Callable[..., Awaitable[tuple[int, Any]]]


async def start(empty_database: EmptyDatabase, redis_url: str, tmp_path: Path,
                admin_token: str) -> TestServer:
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_database.url,
                        redis_url=redis_url, wechat_token="t", admin_token=admin_token)
    server = TestServer(build_app(settings, connect_args=dict(empty_database.connect_args)),
                        host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
def redis_url(redis_client: aioredis.Redis, redis_socket: str | None) -> str:
    return os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}"


@pytest.fixture
async def call(empty_database: EmptyDatabase, redis_url: str,
               tmp_path: Path) -> AsyncIterator[Call]:
    server = await start(empty_database, redis_url, tmp_path, ADMIN_TOKEN)
    async with aiohttp.ClientSession() as http:
        async def go(method: str, path: str, body: Any = None, *,
                     token: str | None = ADMIN_TOKEN) -> tuple[int, Any]:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            async with http.request(method, server.make_url("/api/admin" + path), json=body,
                                    headers=headers) as response:
                return response.status, json.loads(await response.read())
        yield go
    await server.close()


async def seed(empty_database: EmptyDatabase) -> None:
    """Two enterprises that submitted: one in Jinan, one in Qingdao."""
    engine = empty_database.engine()
    try:
        sessions = session_factory(engine)
        for serial, city in ((1, "济南市"), (2, "青岛市")):
            first17 = f"91370100MA{serial:07d}"
            profile = Profile(name=f"企业{serial}", credit_code=first17 + credit_code_check_char(
                first17), city=city, county="某区", industry="C")
            zero = Decimal(0)
            await record_submission(sessions, SubmissionRecord(
                draft_id=f"d{serial}", person_id=f"oa:o{serial}", channel="oa",
                indicator_set="miit-2024", profile=profile, answers={}, figures={},
                total=zero, dimensions={"foundation": zero, "management": zero,
                                        "effectiveness": zero},
                level=0, level_name="未达一级", scene_levels={}, result={}, started_at=None,
                submitted_at=datetime(2026, 11, 1, tzinfo=UTC)))
    finally:
        await engine.dispose()


async def test_create_preview_schedule_cancel(call: Call,
                                              empty_database: EmptyDatabase) -> None:
    await seed(empty_database)
    status, preview = await call("POST", "/notices/preview", NOTICE)
    assert status == 200 and preview == {"audience_size": 1}
    status, everyone = await call("POST", "/notices/preview", {**NOTICE, "audience": {}})
    assert everyone == {"audience_size": 2}

    status, created = await call("POST", "/notices", NOTICE)
    assert status == 201 and created["status"] == "draft" and created["audience_size"] == 1
    notice_id = created["id"]
    status, shown = await call("GET", f"/notices/{notice_id}")
    assert status == 200 and shown["title"] == NOTICE["title"]
    assert shown["starts_at"] == "2026-12-15T06:00:00+00:00"

    status, scheduled = await call("POST", f"/notices/{notice_id}/schedule",
                                   {"send_at": "2026-12-01T09:00:00+08:00"})
    assert status == 200 and scheduled["status"] == "scheduled"
    assert scheduled["send_at"] == "2026-12-01T01:00:00+00:00"
    status, cancelled = await call("POST", f"/notices/{notice_id}/cancel", {})
    assert status == 200 and cancelled["status"] == "cancelled"
    status, error = await call("POST", f"/notices/{notice_id}/schedule", {})
    assert status == 409 and error["error"]["code"] == "wrong_status"
    status, listed = await call("GET", "/notices")
    assert [n["id"] for n in listed["notices"]] == [notice_id]


@pytest.mark.parametrize(("body", "field"), [
    ({**NOTICE, "kind": "party"}, "kind"),
    ({**NOTICE, "audience": {"cities": ["北京市"]}}, "audience.cities"),
    ({**NOTICE, "starts_at": "tomorrow"}, "starts_at"),
    ({k: v for k, v in NOTICE.items() if k != "title"}, "title"),
])
async def test_bad_notices_name_the_field_and_store_nothing(call: Call, body: Any,
                                                            field: str) -> None:
    status, error = await call("POST", "/notices", body)
    assert status == 422 and error["error"]["field"] == field
    assert (await call("GET", "/notices"))[1] == {"notices": []}


async def test_tokens_and_unknown_notices(call: Call) -> None:
    assert (await call("GET", "/notices", token=None))[0] == 401
    assert (await call("GET", "/notices", token="wrong-token-0123456789"))[0] == 401
    status, error = await call("GET", "/notices/999")
    assert status == 404 and error["error"]["code"] == "not_found"
    assert (await call("GET", "/notices/abc"))[0] == 404
    status, error = await call("POST", "/notices/1/schedule", {"send_at": "soon"})
    assert status == 404
    created = (await call("POST", "/notices", NOTICE))[1]
    status, error = await call("POST", f"/notices/{created['id']}/schedule", {"send_at": "soon"})
    assert status == 422 and error["error"]["field"] == "send_at"


async def test_without_an_admin_token_the_api_is_off(empty_database: EmptyDatabase,
                                                     redis_url: str, tmp_path: Path) -> None:
    server = await start(empty_database, redis_url, tmp_path, "")
    try:
        async with aiohttp.ClientSession() as http, \
                http.get(server.make_url("/api/admin/notices"),
                         headers={"Authorization": "Bearer "}) as response:
            body = await response.json()
        assert response.status == 403 and body["error"]["code"] == "admin_disabled"
    finally:
        await server.close()
