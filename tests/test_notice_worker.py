"""Notice delivery against the fake WeChat server: real Redis Streams, real databases, real
HTTP. Every recipient is reached once through the channel WeChat permits, or skipped with the
reason; repeated queue entries, two workers, faults and a dead worker's sends included."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from sqlalchemy import event, update

from bot.devtools.fake_wechat import FakeWeChat, Fault
from bot.health import Heartbeat
from bot.translations import translator
from bot.wechat.client import WeChatClient
from bot.worker.notices import NoticeChannels, NoticeWorker
from flows.notices import NoticeSpec, parse_notice
from flows.profile import builtin_reference
from storage import consents, deliveries, notices, registrations
from storage.archive import set_subscribed, touch_person
from storage.db import Sessions
from storage.models import NoticeDelivery
from storage.notice_queue import NoticeQueue
from storage.send_rate import SendRate

OA, OA_SECRET, MINI, MINI_SECRET = "wxoa00000000000001", "s1", "wxmp00000000000002", "s2"
OA_TEMPLATE, MP_TEMPLATE = "tmpl-oa-notice", "tmpl-mp-notice"
REFERENCE = builtin_reference()
NOTICE = {"kind": "training", "title": "数字化普及培训", "body": "面向企业负责人。",
          "starts_at": "2026-12-10T09:00:00+08:00", "place": "济南市历下区"}


class Setup:
    def __init__(self, wechat: FakeWeChat, sessions: Sessions, redis: aioredis.Redis,
                 http: aiohttp.ClientSession, base: str) -> None:
        self.wechat = wechat
        self.sessions = sessions
        self.redis = redis
        self.http = http
        self.base = base
        self.queue = NoticeQueue(redis, stream="dx:test:notices")
        self.names = iter(range(1000))

    def worker(self, *, oa_template: str | None = OA_TEMPLATE, resend: bool = True,
               stale_after: float = 60.0, **options: Any) -> NoticeWorker:
        oa = WeChatClient(self.http, self.redis, base=self.base, appid=OA, secret=OA_SECRET)
        mp = WeChatClient(self.http, self.redis, base=self.base, appid=MINI, secret=MINI_SECRET)
        return NoticeWorker(self.sessions, self.queue,
                            NoticeChannels(oa, mp, oa_template, MP_TEMPLATE),
                            translator("zh_CN"), name=f"w{next(self.names)}",
                            resend_unknown=resend, stale_after=stale_after, **options)

    async def person(self, channel: str, openid: str, *, subscribed: bool = True,
                     recent: bool = False) -> str:
        person_id = f"{channel}:{openid}"
        at = datetime.now(UTC)
        if channel == "oa":
            await set_subscribed(self.sessions, person_id, "oa", openid, subscribed, at)
            if recent:
                await touch_person(self.sessions, person_id, "oa", openid, at)
            self.wechat.add_user(OA, openid)
        else:
            await touch_person(self.sessions, person_id, "mp", openid, at)
            self.wechat.add_user(MINI, openid)
        return person_id

    async def consenting(self, openid: str) -> str:
        """A mini-program user who accepted the notice template once (we and WeChat know)."""
        person_id = await self.person("mp", openid)
        await consents.add_consents(self.sessions, person_id, [MP_TEMPLATE], datetime.now(UTC))
        self.wechat.add_consent(MINI, openid, MP_TEMPLATE)
        return person_id

    async def notice(self, **changes: Any) -> int:
        spec = parse_notice({**NOTICE, **changes}, REFERENCE, max_level=4)
        assert isinstance(spec, NoticeSpec)
        stored = await notices.create_notice(self.sessions, spec, datetime.now(UTC))
        await notices.change_status(self.sessions, stored.id, "scheduled", datetime.now(UTC),
                                    send_at=datetime.now(UTC) - timedelta(seconds=1))
        return stored.id

    async def drain(self, *workers: NoticeWorker) -> None:
        await self.queue.ensure_group()
        for _ in range(50):
            handled = await asyncio.gather(*(w.run_once(block_ms=50) for w in workers))
            if not any(handled):
                return
        raise AssertionError("the queue did not drain")

    def sends(self) -> list[dict[str, Any]]:
        return [c for c in self.wechat.calls if c["endpoint"].startswith("cgi-bin/message/")
                and c.get("errcode") == 0]


@contextlib.asynccontextmanager
async def wechat_setup(sessions: Sessions, redis_client: aioredis.Redis,
                       ) -> AsyncIterator[Setup]:
    """The fake WeChat on a loopback port with both apps and their notice templates."""
    wechat = FakeWeChat()
    wechat.add_app(OA, OA_SECRET)
    wechat.add_app(MINI, MINI_SECRET)
    wechat.add_template(OA, OA_TEMPLATE)
    wechat.add_template(MINI, MP_TEMPLATE)
    server = TestServer(wechat.app(), host="127.0.0.1")
    await server.start_server(access_log=None)
    async with aiohttp.ClientSession() as http:
        yield Setup(wechat, sessions, redis_client, http, str(server.make_url("")).rstrip("/"))
    await server.close()


@pytest.fixture
async def setup(sessions: Sessions, redis_client: aioredis.Redis) -> AsyncIterator[Setup]:
    async with wechat_setup(sessions, redis_client) as found:
        yield found


async def test_each_person_once_through_the_permitted_channel(setup: Setup) -> None:
    subscribed = await setup.person("oa", "o-sub")
    gone = await setup.person("oa", "o-gone", subscribed=False)
    opted = await setup.person("oa", "o-opted")
    await notices.set_opt_out(setup.sessions, opted, True)
    consenting = await setup.consenting("m-yes")
    silent = await setup.person("mp", "m-no")
    notice_id = await setup.notice()

    await setup.drain(setup.worker())

    records = await delivery_records(setup, notice_id)
    assert records == {
        subscribed: ("sent", "template", None), consenting: ("sent", "subscribe", None),
        gone: ("skipped", None, "unsubscribed"), opted: ("skipped", None, "opted_out"),
        silent: ("skipped", None, "no_consent")}
    sent = setup.sends()
    assert sorted(c["body"]["touser"] for c in sent) == ["m-yes", "o-sub"]
    template = next(c for c in sent if c["endpoint"].endswith("template/send"))
    assert template["body"]["data"]["thing1"] == {"value": "数字化普及培训"}
    assert template["body"]["data"]["time2"] == {"value": "2026-12-10 09:00"}
    assert await consents.consent_balances(setup.sessions, consenting) == {MP_TEMPLATE: 0}
    stored = await notices.get_notice(setup.sessions, notice_id)
    assert stored is not None and stored.status == "sent"

    # Nothing happens twice: another round, repeated entries, a second worker.
    await setup.queue.add(notice_id, list(records))
    await setup.drain(setup.worker(), setup.worker())
    assert len(setup.sends()) == 2


async def test_every_chunk_sent_is_a_heartbeat(setup: Setup) -> None:
    # A busy round may take long (WeChat's timeouts, retries' back-off, the send rate): the
    # liveness probe hears from it after each chunk, not only when the round is over.
    for i in range(5):
        await setup.person("oa", f"o-{i}")
    await setup.notice()
    ticks = itertools.count()
    heartbeat = Heartbeat(clock=lambda: next(ticks))  # tick 0 at its creation
    await setup.drain(setup.worker(concurrency=2, heartbeat=heartbeat))
    assert heartbeat.at == 3  # chunks of 2, 2 and 1


async def test_without_a_template_only_recent_chatters_get_a_customer_service_message(
    setup: Setup,
) -> None:
    recent = await setup.person("oa", "o-recent", recent=True)
    quiet = await setup.person("oa", "o-quiet")
    notice_id = await setup.notice()
    await setup.drain(setup.worker(oa_template=None))
    records = await delivery_records(setup, notice_id)
    assert records[recent] == ("sent", "custom", None)
    assert records[quiet] == ("skipped", None, "no_template")
    [custom] = setup.sends()
    assert custom["body"]["text"]["content"].startswith("【数字化普及培训】")


async def test_two_workers_share_a_campaign_without_duplicates(setup: Setup) -> None:
    people = [await setup.person("oa", f"o-{i:03d}") for i in range(120)]
    notice_id = await setup.notice()
    await setup.drain(setup.worker(), setup.worker(), setup.worker())
    assert (await deliveries.counts(setup.sessions, notice_id)) == {"sent": 120}
    assert sorted(c["body"]["touser"] for c in setup.sends()) == sorted(
        p.split(":")[1] for p in people)


async def test_faults(setup: Setup) -> None:
    busy = await setup.person("oa", "o-busy")
    refused = await setup.consenting("m-refused")
    setup.wechat.add_fault(Fault("cgi-bin/message/template/send", errcode=-1))
    setup.wechat.add_fault(Fault("cgi-bin/message/subscribe/send", errcode=43101))
    notice_id = await setup.notice()
    await setup.drain(setup.worker())
    records = await delivery_records(setup, notice_id)
    assert records[busy] == ("sent", "template", None)  # -1 was retried
    assert records[refused] == ("failed", "subscribe", None)
    failed = await deliveries.counts(setup.sessions, notice_id)
    assert failed == {"sent": 1, "failed": 1}
    assert await consents.consent_balances(setup.sessions, refused) == {MP_TEMPLATE: 0}


@pytest.mark.parametrize("resend", [True, False])
async def test_sends_in_flight_when_a_worker_died(setup: Setup, resend: bool) -> None:
    people = [await setup.person("oa", f"o-{i}") for i in range(3)]
    notice_id = await setup.notice()
    dead = setup.worker()
    await dead.plan_due()
    # The dead worker had claimed two deliveries and never finished them.
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    assert set(await deliveries.claim_many(setup.sessions, notice_id, people[:2],
                                       long_ago)) == set(people[:2])
    async with setup.sessions() as session:
        await session.execute(update(NoticeDelivery).where(NoticeDelivery.status == "sending")
                              .values(updated_at=long_ago))
        await session.commit()
    survivor = setup.worker(resend=resend)
    assert await survivor.recover() == 2
    await setup.drain(survivor)
    expected = {"sent": 3} if resend else {"sent": 1, "unknown": 2}
    assert await deliveries.counts(setup.sessions, notice_id) == expected


async def test_a_cancelled_campaign_stops(setup: Setup) -> None:
    await setup.person("oa", "o-1")
    notice_id = await setup.notice()
    worker = setup.worker()
    await worker.plan_due()
    await notices.change_status(setup.sessions, notice_id, "cancelled", datetime.now(UTC))
    await setup.drain(worker)
    assert await deliveries.counts(setup.sessions, notice_id) == {"skipped": 1}
    assert setup.sends() == []


async def delivery_records(setup: Setup, notice_id: int) -> dict[str, tuple[Any, ...]]:
    async with setup.sessions() as session:
        rows = await session.execute(
            NoticeDelivery.__table__.select().where(NoticeDelivery.notice_id == notice_id))
        found = {}
        for row in rows:
            errcode = row.errcode if row.status != "failed" else None
            found[row.person_id] = (row.status, row.channel, row.reason or errcode)
        return found


class Clock:
    """The workers' time, moved by the test (the fake WeChat server keeps the real one)."""

    def __init__(self, at: datetime) -> None:
        self.at = at.timestamp()

    def __call__(self) -> float:
        return self.at

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, tz=UTC)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta).total_seconds()


