"""The owner's report page (`/r/<token>`) inside `dxbot serve`: the link every result carries,
what the page shows (level, scores, the radar chart, the scenes, the gap and suggestions),
nothing fetched from elsewhere, links that do not work (malformed, unknown, expired, revoked)
answered 404 alike, and the comparison with peers (never below five, the numbers checked
against the archive)."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import update

from bot.devtools.fake_wechat import Fault
from bot.report.links import ReportLinks, digest
from flows.answers import check_answers
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.profile import credit_code_check_char
from flows.scoring import assess
from storage import report_links
from storage.archive import Profile, record_submission
from storage.db import create_engine, migrate, session_factory
from storage.models import ReportLink
from tests import console
from tests.db_fixtures import EmptyDatabase
from tests.test_archive import T0, make_record, scored_record
from tests.test_notice_e2e import Service, service

LINK = re.compile(r"/r/([A-Za-z0-9_-]{32})")
NAME = "济南报告机械有限公司"


async def submit_for_link(s: Service, openid: str = "o-report", serial: int = 1,
                          scene_level: str = "2") -> str:
    """An owner submits in the chat; the token of the report link in the result."""
    await s.submit(openid, serial, "1", scene_level=scene_level, name=NAME, county="历下区")
    reply = await s.say(openid, "结果")  # the result again: a new link
    found = LINK.search(reply)
    assert found is not None, reply
    return found.group(1)


async def page(s: Service, token: str, query: str = "") -> tuple[int, str, dict[str, str]]:
    async with s.http.get(s.bot.make_url(f"/r/{token}{query}")) as r:
        return r.status, await r.text(), dict(r.headers)


async def test_the_result_links_to_a_page_with_everything_it_says(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        token = await submit_for_link(s)
        status, html, headers = await page(s, token)
        assert status == 200
        assert NAME in html and "自评报告" in html
        level = re.search(r'class="level-name" data-level="(\d)">([^<]+)<', html)
        assert level is not None and level.group(2).endswith("级")
        assert '<svg class="radar"' in html and html.count('class="dot"') >= 3
        assert html.count("<tr") == 1 + 16  # the head row and the 16 scenes
        assert "★" in html  # constraint scenes marked
        assert "现场评测" in html  # the official level needs on-site evaluation
        # Everything the page refers to is the bot's own.
        refs = [ref for ref in re.findall(r'(?:src|href)="([^"]*)"', html) if ref != "data:,"]
        assert refs and all(ref.startswith("/r/static/") for ref in refs), refs
        assert "http" not in "".join(refs)
        async with s.http.get(s.bot.make_url(refs[0])) as css:
            assert css.status == 200 and "text/css" in css.headers["Content-Type"]
        assert "script-src" not in headers["Content-Security-Policy"]
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in headers["Cache-Control"]
        # In English on request; an unknown language is the default one.
        status, english, _h = await page(s, token, "?lang=en")
        assert status == 200 and "Preliminary level" in english and "Business scenes" in english
        assert (await page(s, token, "?lang=xx"))[1] == html


async def test_links_that_do_not_work_are_404_and_tell_nothing(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        token = await submit_for_link(s)
        expired = await submit_for_link(s, "o-expired", 2)
        revoked = await submit_for_link(s, "o-revoked", 3)
        sessions = session_factory(empty_database.engine())
        async with sessions() as session:
            await session.execute(update(ReportLink).where(
                ReportLink.digest == digest(expired)).values(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            await session.commit()
        revoked_id = await report_links.submission_of(sessions, digest(revoked),
                                                      datetime.now(UTC))
        assert revoked_id is not None
        assert await report_links.revoke(sessions, revoked_id, datetime.now(UTC)) >= 1
        bodies = set()
        for bad in (secrets.token_urlsafe(24), expired, revoked, "short", token[:-1] + "!",
                    token + "A", "%00" * 11):
            status, html, headers = await page(s, bad)
            assert status == 404, bad
            assert NAME not in html and "91370100" not in html
            assert headers["Referrer-Policy"] == "no-referrer"
            bodies.add(html)
        assert len(bodies) == 1  # one answer for every kind of failure
        assert (await page(s, "../../etc/passwd"))[0] == 404
        assert (await page(s, token))[0] == 200  # the other links still work


@pytest.mark.parametrize("peers", [4, 5])
async def test_peers_compared_from_five_and_counted_from_the_archive(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path, peers: int,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        sessions = session_factory(empty_database.engine())
        # Other enterprises of 济南市 in industry F, with totals on both sides of the owner's.
        totals = ["10.5", "20.5", "30.5", "95.5", "99.5"][:peers]
        for i, total in enumerate(totals):
            first17 = f"91370100PE{i:07d}"
            profile = Profile(name=f"同行{i}有限公司", credit_code=first17
                              + credit_code_check_char(first17), city="济南市",
                              county="历下区", industry="F")
            await record_submission(sessions, make_record(
                f"peer-{i}", person_id=f"oa:peer-{i}", total=total, level=i % 3,
                profile=profile))
            # An older submission of the same enterprise: only its latest counts.
            await record_submission(sessions, make_record(
                f"peer-{i}-before", person_id=f"oa:peer-{i}", total="99.9", level=4,
                profile=profile, at=T0 - timedelta(days=30)))
        token = await submit_for_link(s)
        status, html, _h = await page(s, token)
        assert status == 200
        assert "同行" not in html.replace("同行对比", "")  # never a peer's name
        if peers < 5:
            assert "同行对比" not in html and "高于" not in html
            return
        assert "同行对比" in html
        total = Decimal(re.search(r'class="total"><strong>([\d.]+)<', html).group(1))  # type: ignore[union-attr]
        below = sum(Decimal(t) < total for t in totals)
        expected = round(100 * below / peers)
        assert f"高于已提交的 {peers} 家企业中 {expected}% 的企业" in html
        assert "济南市" in html
        assert "<span>四级</span> <span>0</span>" in html  # the older submissions are not counted


def pdf_text(path: Path) -> tuple[str, int]:
    """The PDF's text (poppler's pdftotext) and its number of pages (pdfinfo)."""
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout
    pages = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert pages is not None
    return text, int(pages.group(1))


async def test_the_pdf_holds_the_report(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        token = await submit_for_link(s)
        _status, html, _h = await page(s, token)
        level = re.search(r'data-level="\d">([^<]+)<', html).group(1)  # type: ignore[union-attr]
        counts = []
        for attempt in range(2):
            async with s.http.get(s.bot.make_url(f"/r/{token}.pdf")) as r:
                assert r.status == 200 and r.content_type == "application/pdf"
                assert "inline" in r.headers["Content-Disposition"]
                body = await r.read()
            assert body.startswith(b"%PDF-")
            path = tmp_path / f"report-{attempt}.pdf"
            path.write_bytes(body)
            text, pages = pdf_text(path)
            assert NAME in text and level in text and "91370100" in text
            assert "自评报告" in text and re.search(r"\b1\s*/\s*\d", text)  # page numbers
            counts.append(pages)
        assert counts[0] == counts[1] and 2 <= counts[0] <= 4
        fonts = subprocess.run(["pdffonts", str(tmp_path / "report-0.pdf")],
                               capture_output=True, text=True, check=True).stdout
        assert "CJK" in fonts and " yes " in fonts  # Chinese fonts embedded
        async with s.http.get(s.bot.make_url(f"/r/{secrets.token_urlsafe(24)}.pdf")) as r:
            assert r.status == 404 and r.content_type == "text/html"


@pytest.mark.slow
async def test_dxbot_report_writes_the_pdf_and_revokes_links(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/data/dxbot.sqlite3"
    await migrate(url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        iset = builtin_sets()[DEFAULT_SET_ID]
        raw = {"B1": ["B", "D"], "B2": "C", "B3": "B", "B4": list("BCDEFG"), "B5": "C",
               "B6": ["B"], "B7": ["B", "C"], "M1": "C", "M2": ["B"], "M3": ["B", "C"],
               "M4": "B", "R1": "B", "R2": "B", "R3": "A", "R4": "B",
               **{scene.code: i % 3 for i, scene in enumerate(iset.scenes)}}
        answers, figures, problems = check_answers(iset, raw)
        assert problems == []
        stored = await record_submission(sessions, scored_record(
            iset, assess(iset, answers), draft_id="cli", answers=answers, figures=figures))
        links = ReportLinks(sessions, "https://bot.example", days=30, clock=time.time)
        link = await links.new(stored.submission_id)
    finally:
        await engine.dispose()
    done = console.dxbot(tmp_path, "report", str(stored.submission_id), "out.pdf")
    assert done.returncode == 0, done.stderr
    text, pages = pdf_text(tmp_path / "out.pdf")
    assert stored.enterprise_name in text and pages >= 2
    english = console.dxbot(tmp_path, "report", str(stored.submission_id), "en.pdf",
                            "--lang", "en")
    assert english.returncode == 0 and "Preliminary level" in pdf_text(tmp_path / "en.pdf")[0]
    assert console.dxbot(tmp_path, "report", "999", "x.pdf").returncode == 1
    assert console.dxbot(tmp_path, "report", "1", "x.txt").returncode == 2
    assert not (tmp_path / "x.pdf").exists()
    revoked = console.dxbot(tmp_path, "report", str(stored.submission_id), "--revoke")
    assert revoked.returncode == 0 and "1" in revoked.stdout
    engine = create_engine(url)
    try:
        links = ReportLinks(session_factory(engine), "https://bot.example", days=30,
                            clock=time.time)
        assert await links.submission_of(link.rsplit("/", 1)[1]) is None
    finally:
        await engine.dispose()


def chromium() -> str:
    """Debian's chromium (`.ci/run` installs it): the browser of the browser tests."""
    found = os.environ.get("DXBOT_TEST_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("no chromium: install Debian's package (apt-get install chromium; .ci/run "
                    "does) or set DXBOT_TEST_CHROMIUM to a Chromium binary")
    return found


