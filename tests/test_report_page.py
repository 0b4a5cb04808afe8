"""The owner's report page (`/r/<token>`) inside `dxbot serve`: the link every result carries,
what the page shows (level, scores, the radar chart, the scenes, the gap and suggestions),
nothing fetched from elsewhere, links that do not work (malformed, unknown, expired, revoked)
answered 404 alike, and the comparison with peers (never below five, the numbers checked
against the archive)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import update

from bot.report.links import digest
from storage import report_links
from storage.archive import Profile, record_submission
from storage.db import session_factory
from storage.models import ReportLink
from tests.db_fixtures import EmptyDatabase
from tests.test_archive import make_record
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
        refs = re.findall(r'(?:src|href)="([^"]*)"', html)
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
            from flows.profile import credit_code_check_char
            await record_submission(sessions, make_record(
                f"peer-{i}", person_id=f"oa:peer-{i}", total=total, level=i % 3,
                profile=Profile(name=f"同行{i}有限公司", credit_code=first17
                                + credit_code_check_char(first17), city="济南市",
                                county="历下区", industry="F")))
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