STARTS = datetime(2026, 12, 10, 1, 0, tzinfo=UTC)  # NOTICE's 09:00 in China


def headlines(setup: Setup, since: int = 0) -> list[tuple[str, str]]:
    """(openid, thing1) of the template messages sent, in order."""
    return [(c["body"]["touser"], c["body"]["data"]["thing1"]["value"])
            for c in setup.sends()[since:] if c["endpoint"].endswith("template/send")]


async def test_reminders_go_to_registrants_once_before_the_start(setup: Setup) -> None:
    clock = Clock(STARTS - timedelta(days=2))
    a, b, c, d = [await setup.person("oa", f"o-{name}") for name in "abcd"]
    notice_id = await setup.notice(capacity=2)
    for person in (a, b, c, d):
        await registrations.sign_up(setup.sessions, notice_id, person, clock.now())
    await registrations.cancel(setup.sessions, notice_id, b, clock.now())  # c moves up
    await notices.set_opt_out(setup.sessions, a, True)  # still reminded of their own sign-up
    worker = setup.worker(clock=clock, remind_before=86400)
    await setup.drain(worker)
    sent = headlines(setup)
    assert sorted(sent) == sorted([("o-b", "数字化普及培训"), ("o-c", "数字化普及培训"),
                                   ("o-d", "数字化普及培训"), ("o-c", "报名成功：数字化普及培训")])
    clock.advance(hours=25)  # 23 hours before the start
    await setup.drain(worker, setup.worker(clock=clock, remind_before=86400))
    assert sorted(headlines(setup, len(sent))) == [("o-a", "开课提醒：数字化普及培训"),
                                                   ("o-c", "开课提醒：数字化普及培训")]
    clock.advance(hours=1)
    await setup.drain(worker)
    assert len(headlines(setup)) == len(sent) + 2  # once
    assert await deliveries.counts(setup.sessions, notice_id, purpose="reminder") == {
        "sent": 2}


