"""The mini-program API over real HTTP against the real app: real Redis, SQLite and PostgreSQL.

Sessions here are made the way `POST /api/mp/login` makes them (the session store); the login
itself, against the fake WeChat server, is tested in `test_mp_login.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from bot.api.openapi import openapi_document
from bot.app import build_app
from bot.config import Settings
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.profile import credit_code_check_char
from storage.db import session_factory
from storage.mp_sessions import MpSession, MpSessionStore
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR

ISET = builtin_sets()[DEFAULT_SET_ID]


def credit_code(serial: int) -> str:
    first17 = f"91370200MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


PROFILE = {"credit_code": credit_code(1), "name": "青岛海联电子有限公司", "city": "青岛市",
           "county": "黄岛区", "industry": "C", "industry_division": "39", "employees": 85}


def plain_answers() -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in ISET.questions:
        answers[question.code] = ["B", "C"] if question.type == "multiple" else "C"
    for scene in ISET.scenes:
        answers[scene.code] = 2
    return answers


class Client:
    """One mini-program install: a session token and the API's base URL."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str | None) -> None:
        self.http = http
        self.base = base
        self.token = token

    async def call(self, method: str, path: str, body: Any = None, *,
                   raw: bytes | None = None) -> tuple[int, Any]:
        headers = {} if self.token is None else {"Authorization": f"Bearer {self.token}"}
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.request(method, self.base + path, data=data,
                                     headers=headers) as response:
            payload = await response.read()
            assert response.content_type == "application/json", payload[:200]
            return response.status, json.loads(payload)

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, data = await self.call(method, path, body)
        assert got == status, data
        return data

    async def walk(self, answers: dict[str, Any] | None = None,
                   profile: dict[str, Any] = PROFILE) -> int:
        """Start, fill the profile, answer everything; the draft version at the end."""
        version = (await self.ok("POST", "/api/mp/draft", {"version": 0}, 201))["version"]
        version = (await self.ok("PATCH", "/api/mp/draft/profile",
                                 {"version": version, "profile": profile}))["version"]
        for code, value in (answers or plain_answers()).items():
            data = await self.ok("PUT", f"/api/mp/draft/answers/{code}",
                                 {"version": version, "answer": value})
            version = data["version"]
        return version


@pytest.fixture
def redis_url(redis_client: aioredis.Redis, redis_socket: str | None) -> str:
    return os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}"