@pytest.mark.slow
async def test_the_page_in_a_real_browser_on_a_phone(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright

    async with service(empty_database, redis_socket, tmp_path) as s:
        token = await submit_for_link(s)
        origin = str(s.bot.make_url("")).rstrip("/")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium(),
                                               args=["--no-sandbox"])
            try:
                phone = await browser.new_context(viewport={"width": 390, "height": 844},
                                                  device_scale_factor=2, is_mobile=True)
                tab = await phone.new_page()
                fetched: list[str] = []
                problems: list[str] = []
                tab.on("request", lambda r: fetched.append(r.url))
                tab.on("console", lambda m: problems.append(m.text)
                       if m.type in ("error", "warning") else None)
                response = await tab.goto(f"{origin}/r/{token}")
                assert response is not None and response.status == 200
                level = await tab.locator(".level-name").inner_text()
                assert level.endswith("级")
                shape = await tab.locator("svg.radar polygon.shape").bounding_box()
                assert shape is not None and shape["width"] > 50 and shape["height"] > 50
                bar = await tab.locator("svg.bar").first.bounding_box()
                assert bar is not None and bar["width"] > 50  # the stylesheet applied
                assert await tab.locator("table.scenes tbody tr").count() == 16
                # Fits the phone: nothing wider than the screen.
                width = await tab.evaluate("document.documentElement.scrollWidth")
                assert width <= 390
                shot = tmp_path / "report-phone.png"
                await tab.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 20_000
                # Everything came from the bot, and nothing was refused by the page's policy.
                assert fetched and all(url.startswith(origin + "/r/") for url in fetched), \
                    fetched
                assert problems == []
            finally:
                await browser.close()


