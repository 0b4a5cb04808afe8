"""The solution pool kept in the archive (SQLite and PostgreSQL): imports upsert providers and
solutions in batches with the right counts, a retired solution stays retired, live_solutions
and the pool's version; the list's filters; edits; the admin API over real HTTP through the app
(filters, paging, edits refused whole, retire, roles); `dxbot solutions import` on a GB18030
CSV and an Excel file."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from openpyxl import Workbook
from sqlalchemy import select

from bot.api.admin_access import new_token, token_digest
from bot.api.binding_codes import DEFAULT_VALID_HOURS
from flows.commissioners import CODE_LENGTH, Scope, code_digest
from flows.pool_file import check_pool
from flows.solutions import Pool, Provider
from storage import api_tokens, commissioners, provider_contacts, solutions
from storage.db import Sessions, create_engine, session_factory
from storage.models import ServiceProvider
from storage.solutions import (
    Imported,
    SolutionFilter,
    TitleTaken,
    import_rows,
    listing,
    live_solutions,
    pool_version,
    retire,
    update_solution,
)
from tests import console
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR
from tests.test_admin_api import ADMIN_TOKEN, start
from tests.test_pool_file import HEADER, REF, code, row

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def rows(*table: list[str]) -> list[Any]:
    checked = check_pool([HEADER, *table], REF)
    assert checked.problems == []
    return checked.rows


async def test_import_upserts_by_provider_and_title_in_batches(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(solutions, "BATCH", 2)  # a batch ends inside provider 1's rows
    assert await pool_version(sessions) == 0
    done = await import_rows(sessions, rows(row("甲"), row("乙"), row("丙", provider=2)), T0)
    assert done == Imported(added=3, updated=0, retired=0, providers_added=2,
                            providers_updated=0)
    first_version = await pool_version(sessions)
    assert first_version > 0
    live = await live_solutions(sessions)
    assert [s.title for s in live] == ["甲", "乙", "丙"]
    assert live[0].provider == Provider(code(1), "山东某某软件有限公司1", (), "李工",
                                        "0531-88886666", False)
    assert (live[0].lifts, live[0].industries, live[0].price, live[0].free_trial,
            live[0].deployment, live[0].link) == (
        {"S06": 3, "S07": 2}, ("C",), "1-3万元/年", True, "cloud", "https://example.com/mes")
    assert set(Pool.of(live).solutions) == {s.id for s in live}
    jia = live[0].id

    retired = await retire(sessions, jia, T0 + timedelta(hours=1))
    assert retired is not None and retired.retired_at == T0 + timedelta(hours=1)
    retired_version = await pool_version(sessions)
    assert retired_version > first_version
    again = await retire(sessions, jia, T0 + timedelta(hours=2))
    assert again is not None and again.retired_at == T0 + timedelta(hours=1)  # idempotent
    assert await pool_version(sessions) == retired_version  # nothing changed
    assert [s.title for s in await live_solutions(sessions)] == ["乙", "丙"]
    assert await retire(sessions, 999, T0) is None

    # The provider renamed and moved, 甲 changed (it stays retired), 丁 and provider 3 new.
    later = T0 + timedelta(days=1)
    moved = {"provider_name": "山东新名称软件有限公司", "cities": "济南、淄博", "leading": "是"}
    done = await import_rows(sessions, rows(
        row("甲", lifts="S08:2", **moved), row("乙", price="面议", **moved),
        row("丁", provider=3)), later)
    assert done == Imported(added=1, updated=2, retired=1, providers_added=1,
                            providers_updated=1)
    assert await pool_version(sessions) > retired_version
    shown = await solutions.get(sessions, jia)
    assert shown is not None and shown.lifts == {"S08": 2}
    assert shown.retired_at == T0 + timedelta(hours=1) and shown.updated_at == later
    live = await live_solutions(sessions)
    assert [(s.title, s.price) for s in live] == [("乙", "面议"), ("丙", "1-3万元/年"),
                                                  ("丁", "1-3万元/年")]
    assert live[0].provider == Provider(code(1), "山东新名称软件有限公司", ("济南市", "淄博市"),
                                        "李工", "0531-88886666", True)
    assert shown.created_at == T0  # an update keeps when it was first imported

    before = await pool_version(sessions)
    assert await import_rows(sessions, [], later) == Imported(0, 0, 0, 0, 0)
    assert await pool_version(sessions) == before


async def seed_pool(sessions: Sessions) -> dict[str, int]:
    """甲 and 乙 of provider 1 (the whole province), 质量追溯 and 批发云 (retired) of provider 2
    (青岛), 财务云 of provider 3 (济南): their ids by title."""
    await import_rows(sessions, rows(
        row("甲", lifts="S06:3", industries="C", summary="排产、报工"),
        row("乙", lifts="S16:2", industries="C", summary=""),
        row("质量追溯", provider=2, cities="青岛", lifts="S07:2、S08:2", industries="C13"),
        row("批发云", provider=2, cities="青岛", lifts="S06:2", industries="F"),
        row("财务云", provider=3, cities="济南", lifts="S13:2", industries="",
            summary="对接MES与ERP")), T0)
    found, _total = await listing(sessions, SolutionFilter())
    ids = {s.title: s.id for s in found}
    await retire(sessions, ids["批发云"], T0)
    return ids


FILTERS = [
    (SolutionFilter(), ["甲", "乙", "质量追溯", "批发云", "财务云"]),
    (SolutionFilter(scene="S06"), ["甲", "批发云"]),
    (SolutionFilter(scene="S06", retired=False), ["甲"]),
    (SolutionFilter(retired=True), ["批发云"]),
    # A provider without cities serves the whole province.
    (SolutionFilter(city="济南市"), ["甲", "乙", "财务云"]),
    (SolutionFilter(city="青岛市", scene="S06"), ["甲", "批发云"]),
    (SolutionFilter(city="烟台市"), ["甲", "乙"]),
    # As matching: no industries fits any; a section fits its divisions, not the other way.
    (SolutionFilter(industry="C"), ["甲", "乙", "财务云"]),
    (SolutionFilter(industry="C13"), ["甲", "乙", "质量追溯", "财务云"]),
    (SolutionFilter(industry="F"), ["批发云", "财务云"]),
    (SolutionFilter(provider_code=code(2)), ["质量追溯", "批发云"]),
    (SolutionFilter(provider_name="软件有限公司3"), ["财务云"]),
    (SolutionFilter(provider_name="%"), []),  # a LIKE wildcard is a character
    (SolutionFilter(text="mes"), ["财务云"]),  # the summary, in any case
    (SolutionFilter(text="云"), ["质量追溯", "批发云", "财务云"]),  # 质检上云 in the summary
    (SolutionFilter(text="追溯", scene="S08", city="青岛市", industry="C13",
                    provider_code=code(2), retired=False), ["质量追溯"]),
]


async def test_the_lists_filters(sessions: Sessions) -> None:
    await seed_pool(sessions)  # once: the filters only read
    for chosen, expected in FILTERS:
        found, total = await listing(sessions, chosen)
        assert ([s.title for s in found], total) == (expected, len(expected)), chosen


async def test_paging_and_edits(sessions: Sessions) -> None:
    ids = await seed_pool(sessions)
    page, total = await listing(sessions, SolutionFilter(), offset=1, limit=2)
    assert [s.title for s in page] == ["乙", "质量追溯"] and total == 5

    version = await pool_version(sessions)
    later = T0 + timedelta(hours=3)
    changed = await update_solution(sessions, ids["甲"], {
        "lifts": {"S06": 4}, "industries": ("C", "F"), "price": "面议", "link": None}, later)
    assert changed is not None and changed.lifts == {"S06": 4}
    assert (changed.industries, changed.price, changed.link) == (("C", "F"), "面议", None)
    assert changed.updated_at == later and await pool_version(sessions) > version
    version = await pool_version(sessions)
    same = await update_solution(sessions, ids["甲"], {"price": "面议"}, later + timedelta(1))
    assert same == changed and await pool_version(sessions) == version  # nothing written

    with pytest.raises(TitleTaken) as taken:
        await update_solution(sessions, ids["甲"], {"title": "乙", "price": "免费"}, later)
    assert taken.value.solution_id == ids["乙"]
    unchanged = await solutions.get(sessions, ids["甲"])
    assert unchanged == changed
    # Another provider's title is free; a retired solution comes back with retired false.
    renamed = await update_solution(sessions, ids["甲"], {"title": "质量追溯"}, later)
    assert renamed is not None and renamed.title == "质量追溯"
    back = await update_solution(sessions, ids["批发云"], {"retired": False}, later)
    assert back is not None and back.retired_at is None
    assert "批发云" in {s.title for s in await live_solutions(sessions)}
    assert await update_solution(sessions, 999, {"price": "x"}, later) is None


# --- the admin API ---------------------------------------------------------------------------

Call = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def redis_url(redis_client: aioredis.Redis, redis_socket: str | None) -> str:
    return os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}"


@pytest.fixture
async def pool_api(empty_database: EmptyDatabase, redis_url: str,
                   tmp_path: Path) -> AsyncIterator[tuple[Call, dict[str, int], str]]:
    """The app over HTTP with the seeded pool: the call, the ids by title and a 济南
    commissioner's token."""
    server = await start(empty_database, redis_url, tmp_path, ADMIN_TOKEN)  # migrates
    engine = empty_database.engine()
    sessions = session_factory(engine)
    ids = await seed_pool(sessions)
    scope = Scope(("济南市",))
    commissioner = await commissioners.add(sessions, "王专员", scope, "0" * 64,
                                           T0 + timedelta(days=3), T0)
    token = new_token()
    await api_tokens.add(sessions, "王专员的电脑", token_digest(token), T0,
                         commissioner_id=commissioner.id)
    await engine.dispose()
    async with aiohttp.ClientSession() as http:
        async def go(method: str, path: str, body: Any = None, *,
                     token: str | None = ADMIN_TOKEN) -> tuple[int, Any]:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            async with http.request(method, server.make_url("/api/admin" + path), json=body,
                                    headers=headers) as response:
                return response.status, json.loads(await response.read())
        yield go, ids, token
    await server.close()