@pytest.fixture
async def server(migrated_database: EmptyDatabase, redis_url: str,
                 tmp_path: Path) -> AsyncIterator[TestServer]:
    settings = Settings(data_dir=tmp_path / "data", database_url=migrated_database.url,
                        redis_url=redis_url, wechat_token="t", wechat_appid="wxoa")
    server = TestServer(build_app(settings, connect_args=dict(migrated_database.connect_args)),
                        host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client(server: TestServer, redis_client: aioredis.Redis,
                 ) -> AsyncIterator[MakeClient]:
    http = aiohttp.ClientSession()

    async def make(openid: str = "mp-ann", unionid: str | None = None, *,
                   logged_in: bool = True) -> Client:
        token = None
        if logged_in:
            person = f"mp:{openid}"
            token = await MpSessionStore(redis_client).create(MpSession(
                person_id=person, subject_id=f"u:{unionid}" if unionid else person,
                openid=openid, unionid=unionid, session_key="sk-secret"))
        return Client(http, str(server.make_url("")).rstrip("/"), token)

    yield make
    await http.close()


async def test_a_whole_questionnaire_over_the_api(client: MakeClient) -> None:
    ann = await client()
    definition = await ann.ok("GET", "/api/mp/questionnaire")
    assert [q["code"] for q in definition["questions"]] == [q.code for q in ISET.questions]
    assert len(definition["scenes"]) == 16 and len(definition["profile"]["cities"]) == 16
    assert definition["questions"][0]["options"][0] == {"key": "A", "text": "无",
                                                        "exclusive": True}

    assert await ann.ok("GET", "/api/mp/draft") == {"version": 0, "draft": None}
    version = await ann.walk()
    review = await ann.ok("GET", "/api/mp/draft/review")
    assert review["complete"] and review["missing"] == []
    assert review["items"][0]["texts"] and review["draft"]["step"] == "review"
    assert review["draft"]["answered"] == review["draft"]["total"] == 31

    result = await ann.ok("POST", "/api/mp/draft/submit", {"version": version}, 201)
    assert result["level_name"] in {r.name for r in ISET.level_rules} | {"未达一级"}
    assert result["credit_code"] == PROFILE["credit_code"] and result["previous"] is None
    assert result["result"]["suggestions"] and "next_level" in result["result"]
    assert (await ann.ok("GET", "/api/mp/draft"))["draft"] is None

    listed = await ann.ok("GET", "/api/mp/results")
    assert [r["id"] for r in listed["results"]] == [result["id"]]
    detail = await ann.ok("GET", f"/api/mp/results/{result['id']}")
    assert detail["total"] == result["total"] and detail["dimensions"] == result["dimensions"]
    # Each view of a result carries a new link to its report page, which opens that result.
    links = {result["report_url"], detail["report_url"]}
    assert len(links) == 2 and all(re.search(r"/r/[A-Za-z0-9_-]{32}$", u) for u in links)
    path = "/r/" + detail["report_url"].rsplit("/r/", 1)[1]
    async with ann.http.get(ann.base + path) as page:
        assert page.status == 200 and PROFILE["name"] in await page.text()


async def test_an_archived_profile_can_be_reused(client: MakeClient) -> None:
    ann = await client()
    status, error = await ann.call("GET", f"/api/mp/enterprises/{PROFILE['credit_code']}")
    assert status == 404 and error["error"]["code"] == "not_found"
    await ann.ok("POST", "/api/mp/draft/submit", {"version": await ann.walk()}, 201)
    found = await ann.ok("GET", f"/api/mp/enterprises/{PROFILE['credit_code']}")
    assert found["profile"] == {**PROFILE, "industry_division": "39"}
    status, error = await ann.call("GET", "/api/mp/enterprises/123")
    assert status == 422 and error["error"]["code"] == "credit_code_length"


async def test_reassessment_shows_the_change(client: MakeClient) -> None:
    ann = await client()
    await ann.ok("POST", "/api/mp/draft/submit", {"version": await ann.walk()}, 201)
    better = {**plain_answers(), **{s.code: 4 for s in ISET.scenes}}
    second = await ann.ok("POST", "/api/mp/draft/submit",
                          {"version": await ann.walk(better)}, 201)
    assert second["previous"] is not None
    assert second["previous"]["total_change"] >= 0 and second["previous"]["level_change"] >= 0
    assert len((await ann.ok("GET", "/api/mp/results"))["results"]) == 2


async def test_figures_compute_and_answer(client: MakeClient) -> None:
    ann = await client()
    version = (await ann.ok("POST", "/api/mp/draft", {"version": 0}, 201))["version"]
    computed = await ann.ok("POST", "/api/mp/figures/B2", {"figures": {
        "digital_equipment": 45, "production_equipment_total": 120}})
    assert computed["answer"] == "C" and computed["percent"] == 37.5
    data = await ann.ok("PUT", "/api/mp/draft/answers/B2", {
        "version": version, "figures": {"digital_equipment": 45,
                                        "production_equipment_total": 120}})
    assert data["draft"]["answers"]["B2"] == "C"
    assert data["draft"]["figures"] == {"digital_equipment": "45",
                                        "production_equipment_total": "120"}
    status, error = await ann.call("POST", "/api/mp/figures/B2", {"figures": {
        "digital_equipment": 130, "production_equipment_total": 120}})
    assert status == 422 and error["error"]["code"] == "part_exceeds_whole"
    assert "130" in error["error"]["message"]


async def test_a_stale_version_is_refused_with_the_current_draft(client: MakeClient) -> None:
    ann = await client()
    version = (await ann.ok("POST", "/api/mp/draft", {"version": 0}, 201))["version"]
    fresh = await ann.ok("PATCH", "/api/mp/draft/profile",
                         {"version": version, "profile": {"name": "青岛海联电子有限公司"}})
    status, body = await ann.call("PATCH", "/api/mp/draft/profile",
                                  {"version": version, "profile": {"name": "别的名字公司"}})
    assert status == 409 and body["error"]["code"] == "stale_version"
    assert body["version"] == fresh["version"]
    assert body["draft"]["profile"]["name"] == "青岛海联电子有限公司"


async def test_concurrent_edits_are_serialised_not_lost(client: MakeClient) -> None:
    ann = await client()
    version = (await ann.ok("POST", "/api/mp/draft", {"version": 0}, 201))["version"]
    results = await asyncio.gather(*(
        ann.call("PUT", f"/api/mp/draft/answers/{code}", {"version": version, "answer": 2})
        for code in ("S01", "S02", "S03", "S04")))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409, 409, 409]
    draft = (await ann.ok("GET", "/api/mp/draft"))["draft"]
    assert len(draft["answers"]) == 1


# --- errors ----------------------------------------------------------------------------------