async def image_messages(s: Service, openid: str, *, wait: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait
    while True:
        found = [m for m in s.wechat.messages(openid) if m["body"].get("msgtype") == "image"]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_the_result_is_followed_by_its_chart_as_an_image(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.submit("o-chart", 1, "1", name=NAME, county="历下区")
        (sent,) = await image_messages(s, "o-chart")
        media = s.wechat.media[sent["body"]["image"]["media_id"]]
        assert media.data.startswith(b"\x89PNG\r\n\x1a\n") and 20_000 < len(media.data) < 2e6
        (upload,) = s.wechat.calls_to("cgi-bin/media/upload")  # one, for the one result
        assert upload["errcode"] == 0 and upload["query"]["type"] == "image"
        # 结果 shows the result again, and its chart again.
        await s.say("o-chart", "结果")
        for _ in range(100):
            if len(await image_messages(s, "o-chart")) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(await image_messages(s, "o-chart")) == 2
        # An ordinary answer is followed by nothing.
        await s.say("o-chart", "帮助")
        await asyncio.sleep(0.3)
        assert len(await image_messages(s, "o-chart")) == 2


async def test_a_chart_that_cannot_be_sent_leaves_the_text_result(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        s.wechat.add_fault(Fault("cgi-bin/media/upload", errcode=45009, times=None))
        await s.submit("o-nochart", 1, "1", name=NAME, county="历下区")
        reply = await s.say("o-nochart", "结果")
        assert NAME in reply and LINK.search(reply)
        for _ in range(100):
            if s.wechat.calls_to("cgi-bin/media/upload"):
                break
            await asyncio.sleep(0.05)
        assert s.wechat.calls_to("cgi-bin/media/upload")
        await asyncio.sleep(0.3)
        assert await image_messages(s, "o-nochart", wait=0) == []
        s.wechat.clear_faults()
        s.wechat.add_fault(Fault("cgi-bin/message/custom/send", drop="before", times=None))
        reply = await s.say("o-nochart", "结果")
        assert LINK.search(reply)