@contextlib.asynccontextmanager
async def sessions_of(database: EmptyDatabase) -> AsyncIterator[Sessions]:
    """Sessions on the database the app under test uses."""
    engine = database.engine()
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def titles(listed: dict[str, Any]) -> list[str]:
    return [s["title"] for s in listed["solutions"]]


async def test_the_admin_api_lists_and_shows(
        pool_api: tuple[Call, dict[str, int], str]) -> None:
    call, ids, _token = pool_api
    status, listed = await call("GET", "/solutions")
    assert status == 200 and listed["total"] == 5 and listed["offset"] == 0
    assert titles(listed) == ["甲", "乙", "质量追溯", "批发云", "财务云"]
    status, shown = await call("GET", f"/solutions/{ids['质量追溯']}")
    assert status == 200 and shown == listed["solutions"][2]
    assert {k: v for k, v in shown.items() if k not in ("created_at", "updated_at")} == {
        "id": ids["质量追溯"], "title": "质量追溯", "summary": "排产、报工、质检上云。",
        "provider": {"id": shown["provider"]["id"], "credit_code": code(2),
                     "name": "山东某某软件有限公司2", "cities": ["青岛市"], "contact_name": "李工",
                     "contact_mobile": "0531-88886666", "leading": False,
                     "wechat_contact_bound": False},
        "lifts": [{"code": "S07", "name": "质量管理", "level": 2},
                  {"code": "S08", "name": "设备管理", "level": 2}],
        "industries": [{"code": "C13", "name": "农副食品加工业"}],
        "price": "1-3万元/年", "free_trial": True, "deployment": "cloud",
        "link": "https://example.com/mes", "retired": False, "retired_at": None}
    assert datetime.fromisoformat(shown["created_at"]) == T0
    retired = listed["solutions"][3]
    assert retired["retired"] is True and datetime.fromisoformat(retired["retired_at"]) == T0

    for query, expected in [
        ("scene=生产管控&city=青岛", ["甲", "批发云"]),
        ("scene=S06&retired=false", ["甲"]),
        ("industry=农副食品加工业", ["甲", "乙", "质量追溯", "财务云"]),
        (f"provider={code(2).lower()}&retired=0", ["质量追溯"]),
        ("provider=软件有限公司3", ["财务云"]),
        ("q=MES", ["财务云"]),
        ("retired=true", ["批发云"]),
        ("scene=&city=", ["甲", "乙", "质量追溯", "批发云", "财务云"]),  # empty: no filter
    ]:
        status, found = await call("GET", f"/solutions?{query}")
        assert status == 200 and titles(found) == expected, query
    status, page = await call("GET", "/solutions?offset=3&limit=1")
    assert (page["total"], page["offset"], page["limit"], titles(page)) == (5, 3, 1, ["批发云"])

    status, error = await call("GET", "/solutions?scene=S99&city=北京&industry=Z&retired=maybe"
                                      "&limit=0&scen=S06&q=" + "长" * 101)
    assert status == 422
    assert [p["field"] for p in error["problems"]] == [
        "scen", "scene", "city", "industry", "q", "retired", "limit"]
    assert error["error"]["field"] == "scen"
    messages = {p["field"]: p["message"] for p in error["problems"]}
    assert messages["scene"] == "scene：S99 不是指标体系中的场景"
    assert messages["city"] == "city: 北京 不是山东省的市。"
    for path in ("/solutions/999", "/solutions/abc", "/solutions/99999999999",
                 "/solutions/%C2%B2"):
        status, error = await call("GET", path)
        assert status == 404 and error["error"]["code"] == "not_found"