async def test_a_withdrawal_before_the_message_is_sent_skips_it(setup: Setup) -> None:
    a, b = await setup.person("oa", "o-a"), await setup.person("oa", "o-b")
    notice_id = await setup.notice(capacity=1)
    now = datetime.now(UTC)
    await registrations.sign_up(setup.sessions, notice_id, a, now)
    await registrations.sign_up(setup.sessions, notice_id, b, now + timedelta(seconds=1))
    await registrations.cancel(setup.sessions, notice_id, a, now)  # b is promoted...
    await registrations.cancel(setup.sessions, notice_id, b, now)  # ...and withdraws at once
    await setup.drain(setup.worker())
    assert await deliveries.counts(setup.sessions, notice_id, purpose="promoted") == {
        "skipped": 1}
    assert all(not title.startswith("报名成功") for _o, title in headlines(setup))


async def test_a_cancelled_event_is_told_to_everyone_signed_up(setup: Setup) -> None:
    a, b, c = [await setup.person("oa", f"o-{name}") for name in "abc"]
    notice_id = await setup.notice(capacity=1)
    now = datetime.now(UTC)
    for i, person in enumerate((a, b, c)):
        await registrations.sign_up(setup.sessions, notice_id, person,
                                    now + timedelta(seconds=i))
    await registrations.cancel(setup.sessions, notice_id, c, now)
    await notices.set_opt_out(setup.sessions, b, True)
    await notices.change_status(setup.sessions, notice_id, "cancelled", now)
    await setup.drain(setup.worker(oa_template=None))
    assert await deliveries.counts(setup.sessions, notice_id, purpose="cancelled") == {
        "skipped": 2}  # no template and no recent message: no channel
    await touch_person(setup.sessions, a, "oa", "o-a", datetime.now(UTC))
    async with setup.sessions() as session:
        await session.execute(update(NoticeDelivery).values(status="queued"))
        await session.commit()
    await setup.drain(setup.worker(oa_template=None))
    [told] = setup.sends()
    assert told["body"]["touser"] == "o-a"
    assert told["body"]["text"]["content"] == (
        "【数字化普及培训】（2026-12-10 09:00）已取消，给您带来不便，敬请谅解。")


