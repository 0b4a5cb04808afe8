"""The province's solutions in the mini-program over real HTTP: the matches of a result with
why each fits, one solution, a lead with consent and a valid mobile (every bad field named,
nothing recorded), one lead when two people of the enterprise ask at once, the enterprise's
leads with their status, and nothing of another enterprise's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import build_app
from bot.config import Settings
from storage import solutions
from storage.models import Lead
from tests import test_mp_api
from tests.db_fixtures import EmptyDatabase
from tests.test_mp_api import PROFILE, Client, MakeClient, credit_code, plain_answers
from tests.test_pool_file import row
from tests.test_solution_pool import rows

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
client = test_mp_api.client  # the mini-program's fixture, on this module's `server`


async def seed(sessions: Any) -> dict[str, int]:
    await solutions.import_rows(sessions, rows(
        row("云MES", lifts="S06:3", free_trial="是"),
        row("济南专供", provider=2, lifts="S08:3", cities="济南市"),
        row("已下架", provider=3, lifts="S09:3")), T0)
    listed, _total = await solutions.listing(sessions, solutions.SolutionFilter())
    ids = {s.title: s.id for s in listed}
    await solutions.retire(sessions, ids["已下架"], T0)
    return ids


@pytest.fixture
async def ids(migrated_database: EmptyDatabase, sessions_on: Any) -> dict[str, int]:
    """The pool, seeded on the migrated database before the app starts."""
    return await seed(sessions_on)


@pytest.fixture
async def server(ids: dict[str, int], migrated_database: EmptyDatabase, redis_url: str,
                 tmp_path: Path) -> AsyncIterator[TestServer]:
    """The app, started on the seeded pool (it loads the pool at start-up)."""
    settings = Settings(data_dir=tmp_path / "data", database_url=migrated_database.url,
                        redis_url=redis_url, wechat_token="t", wechat_appid="wxoa")
    server = TestServer(build_app(settings, connect_args=dict(migrated_database.connect_args)),
                        host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def submitted(person: Client, profile: dict[str, Any] = PROFILE) -> int:
    result = await person.ok("POST", "/api/mp/draft/submit",
                             {"version": await person.walk(profile=profile)}, 201)
    return int(result["id"])


async def leads_in(sessions: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Lead)) or 0)


async def test_matches_a_solution_and_a_lead(client: MakeClient, sessions_on: Any,
                                             ids: dict[str, int]) -> None:
    ann = await client("mp-ann")
    status, refused = await ann.call("POST", "/api/mp/leads", {
        "solution_id": ids["云MES"], "mobile": "13800138000", "consent": True})
    assert status == 409 and refused["error"]["code"] == "no_result"
    result_id = await submitted(ann)

    matches = await ann.ok("GET", f"/api/mp/results/{result_id}/solutions")
    assert [s["title"] for s in matches["solutions"]] == ["云MES"]  # 青岛: not 济南专供
    first = matches["solutions"][0]
    assert first["why"].startswith("可将「生产管控」提升到三级") and matches["message"] is None
    assert first["lifts"] == [{"code": "S06", "name": "生产管控", "level": 3,
                               "level_name": "三级"}]
    assert first["provider"] == {"name": "山东某某软件有限公司1", "leading": False}

    shown = await ann.ok("GET", f"/api/mp/solutions/{ids['云MES']}")
    assert shown["fits"] and shown["why"] == first["why"]
    elsewhere = await ann.ok("GET", f"/api/mp/solutions/{ids['济南专供']}")
    assert not elsewhere["fits"] and elsewhere["why"] is None
    for missing in (ids["已下架"], 999999, "x"):
        status, body = await ann.call("GET", f"/api/mp/solutions/{missing}")
        assert status == 404 and body["error"]["code"] == "not_found"

    # Bad requests: every field named, nothing recorded.
    for body, fields in (
        ({"solution_id": ids["云MES"], "mobile": "13800138000"}, {"consent"}),
        ({"solution_id": ids["云MES"], "mobile": "13800138000", "consent": "true"},
         {"consent"}),
        ({"solution_id": ids["云MES"], "mobile": "1380013", "consent": True}, {"mobile"}),
        ({"solution_id": "1", "mobile": 13800138000, "consent": False, "note": "x"},
         {"solution_id", "mobile", "consent", "note"}),
    ):
        status, bad = await ann.call("POST", "/api/mp/leads", body)
        assert status == 422 and {p["field"] for p in bad["problems"]} == fields, bad
    for solution_id in (ids["已下架"], 999999):
        status, bad = await ann.call("POST", "/api/mp/leads", {
            "solution_id": solution_id, "mobile": "13800138000", "consent": True})
        assert status == 404 and bad["error"]["field"] == "solution_id"
    assert await leads_in(sessions_on) == 0

    made = await ann.ok("POST", "/api/mp/leads", {
        "solution_id": ids["云MES"], "mobile": "138 0013 8000", "consent": True}, 201)
    assert made["status"] == "new" and made["status_title"] == "待联系"
    assert not made["already"] and made["contact_name"] == "李工"
    assert made["message"].startswith(
        "已为您对接：山东某某软件有限公司1的李工将在 3 个工作日内就「云MES」与您联系")
    again = await ann.ok("POST", "/api/mp/leads", {
        "solution_id": ids["云MES"], "mobile": "13900139000", "consent": True}, 200)
    assert again["already"] and again["id"] == made["id"]
    mine = await ann.ok("GET", "/api/mp/leads")
    assert [(lead["id"], lead["title"], lead["status"]) for lead in mine["leads"]] == [
        (made["id"], "云MES", "new")]
    async with sessions_on() as session:
        lead = (await session.scalars(select(Lead))).one()
    assert (lead.mobile, lead.channel, lead.person_id) == ("13800138000", "mp", "mp:mp-ann")

    # Another enterprise: not its result, not its leads.
    bob = await client("mp-bob")
    await submitted(bob, {**PROFILE, "credit_code": credit_code(2), "name": "另一家公司"})
    status, _ = await bob.call("GET", f"/api/mp/results/{result_id}/solutions")
    assert status == 404
    assert (await bob.ok("GET", "/api/mp/leads"))["leads"] == []


async def test_two_people_of_one_enterprise_asking_at_once_make_one_lead(
    client: MakeClient, sessions_on: Any, ids: dict[str, int],
) -> None:
    ann, colleague = await client("mp-ann"), await client("mp-colleague")
    await submitted(ann)
    await submitted(colleague)
    answers = await asyncio.gather(*(
        person.call("POST", "/api/mp/leads", {"solution_id": ids["云MES"],
                                              "mobile": mobile, "consent": True})
        for person, mobile in ((ann, "13800138000"), (colleague, "13900139000"))))
    assert sorted(status for status, _ in answers) == [200, 201]
    assert len({body["id"] for _, body in answers}) == 1
    assert await leads_in(sessions_on) == 1
    assert len((await colleague.ok("GET", "/api/mp/leads"))["leads"]) == 1


async def test_no_match_says_so(client: MakeClient) -> None:
    ann = await client("mp-ann")
    # 烟台: 云MES serves everywhere but lifts S06, which this enterprise has at 3 already;
    # 济南专供 serves 济南 only; the third is retired.
    answers = {**plain_answers(), "S06": 3}
    result = await ann.ok("POST", "/api/mp/draft/submit", {"version": await ann.walk(
        answers, profile={**PROFILE, "city": "烟台市", "county": "芝罘区"})}, 201)
    result_id = result["id"]
    matches = await ann.ok("GET", f"/api/mp/results/{result_id}/solutions")
    assert matches["solutions"] == [] and "暂无" in matches["message"]