async def test_unauthenticated_and_unknown_tokens_get_401(client: MakeClient) -> None:
    anonymous = await client(logged_in=False)
    for method, path in (("GET", "/api/mp/draft"), ("GET", "/api/mp/questionnaire"),
                         ("POST", "/api/mp/draft/submit"), ("GET", "/api/mp/results")):
        status, body = await anonymous.call(method, path, {"version": 0})
        assert status == 401 and body["error"]["code"] == "unauthorized", path
    anonymous.token = "forged-token"
    status, _ = await anonymous.call("GET", "/api/mp/draft")
    assert status == 401


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "field"), [
    ("PATCH", "/api/mp/draft/profile", {"version": 1, "profile": {"credit_code": "123"}},
     422, "credit_code_length", "credit_code"),
    ("PATCH", "/api/mp/draft/profile", {"version": 1, "profile": {"city": "北京市"}},
     422, "city", "city"),
    ("PATCH", "/api/mp/draft/profile", {"version": 1, "profile": []}, 422, "invalid",
     "profile"),
    ("PATCH", "/api/mp/draft/profile", {"profile": {"name": "某某公司"}}, 422, "invalid",
     "version"),
    ("PATCH", "/api/mp/draft/profile", {"version": "1", "profile": {"name": "某某公司"}}, 422,
     "invalid", "version"),
    ("PUT", "/api/mp/draft/answers/B1", {"version": 1, "answer": ["A", "B"]}, 422,
     "exclusive_combined", "B1"),
    ("PUT", "/api/mp/draft/answers/B2", {"version": 1, "answer": ["B"]}, 422,
     "list_for_single", "B2"),
    ("PUT", "/api/mp/draft/answers/S01", {"version": 1, "answer": 7}, 422,
     "scene_level_range", "S01"),
    ("PUT", "/api/mp/draft/answers/ZZ", {"version": 1, "answer": "B"}, 422,
     "unknown_question", "ZZ"),
    ("PUT", "/api/mp/draft/answers/B1", {"version": 1}, 422, "invalid", "answer"),
    ("POST", "/api/mp/draft/submit", {"version": 1}, 422, "missing", None),
    ("PUT", "/api/mp/draft/answers/B1", {"version": 99, "answer": ["B"]}, 409,
     "stale_version", None),
    ("POST", "/api/mp/figures/B1", {"figures": {"x": 1}}, 422, "no_figures", "B1"),
    ("POST", "/api/mp/subscriptions", {"results": {"t1": "maybe"}}, 422, "invalid",
     "results"),
    ("POST", "/api/mp/subscriptions", {"results": {"t1": ["accept"]}}, 422, "invalid",
     "results"),
    ("GET", "/api/mp/results/999", None, 404, "not_found", None),
    ("GET", "/api/mp/questionnaire?indicator_set=nope", None, 404, "not_found", None),
])
async def test_bad_requests_are_named_and_change_nothing(
    client: MakeClient, method: str, path: str, body: Any, status: int, code: str,
    field: str | None,
) -> None:
    ann = await client()
    await ann.ok("POST", "/api/mp/draft", {"version": 0}, 201)
    before = await ann.ok("GET", "/api/mp/draft")
    got, error = await ann.call(method, path, body)
    assert got == status, error
    assert error["error"]["code"] == code and error["error"]["message"]
    if field is not None:
        assert error["error"]["field"] == field
    assert await ann.ok("GET", "/api/mp/draft") == before


async def test_malformed_bodies(client: MakeClient) -> None:
    ann = await client()
    status, error = await ann.call("POST", "/api/mp/draft", raw=b"{not json")
    assert status == 400 and error["error"]["code"] == "bad_json"
    status, error = await ann.call("POST", "/api/mp/draft", raw=b"[1, 2]")
    assert status == 422
    status, error = await ann.call("POST", "/api/mp/draft", raw=b" " * (65 * 1024))
    assert status == 413 and error["error"]["code"] == "too_large"
    status, error = await ann.call("DELETE", "/api/mp/draft")
    assert status == 405 and error["error"]["code"] == "method_not_allowed"
    assert (await ann.ok("GET", "/api/mp/draft"))["draft"] is None


async def test_no_draft_answers_404(client: MakeClient) -> None:
    ann = await client()
    status, error = await ann.call("PUT", "/api/mp/draft/answers/B1",
                                   {"version": 0, "answer": ["B"]})
    assert status == 404 and error["error"]["code"] == "no_draft"


@pytest.mark.slow  # waits up to 10 s for a safe point in the clock minute
async def test_rate_limit_per_person(client: MakeClient) -> None:
    ann, bob = await client("mp-ann"), await client("mp-bob")
    # The budget is per clock minute (a fixed window): start the burst well inside one.
    if (left := 60 - time.time() % 60) < 10:
        await asyncio.sleep(left + 0.1)
    statuses = [(await ann.call("GET", "/api/mp/draft"))[0] for _ in range(125)]
    assert statuses.count(200) == 120 and statuses[-1] == 429
    status, error = await ann.call("GET", "/api/mp/draft")
    assert status == 429 and error["error"]["code"] == "rate_limited"
    assert (await bob.call("GET", "/api/mp/draft"))[0] == 200  # others are not affected


