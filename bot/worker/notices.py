"""Sends notices: plans each due campaign into per-recipient deliveries on the queue, sends them
through the channel WeChat permits, once per person, and sends each registrant's own messages
(the reminder before the start, a promotion from the waiting list, a cancellation), the
nudges to finish an assessment (a commissioner's 催办, the reminder of a draft left idle) and
each new 对接 lead to its provider's WeChat contact.

Several workers (processes, machines) share the work through the queue's consumer group. The
delivery record decides who sends (queued -> sending is a compare-and-set), so an entry read
twice never sends twice. A worker that dies mid-send leaves at most `concurrency` deliveries in
`sending`; the next recovery pass treats them by policy: send again (default: a duplicate notice
is better than a missed training) or record them as `unknown`. WeChat's 45009 (quota reached)
pauses the notice: its entries are dropped from the queue while the records stay queued, and
the worker that resumes it queues them again. All workers draw from one shared send rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.health import Heartbeat
from bot.wechat.client import WeChatAPIError, WeChatClient, WeChatUnavailable
from flows.i18n import Translator
from flows.messages import notices as notice_texts
from flows.notices import (
    PAST_OPT_OUT,
    WHOLE_TEXT,
    Audience,
    LeadNotice,
    NoticeMessage,
    Purpose,
    Recipient,
    Skip,
    choose_channel,
    signup_open,
)
from flows.profile import ProfileReference, builtin_reference
from storage import consents, deliveries, leads, notices, nudges, provider_contacts, registrations
from storage.activity import DRAFT_LIFETIME
from storage.db import Sessions
from storage.notice_queue import Entry, NoticeQueue
from storage.send_rate import SendRate

log = logging.getLogger(__name__)

RETRIABLE = frozenset({-1})
QUOTA_REACHED = 45009
MAX_ATTEMPTS = 3  # WeChat's -1 (system busy)
MAX_UNAVAILABLE_ATTEMPTS = 8  # no answer at all: about a minute of backing off in all
NOTICE_FRESH = 1.0  # seconds a worker trusts its copy of a notice (pause, cancellation)
IDLE_CHECK_SECONDS = 300.0  # how often a worker looks for drafts idle long enough
FOR_REGISTRANTS: tuple[Purpose, ...] = ("reminder", "promoted")  # only while still registered


def lead_of(notice: notices.StoredNotice | None) -> LeadNotice | None:
    """What a notice of kind `lead` tells the provider's contact (None for any other)."""
    data = None if notice is None else notice.audience.get("lead")
    return None if data is None else LeadNotice.from_data(data)


@dataclass(frozen=True)
class NoticeChannels:
    """How notices may leave: the clients and the configured template ids."""

    oa: WeChatClient | None
    mp: WeChatClient | None
    oa_template: str | None = None
    mp_template: str | None = None