async def test_the_admin_api_changes_and_retires(
        pool_api: tuple[Call, dict[str, int], str]) -> None:
    call, ids, _token = pool_api
    jia = ids["甲"]
    _status, before = await call("GET", f"/solutions/{jia}")
    status, error = await call("PATCH", f"/solutions/{jia}", {
        "title": "", "lifts": "S06:9", "deployment": "火星", "price": "新价格",
        "provider_name": "x"})
    assert status == 422
    assert [p["field"] for p in error["problems"]] == [
        "provider_name", "title", "lifts", "deployment"]
    assert {p["message"] for p in error["problems"]} >= {
        "lifts：S06 的等级应为 1 到 4，而不是 9", "provider_name：没有该字段"}
    status, error = await call("PATCH", f"/solutions/{jia}", {"title": "乙", "price": "新价格"})
    assert status == 422 and error["error"]["field"] == "title"
    assert error["solution_id"] == ids["乙"]
    assert await call("GET", f"/solutions/{jia}") == (200, before)  # nothing changed

    status, changed = await call("PATCH", f"/solutions/{jia}", {
        "title": " 甲 二期 ", "lifts": {"S06": 4, "质量管理": "二级"},
        "industries": ["C", "批发和零售业"], "free_trial": False, "deployment": "本地",
        "link": None, "summary": ""})
    assert status == 200, changed
    assert (changed["title"], changed["free_trial"], changed["deployment"], changed["link"],
            changed["summary"]) == ("甲 二期", False, "local", None, "")
    assert changed["lifts"] == [{"code": "S06", "name": "生产管控", "level": 4},
                                {"code": "S07", "name": "质量管理", "level": 2}]
    assert changed["industries"] == [{"code": "C", "name": "制造业"},
                                     {"code": "F", "name": "批发和零售业"}]
    assert await call("GET", f"/solutions/{jia}") == (200, changed)
    # What GET shows goes back unchanged.
    status, again = await call("PATCH", f"/solutions/{jia}", {
        "lifts": changed["lifts"], "industries": changed["industries"]})
    assert status == 200 and again == changed

    status, retired = await call("POST", f"/solutions/{jia}/retire", {})
    assert status == 200 and retired["retired"] is True and retired["retired_at"]
    await asyncio.sleep(0.01)
    status, twice = await call("POST", f"/solutions/{jia}/retire")
    assert status == 200 and twice["retired_at"] == retired["retired_at"]
    _status, live = await call("GET", "/solutions?retired=false")
    assert "甲 二期" not in titles(live)
    status, back = await call("PATCH", f"/solutions/{jia}", {"retired": False})
    assert status == 200 and back["retired"] is False and back["retired_at"] is None
    for method, path in (("PATCH", "/solutions/999"), ("POST", "/solutions/999/retire")):
        status, error = await call(method, path, {"price": "x"})
        assert status == 404 and error["error"]["message"] == "没有该方案。"
    status, error = await call("PATCH", f"/solutions/{jia}", [1])
    assert status == 422


