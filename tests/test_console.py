"""The web console inside `dxbot serve`: a one-time sign-in link (shown, then taken once by a
POST), the session cookie (HttpOnly, SameSite, scoped to /console), CSRF on every form, sign-out,
and the overview with the area's numbers: the province sees all, a 济南 commissioner 济南 only."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from storage.console_sessions import ConsoleStore, ConsoleUser
from tests import console as cli
from tests.db_fixtures import EmptyDatabase
from tests.test_notice_e2e import ADMIN, Service, service
from tests.test_report_page import chromium


class Browser:
    """Requests with a cookie of our own (aiohttp's jar ignores cookies for IP addresses) and no
    redirects followed, so that each answer can be checked."""

    def __init__(self, s: Service) -> None:
        self.s = s
        self.cookie: str | None = None

    async def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        return await self._call("GET", path, None)

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        return await self._call("POST", path, form)

    async def _call(self, method: str, path: str, form: dict[str, str] | None,
                    ) -> tuple[int, str, dict[str, str]]:
        headers = {"Cookie": f"dxbot_console={self.cookie}"} if self.cookie else {}
        async with self.s.http.request(method, self.s.bot.make_url(path), data=form,
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
        refs = [r for r in re.findall(r'(?:src|href)="([^"]*)"', html) if r != "data:,"]
        assert refs and all(r.startswith("/console/static/") for r in refs)
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