async def test_quota_reached_pauses_the_campaign_and_it_resumes_later(setup: Setup) -> None:
    people = [await setup.person("oa", f"o-{i:02d}") for i in range(40)]
    # Once the quota is spent WeChat refuses every send, also those of a worker that has not
    # seen the pause yet (it trusts its copy of the notice for a second).
    quota = setup.wechat.add_fault(Fault("cgi-bin/message/template/send", errcode=45009,
                                         times=None))
    notice_id = await setup.notice()
    clock = Clock(datetime.now(UTC))  # after the notice: it is due (sent from a second ago)
    worker = setup.worker(clock=clock, pause_seconds=600, concurrency=8)
    await setup.drain(worker, setup.worker(clock=clock, pause_seconds=600, concurrency=8))
    counts = await deliveries.counts(setup.sessions, notice_id)
    # At most the chunks in flight at the 45009 (two workers, 8 each) were sent.
    sent = counts.get("sent", 0)
    assert sent <= 16 and counts["queued"] == 40 - sent
    stored = await notices.get_notice(setup.sessions, notice_id)
    assert stored is not None and stored.status == "sending" and stored.paused(clock.now())
    clock.advance(seconds=300)
    await setup.drain(worker)  # still paused: nothing is sent
    assert (await deliveries.counts(setup.sessions, notice_id)).get("sent", 0) == sent
    setup.wechat.clear_faults(quota.id)  # a new day's quota
    clock.advance(seconds=301)
    await setup.drain(worker)
    assert await deliveries.counts(setup.sessions, notice_id) == {"sent": 40}
    assert sorted(c["body"]["touser"] for c in setup.sends()) == sorted(
        p.split(":")[1] for p in people)
    stored = await notices.get_notice(setup.sessions, notice_id)
    assert stored is not None and stored.status == "sent" and stored.paused_until is None