async def test_only_province_admins_reach_the_pool(
        pool_api: tuple[Call, dict[str, int], str], empty_database: EmptyDatabase) -> None:
    call, ids, token = pool_api
    jia = ids["甲"]
    _status, shown = await call("GET", f"/solutions/{jia}")
    provider = shown["provider"]["id"]
    for method, path in (("GET", "/solutions"), ("GET", f"/solutions/{jia}"),
                         ("PATCH", f"/solutions/{jia}"), ("POST", f"/solutions/{jia}/retire"),
                         ("POST", f"/providers/{provider}/binding-code"),
                         ("DELETE", f"/providers/{provider}/contact"),
                         ("POST", "/providers/999/binding-code")):
        status, error = await call(method, path, {"price": "x"}, token=token)
        assert status == 403 and error["error"]["code"] == "forbidden", path
        assert (await call(method, path, {"price": "x"}, token=None))[0] == 401
    _status, shown = await call("GET", f"/solutions/{jia}")
    assert shown["price"] == "1-3万元/年" and shown["retired"] is False
    async with sessions_of(empty_database) as sessions:
        found = await provider_contacts.get(sessions, provider)
        assert found is not None and found.person_id is None
        async with sessions() as session:  # no code was issued by the commissioner
            assert await session.scalar(select(ServiceProvider.code_digest).where(
                ServiceProvider.id == provider)) is None


