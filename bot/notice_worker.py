"""Sends notices: plans each due campaign into per-recipient deliveries on the queue, and sends
them through the channel WeChat permits, once per person.

Several workers (processes, machines) share the work through the queue's consumer group. The
delivery record decides who sends (queued -> sending is a compare-and-set), so an entry read
twice never sends twice. A worker that dies mid-send leaves at most `concurrency` deliveries in
`sending`; the next recovery pass treats them by policy: send again (default: a duplicate notice
is better than a missed training) or record them as `unknown`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.wechat_api import WeChatAPIError, WeChatClient, WeChatUnavailable
from flows.i18n import Translator
from flows.notices import Audience, Recipient, Skip, choose_channel
from storage import consents, deliveries, notices
from storage.archive import Sessions
from storage.notice_queue import Entry, NoticeQueue

log = logging.getLogger(__name__)

CHINA_TIME = timedelta(hours=8)
RETRIABLE = frozenset({-1})
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class NoticeChannels:
    """How notices may leave: the clients and the configured template ids."""

    oa: WeChatClient | None
    mp: WeChatClient | None
    oa_template: str | None = None
    mp_template: str | None = None


class NoticeWorker:
    def __init__(self, sessions: Sessions, queue: NoticeQueue, channels: NoticeChannels,
                 tr: Translator, *, name: str, concurrency: int = 16,
                 resend_unknown: bool = True, batch: int = 500, stale_after: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions = sessions
        self.queue = queue
        self.channels = channels
        self.tr = tr
        self.name = name
        self.resend_unknown = resend_unknown
        self.batch = batch
        self.stale_after = stale_after
        self.clock = clock
        self.concurrency = concurrency

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    # --- planning ---

    async def plan_due(self) -> int:
        """Start every due campaign (one worker wins each) and queue its recipients."""
        planned = 0
        for notice in await notices.due_notices(self.sessions, self.now()):
            if notice.status == "scheduled":
                try:
                    await notices.change_status(self.sessions, notice.id, "sending", self.now())
                except notices.NoticeStateError:
                    continue  # another worker started it
            planned += await self._plan(notice)
        return planned

    async def _plan(self, notice: notices.StoredNotice) -> int:
        after, done = await notices.plan_progress(self.sessions, notice.id)
        if done:
            return 0
        audience = Audience.from_data(notice.audience)
        queued = 0
        async for members in notices.stream_audience(self.sessions, audience, batch=self.batch,
                                                     after=after):
            ids = [m.person_id for m in members]
            # Records first, then entries, then the cursor: a crash anywhere re-plans at most
            # this batch, and the records' compare-and-set absorbs the repeated entries.
            await deliveries.queue(self.sessions, notice.id, ids, self.now())
            await self.queue.add(notice.id, ids)
            await notices.save_plan_progress(self.sessions, notice.id, ids[-1], done=False)
            queued += len(ids)
        await notices.save_plan_progress(self.sessions, notice.id, after, done=True)
        return queued

    # --- sending ---

    async def process(self, entries: list[Entry]) -> None:
        """Send what `entries` name, `concurrency` at a time: claim a chunk (one statement),
        send it concurrently, record the outcomes (one transaction), acknowledge. A crash
        leaves at most one chunk in `sending`."""
        by_notice: dict[int, list[Entry]] = {}
        for entry in entries:
            by_notice.setdefault(entry[1], []).append(entry)
        for notice_id, group in by_notice.items():
            notice = await notices.get_notice(self.sessions, notice_id)
            for start in range(0, len(group), self.concurrency):
                chunk = group[start:start + self.concurrency]
                await self._chunk(notice_id, notice, chunk)

    async def _chunk(self, notice_id: int, notice: notices.StoredNotice | None,
                     chunk: list[Entry]) -> None:
        claimed = await deliveries.claim_many(self.sessions, notice_id,
                                              [person for _e, _n, person in chunk], self.now())
        facts = await deliveries.facts_many(self.sessions, claimed, self.channels.mp_template)
        outcomes = await asyncio.gather(*(self._deliver(notice, person, facts.get(person))
                                          for person in sorted(claimed)))
        await deliveries.finish_many(self.sessions, notice_id, outcomes, self.now())
        again = [o.person_id for o in outcomes if o.status == "queued"]
        if again:
            await self.queue.add(notice_id, again)
        await self.queue.ack([entry_id for entry_id, _n, _p in chunk])

    async def _deliver(self, notice: notices.StoredNotice | None, person_id: str,
                       facts: deliveries.PersonFacts | None) -> deliveries.Outcome:
        Outcome = deliveries.Outcome
        if notice is None or notice.status == "cancelled":
            return Outcome(person_id, "skipped", reason="cancelled")
        if facts is None:
            return Outcome(person_id, "skipped", reason="unknown_person")
        last = facts.last_message_at
        recipient = Recipient(
            person_id=facts.person_id, channel="mp" if facts.channel == "mp" else "oa",
            subscribed=facts.subscribed, opted_out=facts.opted_out,
            last_message_at=None if last is None else int(last.timestamp()),
            consents=facts.consents)
        channel = choose_channel(
            recipient, int(self.clock()),
            template_configured=bool(self.channels.oa and self.channels.oa_template))
        if isinstance(channel, Skip):
            return Outcome(person_id, "skipped", reason=channel.reason)
        if channel == "subscribe":
            assert self.channels.mp_template is not None
            if not await consents.consume_consent(self.sessions, person_id,
                                                  self.channels.mp_template, self.now()):
                return Outcome(person_id, "skipped", reason="no_consent")
        try:
            await self._send(channel, facts.openid, notice)
        except WeChatAPIError as error:
            return await self._failed(notice.id, person_id, channel, error.errcode)
        except WeChatUnavailable:
            # It may or may not have arrived: the unknown-send policy decides.
            return Outcome(person_id, "queued" if self.resend_unknown else "unknown",
                           channel=channel, reason="no_answer")
        return Outcome(person_id, "sent", channel=channel)

    async def _failed(self, notice_id: int, person_id: str, channel: str,
                      errcode: int) -> deliveries.Outcome:
        if errcode == 43101 and self.channels.mp_template:
            await consents.revoke_consent(self.sessions, person_id, self.channels.mp_template,
                                          self.now())
        attempts = await deliveries.attempts(self.sessions, notice_id, person_id)
        if errcode in RETRIABLE and attempts < MAX_ATTEMPTS:
            await asyncio.sleep(min(2.0, 0.1 * 2 ** attempts))  # back off before re-queueing
            return deliveries.Outcome(person_id, "queued", channel=channel, errcode=errcode)
        return deliveries.Outcome(person_id, "failed", channel=channel, errcode=errcode)

    async def _send(self, channel: str, openid: str, notice: notices.StoredNotice) -> None:
        _ = self.tr.gettext
        start = (notice.starts_at + CHINA_TIME).strftime("%Y-%m-%d %H:%M")
        place = notice.place or notice.link or ""
        if channel == "template":
            assert self.channels.oa and self.channels.oa_template
            await self.channels.oa.send_template(
                openid, self.channels.oa_template,
                {"thing1": notice.title[:20], "time2": start, "thing3": place[:20]},
                url=notice.link)
        elif channel == "subscribe":
            assert self.channels.mp and self.channels.mp_template
            await self.channels.mp.send_subscribe(
                openid, self.channels.mp_template,
                {"thing1": notice.title[:20], "time2": start, "thing3": place[:20]})
        else:
            assert self.channels.oa
            lines = [f"【{notice.title}】", notice.body,
                     _("Time: {start}").format(start=start)]
            if place:
                lines.append(_("Place: {place}").format(place=place))
            await self.channels.oa.send_custom_text(openid, "\n".join(lines))

    # --- recovery and completion ---

    async def recover(self) -> int:
        """Deliveries a dead worker left in `sending`: by policy, send again or unknown."""
        before = self.now() - timedelta(seconds=self.stale_after)
        recovered = 0
        for notice_id, person_id in await deliveries.stale_sending(self.sessions, before):
            if await deliveries.resolve_stale(self.sessions, notice_id, person_id,
                                              resend=self.resend_unknown, now=self.now()):
                recovered += 1
                if self.resend_unknown:
                    await self.queue.add(notice_id, [person_id])
        return recovered

    async def complete_finished(self) -> None:
        for notice in await notices.due_notices(self.sessions, self.now()):
            if notice.status != "sending":
                continue
            _after, planned = await notices.plan_progress(self.sessions, notice.id)
            counts = await deliveries.counts(self.sessions, notice.id)
            if planned and not counts.get("queued") and not counts.get("sending"):
                with contextlib.suppress(notices.NoticeStateError):  # another worker did
                    await notices.change_status(self.sessions, notice.id, "sent", self.now())

    async def run_once(self, *, block_ms: int = 1000, count: int = 100) -> int:
        """One round: plan, take over abandoned entries, send what is queued, close campaigns.
        Returns how many entries were handled."""
        await self.plan_due()
        entries = await self.queue.take_over(self.name, min_idle_ms=int(self.stale_after * 1000),
                                             count=count)
        entries += await self.queue.read(self.name, count=count, block_ms=block_ms)
        await self.process(entries)
        await self.complete_finished()
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until `stop` is set; a failed round (database or Redis away) is retried."""
        ready = False
        recovered_at = float("-inf")
        while not stop.is_set():
            try:
                if not ready:
                    await self.queue.ensure_group()  # again after Redis lost the stream
                    ready = True
                if self.clock() - recovered_at >= self.stale_after:
                    # Sends another worker left in flight when it died (at start and then
                    # every `stale_after`, since a worker may die at any time).
                    await self.recover()
                    recovered_at = self.clock()
                await self.run_once()
            except Exception:
                log.exception("notice worker round failed; retrying in a second")
                ready = False
                await asyncio.sleep(1)


def build_worker(sessions: Sessions, redis: Any, channels: NoticeChannels, tr: Translator, *,
                 resend_unknown: bool, stale_after: float) -> NoticeWorker:
    """The worker as `dxbot serve` and `dxbot worker` run it."""
    return NoticeWorker(sessions, NoticeQueue(redis), channels, tr,
                        name=f"{socket.gethostname()}-{os.getpid()}",
                        resend_unknown=resend_unknown, stale_after=stale_after)