async def test_entries_lost_with_the_redis_stream_are_queued_again(setup: Setup) -> None:
    people = [await setup.person("oa", f"o-{i}") for i in range(25)]
    notice_id = await setup.notice()
    clock = Clock(datetime.now(UTC))  # after the notice: it is due (sent from a second ago)
    worker = setup.worker(clock=clock, stale_after=60)
    await setup.queue.ensure_group()
    await worker.plan_due()
    await setup.redis.delete(setup.queue.stream)  # Redis restarted without persistence
    await setup.drain(worker)
    assert await deliveries.counts(setup.sessions, notice_id) == {"queued": 25}
    assert await worker.recover() == 0  # not stale yet: they may still be on their way
    clock.advance(seconds=61)
    assert await worker.recover() == 25
    await setup.drain(worker)
    assert await deliveries.counts(setup.sessions, notice_id) == {"sent": 25}
    assert len(setup.sends()) == len(people)


@pytest.mark.slow  # 120 sends at 40 a second: over a second by design
async def test_the_send_rate_is_shared_by_the_workers(setup: Setup) -> None:
    await asyncio.gather(*(setup.person("oa", f"o-{i:03d}") for i in range(120)))
    notice_id = await setup.notice()
    rate = SendRate(setup.redis, 40, key="dx:test:rate")
    await setup.drain(*(setup.worker(rate=rate, concurrency=8) for _ in range(3)))
    assert await deliveries.counts(setup.sessions, notice_id) == {"sent": 120}
    times = sorted(c["time"] for c in setup.sends())
    # 120 sends at 40 a second need three one-second windows: more than a second apart.
    assert times[-1] - times[0] > 1.0
    per_second: dict[int, int] = {}
    for at in times:
        per_second[int(at)] = per_second.get(int(at), 0) + 1
    assert max(per_second.values()) <= 80  # at most two windows in any clock second


@pytest.mark.parametrize("drop", ["before", "after"])
async def test_no_answer_from_wechat_is_tried_again_and_reaches_the_person_once(
    setup: Setup, drop: str,
) -> None:
    """Connections cut before WeChat saw the send, or after it sent it: tried again after a
    pause; the repeat of a send that did go out is dropped by WeChat (client_msg_id)."""
    people = [await setup.person("oa", f"o-{i}") for i in range(3)]
    setup.wechat.add_fault(Fault("cgi-bin/message/template/send", drop=drop, times=2))
    notice_id = await setup.notice()
    await setup.drain(setup.worker())
    assert await deliveries.counts(setup.sessions, notice_id) == {"sent": 3}
    delivered = sorted(m["touser"] for m in setup.wechat.messages())
    assert delivered == sorted(p.split(":")[1] for p in people)


@pytest.mark.slow  # a campaign of 30,000
async def test_a_claim_looks_its_people_up_by_key_however_large_the_campaign(
        setup: Setup) -> None:
    """The plan of the claim on a queued campaign of 30,000: by the primary key with the people
    in the index condition, never a walk through the campaign's queue (that cost 13.6 ms a
    claim at 100,000 recipients on SQLite, and 30 ms on PostgreSQL before its statistics)."""
    notice_id = await setup.notice()
    people = [f"oa:p{i:05d}" for i in range(30000)]
    now = datetime.now(UTC)
    await deliveries.queue(setup.sessions, notice_id, people, now)
    await deliveries.refresh_statistics(setup.sessions)
    statement = deliveries.claim_statement(notice_id, "notice", people[100:164], now)
    async with setup.sessions() as session:
        connection = await session.connection()
        dialect = connection.dialect
        # The claim as SQLAlchemy sends it: the values through their column types, as the driver
        # gets them (a datetime as text on SQLite: sqlite3's own adapter is deprecated in 3.12).
        sent: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
            sent.append((sql, parameters))

        event.listen(connection.sync_connection, "before_cursor_execute", capture)
        try:
            await session.execute(statement)
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", capture)
        [(sql, values)] = sent
        driver = (await connection.get_raw_connection()).driver_connection
        if dialect.name == "sqlite":
            cursor = await driver.execute(  # type: ignore[union-attr]
                f"EXPLAIN QUERY PLAN {sql}", values)
            plan = " ".join(str(row[-1]) for row in await cursor.fetchall())
            assert "notice_id=? AND purpose=? AND person_id=?" in plan, plan
        else:
            rows = await driver.fetch(f"EXPLAIN {sql}", *values)  # type: ignore[union-attr]
            plan = " ".join(r[0] for r in rows)
            condition = plan.split("Index Cond:")[-1].split("Filter")[0]
            assert "pk_notice_deliveries" in plan and "person_id" in condition, plan
        await session.rollback()