async def test_the_admin_api_issues_a_providers_binding_code_and_unbinds(
        pool_api: tuple[Call, dict[str, int], str], empty_database: EmptyDatabase) -> None:
    call, ids, _token = pool_api
    _status, shown = await call("GET", f"/solutions/{ids['质量追溯']}")
    provider = shown["provider"]["id"]
    before = datetime.now(UTC)
    status, issued = await call("POST", f"/providers/{provider}/binding-code")
    assert status == 200, issued
    assert issued["provider"] == {"id": provider, "credit_code": code(2),
                                  "name": "山东某某软件有限公司2", "wechat_contact_bound": False}
    assert len(issued["code"]) == CODE_LENGTH
    expires = datetime.fromisoformat(issued["code_expires_at"])
    lifetime = timedelta(hours=DEFAULT_VALID_HOURS)  # as long as a commissioner's code
    assert before + lifetime <= expires <= datetime.now(UTC) + lifetime
    status, again = await call("POST", f"/providers/{provider}/binding-code",
                               {"valid_hours": 1})
    assert status == 200 and again["code"] != issued["code"]
    for bad in (0, 721, "2", True):
        status, error = await call("POST", f"/providers/{provider}/binding-code",
                                   {"valid_hours": bad})
        assert status == 422 and error["error"]["field"] == "valid_hours", bad
    for method, path in (("POST", "/providers/999/binding-code"),
                         ("DELETE", "/providers/999/contact"),
                         ("POST", "/providers/abc/binding-code"),
                         ("DELETE", "/providers/99999999999/contact")):
        status, error = await call(method, path)
        assert status == 404 and error["error"]["message"] == "没有该服务商。", path

    async with sessions_of(empty_database) as sessions:
        first = code_digest(issued["code"])
        latest = code_digest(again["code"])
        assert first and latest
        assert await provider_contacts.bind(sessions, first, "oa:o-old", T0) is None  # replaced
        assert await provider_contacts.bind(sessions, latest, "oa:o-contact",
                                            datetime.now(UTC)) is not None
    for path in (f"/solutions/{ids['质量追溯']}", f"/solutions/{ids['批发云']}"):
        _status, shown = await call("GET", path)
        assert shown["provider"]["wechat_contact_bound"] is True
        assert "o-contact" not in json.dumps(shown)  # never whom
    _status, listed = await call("GET", f"/solutions?provider={code(2)}")
    assert {s["provider"]["wechat_contact_bound"] for s in listed["solutions"]} == {True}
    _status, other = await call("GET", f"/solutions/{ids['甲']}")
    assert other["provider"]["wechat_contact_bound"] is False

    status, unbound = await call("DELETE", f"/providers/{provider}/contact")
    assert status == 200 and unbound["wechat_contact_bound"] is False
    assert (await call("DELETE", f"/providers/{provider}/contact")) == (200, unbound)
    _status, shown = await call("GET", f"/solutions/{ids['质量追溯']}")
    assert shown["provider"]["wechat_contact_bound"] is False


