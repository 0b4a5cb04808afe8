"""The web console inside `dxbot serve`: a one-time sign-in link (shown, then taken once by a
POST), the session cookie (HttpOnly, SameSite, scoped to /console), CSRF on every form, sign-out,
and the overview with the area's numbers: the province sees all, a 济南 commissioner 济南 only."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from openpyxl import load_workbook

from flows.profile import builtin_reference
from flows.roster import check_roster
from storage import activity
from storage.activity import Activity
from storage.console_sessions import ConsoleStore, ConsoleUser
from storage.db import session_factory
from storage.roster import import_rows
from tests import console as cli
from tests.db_fixtures import EmptyDatabase
from tests.test_notice_e2e import ADMIN, Service, service
from tests.test_report_page import chromium
from tests.test_roster import HEADER, code, row


class Browser:
    """Requests with a cookie of our own (aiohttp's jar ignores cookies for IP addresses) and no
    redirects followed, so that each answer can be checked."""

    def __init__(self, s: Service) -> None:
        self.s = s
        self.cookie: str | None = None

    async def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        return await self._call("GET", path, None)

    async def post(self, path: str, form: dict[str, Any]) -> tuple[int, str, dict[str, str]]:
        return await self._call("POST", path, form)

    async def _call(self, method: str, path: str, form: dict[str, Any] | None,
                    ) -> tuple[int, str, dict[str, str]]:
        headers = {"Cookie": f"dxbot_console={self.cookie}"} if self.cookie else {}
        data = None if form is None else [(k, v) for k, vs in form.items()
                                          for v in (vs if isinstance(vs, list) else [vs])]
        async with self.s.http.request(method, self.s.bot.make_url(path), data=data,
                                       headers=headers, allow_redirects=False) as r:
            set_cookie = r.headers.get("Set-Cookie", "")
            found = re.match(r"dxbot_console=([^;]*)", set_cookie)
            if found is not None:
                self.cookie = found.group(1).strip('"') or None
            return r.status, await r.text(), {**r.headers, "Set-Cookie": set_cookie}

    async def sign_in(self, token: str) -> None:
        status, html, _h = await self.get(f"/console/sign-in/{token}")
        assert status == 200 and 'name="token"' in html
        status, _html, headers = await self.post("/console/sign-in", {"token": token})
        assert status == 303 and headers["Location"] == "/console", status


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def tile(html: str, name: str) -> str:
    found = re.search(rf'id="{name}">([^<]+)<', html)
    assert found is not None, name
    return found.group(1)


async def test_sign_in_once_see_the_province_and_sign_out(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.submit("o-jn", 1, "1")
        await s.submit("o-qd", 2, "2")
        store = ConsoleStore(redis_client)
        browser = Browser(s)
        status, _html, headers = await browser.get("/console")
        assert status == 303 and headers["Location"] == "/console/signed-out"

        token = await store.new_link(ConsoleUser("省厅 张三", None))
        assert (await browser.get(f"/console/sign-in/{token}"))[0] == 200  # showing uses nothing
        await browser.sign_in(token)
        cookie = browser.cookie
        assert cookie
        flags = (await Browser(s).post("/console/sign-in", {"token": await store.new_link(
            ConsoleUser("x", None))}))[2]["Set-Cookie"].lower()
        assert "httponly" in flags and "samesite=lax" in flags and "path=/console" in flags
        # Used once: the same link again is refused, and signs nobody in.
        again = Browser(s)
        status, html, _h = await again.post("/console/sign-in", {"token": token})
        assert status == 403 and again.cookie is None and "后台" in html

        status, html, headers = await browser.get("/console")
        assert status == 200 and "省厅 张三" in html and "全省" in html
        assert (tile(html, "submitted"), tile(html, "enterprises")) == ("2", "2")
        assert "济南市" in html and "青岛市" in html
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assets = [ref for pair in re.findall(r'<link [^>]*href="([^"]*)"|src="([^"]*)"', html)
                  for ref in pair if ref and ref != "data:,"]
        assert assets and all(r.startswith("/console/static/") for r in assets), assets
        links = re.findall(r'<a [^>]*href="([^"]*)"', html)
        assert all(r.startswith("/console") for r in links), links
        english = (await browser.get("/console?lang=en"))[1]
        assert "Overview" in english and "completion rate" in english

        # Sign-out needs the form's CSRF token: without it nothing changes.
        status, _html, _h = await browser.post("/console/sign-out", {})
        assert status == 403 and (await browser.get("/console"))[0] == 200
        status, _html, _h = await browser.post("/console/sign-out", {"csrf": "forged"})
        assert status == 403 and (await browser.get("/console"))[0] == 200
        status, _html, headers = await browser.post("/console/sign-out",
                                                    {"csrf": csrf_of(html)})
        assert status == 303 and headers["Location"] == "/console/signed-out"
        browser.cookie = cookie  # the old cookie, kept by someone: it is over too
        assert (await browser.get("/console"))[0] == 303


async def test_a_commissioner_sees_their_area_only(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.submit("o-jn", 1, "1")
        await s.submit("o-jn2", 3, "1")
        await s.submit("o-qd", 2, "2")
        async with s.http.post(s.bot.make_url("/api/admin/commissioners"),
                               json={"name": "王专员", "cities": ["济南"]},
                               headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            assert r.status == 201
            commissioner = (await r.json())["id"]
        browser = Browser(s)
        await browser.sign_in(await ConsoleStore(redis_client).new_link(
            ConsoleUser("王专员", commissioner)))
        status, html, _h = await browser.get("/console")
        assert status == 200 and "王专员" in html
        assert (tile(html, "submitted"), tile(html, "enterprises")) == ("2", "2")
        assert "济南市" in html and "青岛市" not in html
        # Nothing in the URL widens the area.
        wider = (await browser.get("/console?cities=青岛&scope=province"))[1]
        assert "青岛市" not in wider and tile(wider, "enterprises") == "2"
        # The Excel file is the area's too.
        async with s.http.get(s.bot.make_url("/console/export.xlsx?cities=青岛"),
                              headers={"Cookie": f"dxbot_console={browser.cookie}"}) as r:
            assert r.status == 200 and "spreadsheetml" in r.headers["Content-Type"]
            book = load_workbook(io.BytesIO(await r.read()), read_only=True)
        cells = {str(v) for sheet in book.worksheets for line in sheet.iter_rows(values_only=True)
                 for v in line if v is not None}
        assert code(1) in cells and code(3) in cells and code(2) not in cells


async def test_an_expired_link_is_refused(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        token = await ConsoleStore(redis_client).new_link(ConsoleUser("x", None), ttl=1)
        await asyncio.sleep(1.2)
        browser = Browser(s)
        status, _html, _h = await browser.post("/console/sign-in", {"token": token})
        assert status == 403 and browser.cookie is None
        for bad in ("", "x" * 500, "not-a-token"):
            assert (await browser.post("/console/sign-in", {"token": bad}))[0] == 403
        assert (await browser.post("/console/sign-in", {}))[0] == 403


def test_dxbot_console_link_prints_a_link(tmp_path: Path) -> None:
    done = cli.dxbot(tmp_path, "console-link", "--name", "省厅 张三")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/console/sign-in/[A-Za-z0-9_-]{43}\n",
                        done.stdout)
    assert cli.dxbot(tmp_path, "console-link", "--name", "x", "--commissioner",
                     "99").returncode == 1
    assert cli.dxbot(tmp_path, "console-link", "--name", " ").returncode == 2


async def test_a_commissioner_asks_the_chat_for_a_link(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.submit("o-jn", 1, "1")
        await s.submit("o-qd", 2, "2")
        async with s.http.post(s.bot.make_url("/api/admin/commissioners"),
                               json={"name": "王专员", "cities": ["济南"]},
                               headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            issued = await r.json()
        assert (await s.say("o-wang", f"绑定 {issued['code']}")).startswith("绑定成功")
        reply = await s.say("o-wang", "后台")
        found = re.search(r"/console/sign-in/([A-Za-z0-9_-]{43})", reply)
        assert found is not None and "10" in reply, reply
        browser = Browser(s)
        await browser.sign_in(found.group(1))
        html = (await browser.get("/console"))[1]
        assert "王专员" in html and "济南市" in html and "青岛市" not in html
        # Someone who is no commissioner gets no link.
        other = await s.say("o-jn", "登录后台")
        assert "/console/" not in other


@pytest.mark.slow
async def test_sign_in_and_out_in_a_real_browser(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright

    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.submit("o-jn", 1, "1")
        token = await ConsoleStore(redis_client).new_link(ConsoleUser("省厅 张三", None))
        origin = str(s.bot.make_url("")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium(),
                                               args=["--no-sandbox"])
            try:
                tab = await (await browser.new_context(viewport={"width": 1280,
                                                                 "height": 900})).new_page()
                fetched: list[str] = []
                problems: list[str] = []
                tab.on("request", lambda r: fetched.append(r.url))
                tab.on("console", lambda m: problems.append(m.text)
                       if m.type in ("error", "warning") else None)
                await tab.goto(f"{origin}/console/sign-in/{token}")
                await tab.get_by_role("button").click()
                await tab.wait_for_url(f"{origin}/console")
                assert await tab.locator("#submitted").inner_text() == "1"
                assert "省厅 张三" in await tab.locator("header").inner_text()
                await tab.screenshot(path=str(tmp_path / "console-overview.png"),
                                     full_page=True)
                await tab.get_by_role("button", name="退出登录").click()
                await tab.wait_for_url(f"{origin}/console/signed-out")
                await tab.goto(f"{origin}/console")
                assert tab.url == f"{origin}/console/signed-out"  # signed out for good
                assert all(url.startswith(origin + "/console") for url in fetched), fetched
                assert problems == []
            finally:
                await browser.close()


async def test_the_enterprise_list_filters_pages_and_nudges(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.submit("o-jn", 1, "1")  # 济南市, industry F, submitted
        await s.submit("o-qd", 2, "2")  # 青岛市
        sessions = session_factory(empty_database.engine())
        now = datetime.now(UTC)
        await import_rows(sessions, check_roster(
            [HEADER, row(5), row(6, name="济南未开始有限公司"),
             *(row(100 + i) for i in range(51))], builtin_reference()).rows, now)
        await activity.record(sessions, Activity(
            person_id="oa:o-draft", subject_id="oa:o-draft", draft_id="d5",
            credit_code=code(5), answered=10, total=31, started_at=now, last_active_at=now))
        async with s.http.post(s.bot.make_url("/api/admin/commissioners"),
                               json={"name": "王专员", "cities": ["济南"]},
                               headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            commissioner = (await r.json())["id"]
        wang = Browser(s)
        await wang.sign_in(await ConsoleStore(redis_client).new_link(
            ConsoleUser("王专员", commissioner)))

        async def listed(query: str) -> tuple[int, list[str], str]:
            status, html, _h = await wang.get("/console/enterprises" + query)
            assert status == 200
            return (int(tile(html, "total")), re.findall(r'data-code="([0-9A-Z]{18})"', html),
                    html)

        total, codes, html = await listed("")
        assert total == 54 and len(codes) == 50 and code(2) not in codes  # 济南 only, 50 a page
        assert 'rel="next"' in html and 'rel="prev"' not in html
        total, codes, html = await listed("?page=2")
        assert len(codes) == 4 and 'rel="prev"' in html
        assert (await listed("?status=in_progress"))[1] == [code(5)]
        assert "(10/31)" in (await listed("?status=in_progress"))[2]
        assert (await listed("?q=未开始"))[1] == [code(6)]
        assert (await listed(f"?q={code(1).lower()}"))[1] == [code(1)]
        assert (await listed("?industry=F"))[1] == [code(1)]
        assert (await listed("?status=submitted&level=9"))[1] == [code(1)]  # bad: ignored
        assert (await listed("?county=黄岛区"))[0] == 0  # a 青岛 county: nothing beyond the area
        assert (await listed("?status=bogus&page=-3"))[0] == 54

        # 催办 from the list: the chat's rules, and the CSRF token.
        form = {"code": [code(5), code(6), code(1), code(2)]}
        status, _html, _h = await wang.post("/console/enterprises/nudge", form)
        assert status == 403
        csrf = csrf_of(html)
        status, done, _h = await wang.post("/console/enterprises/nudge", {**form, "csrf": csrf})
        assert status == 200
        assert "已催办：1 家企业（1 条消息）" in done and "尚无人在微信中填报：1" in done
        assert "已提交：1" in done and "不在您的辖区：1" in done
        status, again, _h = await wang.post("/console/enterprises/nudge",
                                            {"code": [code(5)], "csrf": csrf})
        assert "三天内已催办：1" in again
        # 一企一档: within the area only; outside it, unknown or malformed: the same 404.
        status, file, _h = await wang.get(f"/console/enterprises/{code(1)}")
        assert status == 200 and "某某机械有限公司" in file and code(1) in file
        assert len(re.findall(r"<tr><td>", file)) == 1  # its one submission
        status, file, _h = await wang.get(f"/console/enterprises/{code(5)}")
        assert status == 200 and "10/31" in file and "最近催办" in file
        for other in (code(2), "91370100MA99999999", "nonsense"):
            status, file, _h = await wang.get(f"/console/enterprises/{other}")
            assert status == 404 and "青岛" not in file
        # The province sees every city, and sends no nudges.
        admin = Browser(s)
        await admin.sign_in(await ConsoleStore(redis_client).new_link(ConsoleUser("省厅", None)))
        status, html, _h = await admin.get("/console/enterprises?q=91370100MA00000")
        assert status == 200 and code(2) in html and 'name="code"' not in html
        status, _html, _h = await admin.post("/console/enterprises/nudge",
                                             {"code": [code(5)], "csrf": csrf_of(html)})
        assert status == 403