async def test_results_of_other_enterprises_are_not_found(client: MakeClient) -> None:
    ann, bob = await client("mp-ann"), await client("mp-bob")
    result = await ann.ok("POST", "/api/mp/draft/submit", {"version": await ann.walk()}, 201)
    other = {**PROFILE, "credit_code": credit_code(2), "name": "另一家公司"}
    await bob.ok("POST", "/api/mp/draft/submit", {"version": await bob.walk(profile=other)},
                 201)
    status, _ = await bob.call("GET", f"/api/mp/results/{result['id']}")
    assert status == 404
    assert [r["credit_code"] for r in (await bob.ok("GET", "/api/mp/results"))["results"]] == [
        credit_code(2)]


async def test_database_failure_at_submit_keeps_the_draft(
    client: MakeClient, empty_database: EmptyDatabase,
) -> None:
    ann = await client()
    version = await ann.walk()
    engine = empty_database.engine()
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await session.execute(text("ALTER TABLE submissions RENAME TO submissions_away"))
            await session.commit()
        status, error = await ann.call("POST", "/api/mp/draft/submit", {"version": version})
        assert status == 503 and error["error"]["code"] == "unavailable"
        assert "Traceback" not in json.dumps(error)
        assert (await ann.ok("GET", "/api/mp/draft"))["version"] == version
        async with sessions() as session:
            await session.execute(text("ALTER TABLE submissions_away RENAME TO submissions"))
            await session.commit()
    finally:
        await engine.dispose()
    await ann.ok("POST", "/api/mp/draft/submit", {"version": version}, 201)


async def test_subscribe_consents_are_counted(client: MakeClient) -> None:
    ann = await client()
    data = await ann.ok("POST", "/api/mp/subscriptions",
                        {"results": {"tmpl-a": "accept", "tmpl-b": "reject"}})
    assert data == {"consents": {"tmpl-a": 1}}
    data = await ann.ok("POST", "/api/mp/subscriptions", {"results": {"tmpl-a": "accept"}})
    assert data == {"consents": {"tmpl-a": 2}}


async def test_the_openapi_document_covers_every_route(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http, \
            http.get(server.make_url("/api/openapi.json")) as response:
        document = await response.json()
    assert document == json.loads(json.dumps(openapi_document()))
    routes = {(route.method.lower(), route.resource.canonical)
              for route in server.app.router.routes()
              if route.resource is not None and route.resource.canonical.startswith("/api/mp")
              and route.method != "HEAD"}
    documented = {(method, path) for path, item in document["paths"].items()
                  for method in item}
    assert routes == documented


async def test_notices_and_sign_up_with_a_waiting_list(client: MakeClient,
                                                       empty_database: EmptyDatabase) -> None:
    from datetime import UTC, datetime

    from flows.notices import NoticeSpec, parse_notice
    from flows.profile import builtin_reference
    from storage import notices
    from storage.archive import touch_person

    engine = empty_database.engine()
    try:
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        for openid in ("mp-ann", "mp-bob"):
            await touch_person(sessions, f"mp:{openid}", "mp", openid, now)
        spec = parse_notice({"kind": "training", "title": "提升培训", "body": "名额一个。",
                             "starts_at": "2099-12-10T09:00:00+08:00", "capacity": 1},
                            builtin_reference(), max_level=4)
        assert isinstance(spec, NoticeSpec)
        stored = await notices.create_notice(sessions, spec, now)
        await notices.change_status(sessions, stored.id, "scheduled", now, send_at=now)
    finally:
        await engine.dispose()
    ann, bob = await client("mp-ann"), await client("mp-bob")
    listed = await ann.ok("GET", "/api/mp/notices")
    assert [(n["id"], n["signup"]) for n in listed["notices"]] == [(stored.id, None)]
    path = f"/api/mp/notices/{stored.id}/signup"
    assert await ann.ok("POST", path, None, 201) == {"signup": "registered", "position": None}
    assert await ann.ok("POST", path) == {"signup": "registered", "position": None}
    assert await bob.ok("POST", path, None, 201) == {"signup": "waitlisted", "position": 1}
    [waiting] = (await bob.ok("GET", "/api/mp/notices"))["notices"]
    assert (waiting["signup"], waiting["position"], waiting["full"], waiting["signup_open"]) == (
        "waitlisted", 1, True, True)
    assert await ann.ok("DELETE", path) == {"signup": "cancelled"}
    assert (await ann.ok("GET", "/api/mp/notices"))["notices"][0]["signup"] is None
    bob_view = await bob.ok("GET", "/api/mp/notices")
    assert bob_view["notices"][0]["signup"] == "registered"  # moved up
    status, error = await ann.call("DELETE", path)
    assert status == 404 and error["error"]["code"] == "not_found"
    status, error = await ann.call("POST", "/api/mp/notices/999/signup")
    assert status == 404