# --- the console command ---------------------------------------------------------------------


def dxbot(tmp_path: Path, *args: str) -> Any:
    return console.dxbot(tmp_path, "solutions", *args)


@pytest.mark.slow  # a `dxbot solutions` process per command
def test_the_console_command_on_csv_and_excel(tmp_path: Path) -> None:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, row("甲"), row("乙", lifts="S99:3", cities="北京"),
                                row("丙", provider=2)])
    (tmp_path / "pool.csv").write_bytes(text.getvalue().encode("gb18030"))  # as Excel saves
    run = dxbot(tmp_path, "import", "pool.csv")
    assert run.returncode == 2, run.stderr
    assert run.stdout.strip() == ("pool.csv：新增方案 2 个，更新 0 个，拒绝 1 行；"
                                  "服务商新增 2 家，更新 0 家")
    assert run.stderr.strip().splitlines() == [
        "第 3 行：cities：不是山东省的市：北京（留空或写“全省”表示全省）",
        "第 3 行：lifts：S99 不是指标体系中的场景"]

    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'dxbot.sqlite3'}"

    async def retire_first() -> None:
        engine = create_engine(url)
        try:
            sessions = session_factory(engine)
            [first, *_rest] = await live_solutions(sessions)
            await retire(sessions, first.id, T0)
        finally:
            await engine.dispose()
    asyncio.run(retire_first())

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([*row("甲")[:5], 13900000000, *row("甲")[6:]])  # a mobile typed as a number
    sheet.append(row("丁", provider=3))
    book.save(tmp_path / "pool.xlsx")
    run = dxbot(tmp_path, "import", "pool.xlsx")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines() == [
        "pool.xlsx：新增方案 1 个，更新 1 个，拒绝 0 行；服务商新增 1 家，更新 1 家",
        "更新的方案中有 1 个已下架，仍保持下架（管理接口 PATCH /api/admin/solutions/ID 并设 "
        "\"retired\": false 可恢复）。"]

    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    for name in ("notes.txt", "missing.csv"):
        run = dxbot(tmp_path, "import", name)
        assert run.returncode == 1 and name in run.stderr and "无法读取" in run.stderr


@pytest.mark.slow  # a `dxbot solutions` process per command
def test_a_providers_binding_code_from_the_terminal(tmp_path: Path) -> None:
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, row("甲")])
    (tmp_path / "pool.csv").write_text(text.getvalue(), encoding="utf-8")
    assert dxbot(tmp_path, "import", "pool.csv").returncode == 0
    run = dxbot(tmp_path, "provider-code", code(1).lower())
    assert run.returncode == 0, run.stderr
    found = re.fullmatch(rf"服务商山东某某软件有限公司1（{code(1)}）：绑定码 "
                         r"([A-Z0-9]{10})，有效期至 .+。请服务商的联系人在公众号发送"
                         r"「绑定 \1」，此后每条新的对接需求都会通过公众号告知。\n", run.stdout)
    assert found, run.stdout
    again = dxbot(tmp_path, "provider-code", code(1), "--valid-hours", "1")
    assert again.returncode == 0 and found.group(1) not in again.stdout
    unknown = dxbot(tmp_path, "provider-code", code(2))
    assert unknown.returncode == 1
    assert f"没有统一社会信用代码为 {code(2)} 的服务商" in unknown.stderr
    for args in (("provider-code", "1234"), ("provider-code", code(1), "--valid-hours", "0")):
        bad = dxbot(tmp_path, *args)
        assert bad.returncode == 2 and bad.stdout == "" and bad.stderr, args