class NoticeWorker:
    def __init__(self, sessions: Sessions, queue: NoticeQueue, channels: NoticeChannels,
                 tr: Translator, *, name: str, concurrency: int = 64,
                 resend_unknown: bool = True, batch: int = 500, stale_after: float = 60.0,
                 remind_before: float = 86400.0, pause_seconds: float = 3600.0,
                 idle_days: int = 7, rate: SendRate | None = None,
                 clock: Callable[[], float] = time.time,
                 heartbeat: Heartbeat | None = None,
                 reference: ProfileReference | None = None,
                 reads: Sessions | None = None) -> None:
        self.sessions = sessions
        self.reads = sessions if reads is None else reads  # audiences, read in batches
        self.reference = reference or builtin_reference()  # names a lead's industry
        self.queue = queue
        self.channels = channels
        self.tr = tr
        self.name = name
        self.resend_unknown = resend_unknown
        self.batch = batch
        self.stale_after = stale_after
        self.remind_before = remind_before  # 0: no reminders
        self.pause_seconds = pause_seconds
        self.idle_days = idle_days  # 0: no reminders of idle drafts
        self._idle_checked_at = float("-inf")
        self.rate = rate
        self.clock = clock
        self.concurrency = concurrency
        self.heartbeat = heartbeat or Heartbeat()  # the liveness probe's: the loop turns
        self._notices: dict[int, tuple[float, notices.StoredNotice | None]] = {}

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
        lease_ms = int(self.stale_after * 1000)
        if done or not await self.queue.plan_lease(notice.id, self.name, ttl_ms=lease_ms):
            return 0
        audience = Audience.from_data(notice.audience)
        queued = 0
        async for members in notices.stream_audience(self.reads, audience, batch=self.batch,
                                                     after=after, now=self.now()):
            if not await self.queue.plan_lease(notice.id, self.name, ttl_ms=lease_ms):
                return queued  # stalled past the lease: another worker plans on
            ids = [m.person_id for m in members]
            # Records first, then entries, then the cursor: a crash anywhere re-plans at most
            # this batch, and the records' compare-and-set absorbs the repeated entries.
            await deliveries.queue(self.sessions, notice.id, ids, self.now())
            await self.queue.add(notice.id, ids)
            await notices.save_plan_progress(self.sessions, notice.id, ids[-1], done=False)
            queued += len(ids)
        await notices.save_plan_progress(self.sessions, notice.id, after, done=True)
        if queued:
            await deliveries.refresh_statistics(self.sessions)
        return queued

    async def plan_reminders(self) -> list[int]:
        if self.remind_before <= 0:
            return []
        return await notices.plan_reminders(self.sessions, self.now(),
                                            timedelta(seconds=self.remind_before))

    async def remind_idle(self) -> int:
        """Nudge the owners of drafts idle for `idle_days`, once per idle period (checked every
        IDLE_CHECK_SECONDS; the claim is atomic, so workers never remind anyone twice)."""
        if self.idle_days <= 0 or self.clock() - self._idle_checked_at < IDLE_CHECK_SECONDS:
            return 0
        self._idle_checked_at = self.clock()
        reminded = 0
        while True:
            result = await nudges.remind_idle(self.sessions, self.now(),
                                              timedelta(days=self.idle_days))
            reminded += result.people
            if result.people + result.recent == 0:
                return reminded

    async def resume_paused(self) -> int:
        """Queue again what paused notices still owe, once their pause is over."""
        resumed = 0
        for notice_id in await notices.resume_due(self.sessions, self.now()):
            log.info("notice %d resumes after its pause", notice_id)
            async for persons in deliveries.queued_of(self.sessions, notice_id,
                                                      batch=self.batch):
                await self.queue.add(notice_id, persons)
                resumed += len(persons)
        return resumed

    # --- sending ---

    async def process(self, entries: Sequence[Entry]) -> None:
        """Send what the queue's `entries` name, `concurrency` at a time: claim a chunk (one
        statement), send it concurrently, record the outcomes (one transaction), acknowledge.
        A crash leaves at most one chunk in `sending`."""
        by_notice: dict[int, list[Entry]] = {}
        for entry in entries:
            by_notice.setdefault(entry.notice_id, []).append(entry)
        for notice_id, group in by_notice.items():
            for start in range(0, len(group), self.concurrency):
                chunk = group[start:start + self.concurrency]
                # Another worker may have paused or cancelled it meanwhile.
                notice = await self._notice(notice_id)
                if notice is not None and notice.paused(self.now()):
                    # The records stay queued; resume_paused queues them again.
                    await self.queue.ack([e.entry_id for e in group[start:]])
                    break
                await self._chunk(notice_id, "notice", notice, [e.person_id for e in chunk])
                await self.queue.ack([e.entry_id for e in chunk])

    async def _notice(self, notice_id: int) -> notices.StoredNotice | None:
        """The notice as read at most `NOTICE_FRESH` seconds ago: a pause or a cancellation
        reaches every worker that soon (sends in between are what WeChat refuses anyway, and
        are queued again)."""
        now = time.monotonic()
        cached = self._notices.get(notice_id)
        if cached is not None and now - cached[0] < NOTICE_FRESH:
            return cached[1]
        notice = await notices.get_notice(self.sessions, notice_id)
        if len(self._notices) > 1000:
            self._notices.clear()
        self._notices[notice_id] = (now, notice)
        return notice

    async def send_personal(self) -> int:
        """Registrants' own messages (reminders, promotions, cancellations), straight from
        their records."""
        due = await deliveries.personal_due(self.sessions, self.now(),
                                            limit=self.concurrency * 4)
        groups: dict[tuple[int, Purpose], list[str]] = {}
        for notice_id, purpose, person_id in due:
            groups.setdefault((notice_id, purpose), []).append(person_id)
        for (notice_id, purpose), persons in groups.items():
            notice = await self._notice(notice_id)
            for start in range(0, len(persons), self.concurrency):
                if await self._chunk(notice_id, purpose, notice,
                                     persons[start:start + self.concurrency]):
                    break
        return len(due)

    async def _chunk(self, notice_id: int, purpose: Purpose, notice: notices.StoredNotice | None,
                     persons: list[str]) -> bool:
        """Claim, send and record one chunk; True when WeChat paused the notice (45009)."""
        if self.rate is not None:
            await self.rate.acquire(len(persons))
        claims = await deliveries.claim_many(self.sessions, notice_id, persons, self.now(),
                                             purpose=purpose,
                                             template_id=self.channels.mp_template)
        signed_up = ({} if purpose not in FOR_REGISTRANTS else
                     await registrations.statuses_of(self.sessions, notice_id, claims))
        outcomes = await asyncio.gather(*(
            self._deliver(notice, purpose, person, claims[person], signed_up.get(person))
            for person in sorted(claims)))
        await deliveries.finish_many(self.sessions, notice_id, outcomes, self.now(),
                                     purpose=purpose)
        lead = lead_of(notice) if purpose == "lead" else None
        if lead is not None and any(o.status == "sent" for o in outcomes):
            # After the delivery's record: a crash in between leaves the lead untold in the
            # desk's eyes (the safe side: someone phones the provider once more).
            await leads.notified(self.sessions, lead.lead_id, self.now())
        self.heartbeat.beat()  # a long round still moves on
        paused = any(o.errcode == QUOTA_REACHED for o in outcomes)
        if paused:
            until = self.now() + timedelta(seconds=self.pause_seconds)
            log.warning("WeChat quota reached (45009): notice %d paused until %s", notice_id,
                        until.isoformat())
            await notices.pause(self.sessions, notice_id, until, QUOTA_REACHED)
            self._notices.pop(notice_id, None)
        again = [o.person_id for o in outcomes
                 if o.status == "queued" and o.errcode != QUOTA_REACHED]
        if again and purpose == "notice":  # personal messages are picked from their records
            await self.queue.add(notice_id, again)
        return paused

    async def _deliver(self, notice: notices.StoredNotice | None, purpose: Purpose,
                       person_id: str, claim: deliveries.Claim,
                       signed_up: str | None) -> deliveries.Outcome:
        Outcome = deliveries.Outcome
        facts = claim.facts
        if notice is None or (notice.status == "cancelled" and purpose != "cancelled"):
            return Outcome(person_id, "skipped", reason="cancelled")
        if purpose in FOR_REGISTRANTS and signed_up != "registered":
            return Outcome(person_id, "skipped", reason="not_registered")
        if purpose == "lead" and not await self._still_contact(notice, person_id):
            return Outcome(person_id, "skipped", reason="not_contact")
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
            template_configured=bool(self.channels.oa and self.channels.oa_template),
            own_reminder=purpose in PAST_OPT_OUT, whole_text=purpose in WHOLE_TEXT)
        if isinstance(channel, Skip):
            return Outcome(person_id, "skipped", reason=channel.reason)
        if channel == "subscribe":
            assert self.channels.mp_template is not None
            if not await consents.consume_consent(self.sessions, person_id,
                                                  self.channels.mp_template, self.now()):
                return Outcome(person_id, "skipped", reason="no_consent")
        try:
            await self._send(channel, facts.openid, notice, purpose)
        except WeChatAPIError as error:
            return await self._failed(person_id, channel, error.errcode, claim.attempts)
        except WeChatUnavailable as error:
            if error.maybe_sent and not self.resend_unknown:  # the unknown-send policy
                return Outcome(person_id, "unknown", channel=channel, reason="no_answer")
            # No answer (timeout, connection lost or refused): later, after a growing pause.
            return await _later(person_id, channel, claim.attempts, MAX_UNAVAILABLE_ATTEMPTS,
                                pause=(0.25, 30.0), reason="no_answer", gave_up="unavailable")
        return Outcome(person_id, "sent", channel=channel)

    async def _still_contact(self, notice: notices.StoredNotice, person_id: str) -> bool:
        """Whether the person is still the contact of the lead's provider: one unbound or moved
        to another provider since the lead was queued is not told of it (the mobile is for this
        provider's call only); the lead then waits in the desk's list."""
        lead = lead_of(notice)
        if lead is None:
            return False
        found = await provider_contacts.get(self.sessions, lead.provider_id)
        return found is not None and found.person_id == person_id

    async def _failed(self, person_id: str, channel: str, errcode: int,
                      attempts: int) -> deliveries.Outcome:
        if errcode == 43101 and self.channels.mp_template:
            await consents.revoke_consent(self.sessions, person_id, self.channels.mp_template,
                                          self.now())
        if errcode == QUOTA_REACHED:  # not this person's failure: sent after the pause
            return deliveries.Outcome(person_id, "queued", channel=channel, errcode=errcode,
                                      reason="paused")
        if errcode in RETRIABLE:
            return await _later(person_id, channel, attempts, MAX_ATTEMPTS, pause=(0.1, 2.0),
                                errcode=errcode)
        return deliveries.Outcome(person_id, "failed", channel=channel, errcode=errcode)

    async def _send(self, channel: str, openid: str, notice: notices.StoredNotice,
                    purpose: Purpose) -> None:
        lead = lead_of(notice) if purpose == "lead" else None
        message = NoticeMessage(
            id=notice.id, title=notice.title, body=notice.body, starts_at=notice.starts_at,
            place=notice.place, link=notice.link,
            signup_open=signup_open(cancelled=notice.status == "cancelled",
                                    starts_at=notice.starts_at,
                                    signup_deadline=notice.signup_deadline, now=self.now()),
            lead=lead, industry="" if lead is None else self.reference.industry_name(
                lead.industry, lead.industry_division))
        data = notice_texts.template_fields(self.tr, message, purpose)
        if channel == "template":
            assert self.channels.oa and self.channels.oa_template
            # WeChat drops a repeat of (openid, client_msg_id) within 10 minutes: a send
            # repeated after a crash (resend policy) does not reach the person twice.
            await self.channels.oa.send_template(openid, self.channels.oa_template, data,
                                                 url=notice.link,
                                                 client_msg_id=f"dx-{notice.id}-{purpose}")
        elif channel == "subscribe":
            assert self.channels.mp and self.channels.mp_template
            await self.channels.mp.send_subscribe(openid, self.channels.mp_template, data)
        else:
            assert self.channels.oa
            await self.channels.oa.send_custom_text(openid, notice_texts.custom_text(
                self.tr, message, purpose, draft_days=DRAFT_LIFETIME.days))

    # --- recovery and completion ---

    async def recover(self) -> int:
        """Deliveries a dead worker left in `sending`: by policy, send again or unknown. And
        campaign records whose queue entries are gone (the queue is empty, yet they wait)."""
        before = self.now() - timedelta(seconds=self.stale_after)
        recovered = 0
        for notice_id, purpose, person_id in await deliveries.stale_sending(self.sessions,
                                                                            before):
            if await deliveries.resolve_stale(self.sessions, notice_id, person_id,
                                              resend=self.resend_unknown, now=self.now(),
                                              purpose=purpose):
                recovered += 1
                if self.resend_unknown and purpose == "notice":
                    await self.queue.add(notice_id, [person_id])
        if await self.queue.size() == 0:
            lost: dict[int, list[str]] = {}
            for notice_id, person_id in await deliveries.lost_entries(self.sessions, before,
                                                                      self.now()):
                lost.setdefault(notice_id, []).append(person_id)
            for notice_id, persons in lost.items():
                paused = await notices.get_notice(self.sessions, notice_id)
                if paused is not None and not paused.paused(self.now()):
                    log.warning("notice %d: %d queued deliveries had no queue entry; queued "
                                "again", notice_id, len(persons))
                    await self.queue.add(notice_id, persons)
                    recovered += len(persons)
        return recovered

    async def complete_finished(self) -> None:
        for notice in await notices.due_notices(self.sessions, self.now()):
            if notice.status != "sending":
                continue
            _after, planned = await notices.plan_progress(self.sessions, notice.id)
            if planned and not await deliveries.pending(self.sessions, notice.id):
                with contextlib.suppress(notices.NoticeStateError):  # another worker did
                    await notices.change_status(self.sessions, notice.id, "sent", self.now())

    async def run_once(self, *, block_ms: int = 1000, count: int = 100) -> int:
        """One round: plan, take over abandoned entries, send what is queued, close campaigns.
        Returns how many deliveries were handled."""
        await self.plan_due()
        await self.plan_reminders()
        await self.remind_idle()
        await self.resume_paused()
        entries = await self.queue.take_over(self.name, min_idle_ms=int(self.stale_after * 1000),
                                             count=count)
        personal = await self.send_personal()
        entries += await self.queue.read(self.name, count=count,
                                         block_ms=0 if personal else block_ms)
        await self.process(entries)
        await self.complete_finished()
        return len(entries) + personal

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
            # A failed round counts: the loop turns (readiness tells what it waits for).
            self.heartbeat.beat()


