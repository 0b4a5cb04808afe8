"""A worker killed mid-campaign (SIGKILL) and another taking over: every recipient reached, none
twice beyond the sends in flight at the kill, and the delivery records agree with what WeChat
(the fake) received. `dxbot worker` runs as real processes; the database is a SQLite file."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select

from bot.devtools.fake_wechat import FakeWeChat
from flows.notices import NoticeSpec, parse_notice
from flows.profile import builtin_reference
from storage import deliveries, notices
from storage.db import create_engine, migrate, session_factory
from storage.models import NoticeDelivery, Person
from tests.redis_fixtures import TEST_REDIS_URL_VAR

pytestmark = pytest.mark.slow  # `dxbot worker` processes, SIGKILL, 20,000 recipients

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OA, SECRET, TEMPLATE = "wxcrash00000000001", "crash-secret", "tmpl-crash"
RECIPIENTS = 20_000
CONCURRENCY = 64  # DXBOT_NOTICE_CONCURRENCY: at most this many sends in flight


def worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=log.parent,
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_sigkill_mid_campaign(tmp_path: Path, redis_client: aioredis.Redis,
                                    redis_socket: str | None) -> None:
    wechat = FakeWeChat()
    wechat.add_app(OA, SECRET)
    wechat.add_template(OA, TEMPLATE)
    fake = TestServer(wechat.app(), host="127.0.0.1")
    await fake.start_server(access_log=None)
    database_url = f"sqlite+aiosqlite:///{tmp_path}/crash.sqlite3"
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    for start in range(0, RECIPIENTS, 5000):
        rows = [{"id": f"oa:c{i:05d}", "channel": "oa", "openid": f"c{i:05d}",
                 "subscribed": True, "notices_opt_out": False, "created_at": now}
                for i in range(start, start + 5000)]
        async with sessions() as session:
            await session.execute(insert(Person), rows)
            await session.commit()
        for row in rows:
            wechat.add_user(OA, row["openid"])
    spec = parse_notice({"kind": "event", "title": "现场会", "body": "现场观摩。",
                         "starts_at": "2026-12-20T09:00:00+08:00"}, builtin_reference(),
                        max_level=4)
    assert isinstance(spec, NoticeSpec)
    notice = await notices.create_notice(sessions, spec, now)
    await notices.change_status(sessions, notice.id, "scheduled", now,
                                send_at=now - timedelta(seconds=1))

    env = {k: v for k, v in os.environ.items() if not k.startswith("DXBOT_")}
    env.update({
        "PYTHONPATH": str(PROJECT_ROOT), "DXBOT_DATA_DIR": str(tmp_path / "data"),
        "DXBOT_DATABASE_URL": database_url,
        "DXBOT_REDIS_URL": os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}",
        "DXBOT_WECHAT_APPID": OA, "DXBOT_WECHAT_SECRET": SECRET,
        "DXBOT_WECHAT_API_BASE": str(fake.make_url("")).rstrip("/"),
        "DXBOT_NOTICE_OA_TEMPLATE": TEMPLATE, "DXBOT_NOTICE_STALE_SECONDS": "2",
        "DXBOT_NOTICE_CONCURRENCY": str(CONCURRENCY)})
    log = tmp_path / "workers.log"
    sent_calls = lambda: [c for c in wechat.calls_to("cgi-bin/message/template/send")  # noqa: E731
                          if c["errcode"] == 0]
    first = worker(env, log)
    try:
        for _ in range(600):
            if len(sent_calls()) >= RECIPIENTS // 4:
                break
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = len(sent_calls())
        assert RECIPIENTS // 4 <= at_kill < RECIPIENTS, log.read_text()[-2000:]

        # The survivor takes over the dead worker's unacknowledged entries and its sends in
        # flight once they are stale (2 s here, a minute by default).
        second = worker(env, log)
        try:
            for _ in range(1200):
                stored = await notices.get_notice(sessions, notice.id)
                if stored is not None and stored.status == "sent":
                    break
                await asyncio.sleep(0.1)
            assert stored is not None and stored.status == "sent", log.read_text()[-2000:]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    finally:
        if first.poll() is None:
            first.kill()
        await fake.close()

    received = Counter(c["body"]["touser"] for c in sent_calls())
    assert len(received) == RECIPIENTS  # everyone reached
    twice = [openid for openid, n in received.items() if n > 1]
    print(f"\nkilled after {at_kill} sends; {len(twice)} recipients got it twice")
    assert len(twice) <= CONCURRENCY  # only sends in flight at the kill may repeat
    assert all(received[openid] == 2 for openid in twice)
    # ...and WeChat drops those repeats (same openid and client_msg_id within 10 minutes):
    # every recipient received the notice exactly once.
    delivered = Counter(m["touser"] for m in wechat.messages())
    assert len(delivered) == RECIPIENTS and set(delivered.values()) == {1}
    counts = await deliveries.counts(sessions, notice.id)
    assert counts == {"sent": RECIPIENTS}
    async with sessions() as session:
        retried = set(await session.scalars(select(NoticeDelivery.person_id).where(
            NoticeDelivery.notice_id == notice.id, NoticeDelivery.attempts > 1)))
    assert {f"oa:{openid}" for openid in twice} <= retried
    await engine.dispose()