async def _later(person_id: str, channel: str, attempts: int, limit: int, *,
                 pause: tuple[float, float], errcode: int | None = None,
                 reason: str | None = None, gave_up: str | None = None) -> deliveries.Outcome:
    """Queued again after a pause that doubles with each try (`pause`: the first and the
    longest), or failed once `limit` tries are spent."""
    if attempts >= limit:
        return deliveries.Outcome(person_id, "failed", channel=channel, errcode=errcode,
                                  reason=gave_up)
    first, longest = pause
    await asyncio.sleep(min(longest, first * 2 ** attempts))
    return deliveries.Outcome(person_id, "queued", channel=channel, errcode=errcode,
                              reason=reason)


def build_worker(sessions: Sessions, redis: Any, channels: NoticeChannels, tr: Translator,
                 settings: Settings, *, reads: Sessions | None = None) -> NoticeWorker:
    """The worker as `dxbot serve` and `dxbot worker` run it (`reads`: see
    storage.db.create_read_engine)."""
    rate = SendRate(redis, settings.notice_rate) if settings.notice_rate else None
    return NoticeWorker(sessions, NoticeQueue(redis), channels, tr,
                        name=f"{socket.gethostname()}-{os.getpid()}",
                        concurrency=settings.notice_concurrency,
                        resend_unknown=settings.notice_resend_unknown,
                        stale_after=settings.notice_stale_seconds,
                        remind_before=settings.notice_remind_seconds,
                        pause_seconds=settings.notice_pause_seconds,
                        idle_days=settings.idle_remind_days, rate=rate, reads=reads)
