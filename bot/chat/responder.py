"""Answers Official Account messages: dedupe, the person's state, one flows step, the archive.

Per message: one Redis round trip claims the message and loads the state, the pure conversation
takes its step (performing any request it makes against the database), and one Redis round trip
saves the state with a version check together with the reply WeChat's retries will get. When
another message of the same person saved first, the step runs again on that state; what its
requests did in the first attempt is remembered, never done twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from bot.chat.draft_progress import DraftProgress
from bot.chat.effects import Effects
from bot.chat.throttle import PerPersonThrottle
from bot.report.charts import ResultCharts
from bot.wechat.callback import InboundMessage
from bot.wechat.identity import OaIdentities, Who
from flows.conversation import handle, resume
from flows.events import (
    Completion,
    Followed,
    Inbound,
    MenuClick,
    Message,
    NotText,
    OtherEvent,
    Outcome,
    Request,
    RequestFailed,
    ResultsLoaded,
    Submitted,
    Text,
    Unfollowed,
)
from flows.state import Context, State
from storage.conversations import ConversationStore

log = logging.getLogger(__name__)

# WeChat waits 5 s for an answer; a retry that finds the first delivery still running waits
# for its reply a little less than that.
RETRY_WAIT_SECONDS = 4.5
MAX_CONFLICT_RETRIES = 8
# The 48-hour customer-service window needs the last contact to within minutes, not seconds.
CONTACT_INTERVAL = 600.0


class OfficialAccountResponder:
    """The `Responder` of the WeChat callback for the questionnaire."""

    def __init__(self, ctx: Context, store: ConversationStore, effects: Effects,
                 identities: OaIdentities, *, clock: Callable[[], float] = time.time,
                 charts: ResultCharts | None = None) -> None:
        self.ctx = ctx
        self.charts = charts  # None: results go without their chart as an image
        self.store = store
        self.effects = effects
        self.identities = identities
        self.clock = clock
        self.progress = DraftProgress(ctx, effects.sessions, clock=clock)
        self._contacts = PerPersonThrottle(CONTACT_INTERVAL)

    async def __call__(self, message: InboundMessage) -> str | None:
        who = await self.identities.who(message.from_user)
        person = who.subject_id  # drafts follow the human across channels
        dedupe = message.dedupe_id
        claim = await self.store.claim(person, dedupe)
        if claim.duplicate:
            if not claim.pending:
                return claim.reply
            return await self.store.wait_reply(person, dedupe, timeout=RETRY_WAIT_SECONDS)
        try:
            reply, state, done = await self._process(who, dedupe, message, claim.state,
                                                     claim.version)
        except BaseException:
            # Drop the pending marker: a later delivery (a retry after a timeout or cancellation)
            # is processed afresh instead of waiting for a reply that will never come.
            await asyncio.shield(self.store.release(person, dedupe))
            raise
        if message.msg_type != "event":  # events are not messages from the person
            await self._note_contact(who)
        await self.progress.note(who, state.draft)
        if self.charts is not None:
            shown = next((c.results[0] for _r, c in done
                          if isinstance(c, (Submitted, ResultsLoaded)) and c.results), None)
            if shown is not None:
                self.charts.after_reply(message, shown)
        return reply

    def replied(self, message: InboundMessage) -> None:
        """`bot.wechat.callback.AfterReply`: the reply went out; a result's chart may follow."""
        if self.charts is not None:
            self.charts.replied(message)

    async def _note_contact(self, who: Who) -> None:
        """Record when the person last wrote (customer-service messages are allowed for 48 h
        after): at most once per `CONTACT_INTERVAL` per person and process."""
        if not self._contacts.due(who.person_id, self.clock()):
            return
        try:
            await self.effects.touch(who)
        except Exception:
            log.warning("could not record the last contact of %s", who.person_id,
                        exc_info=True)

    async def _process(self, who: Who, dedupe: str, message: InboundMessage, state: State,
                       version: int) -> tuple[str | None, State, list[tuple[Request, Completion]]]:
        person = who.subject_id
        desk = self.effects.desk
        inbound = self._inbound(message, commissioner=desk is not None
                                and await desk.is_commissioner(who.person_id))
        done: list[tuple[Request, Completion]] = []  # across the attempts for this message
        for _attempt in range(MAX_CONFLICT_RETRIES):
            outcome = await self._step(who, state, inbound, done)
            committed = await self.store.commit(person, dedupe, expected_version=version,
                                                state=outcome.state, reply=outcome.reply)
            if committed is not None:
                return outcome.reply, outcome.state, done
            # Another message of the same person saved first: take its state and step again.
            state, version = await self.store.load(person)
        raise RuntimeError(f"state of {person} kept changing; gave up after "
                           f"{MAX_CONFLICT_RETRIES} attempts")

    def _inbound(self, message: InboundMessage, *, commissioner: bool) -> Inbound:
        return Inbound(message=_message(message), now=int(self.clock()),
                       new_id=secrets.token_hex(16), commissioner=commissioner)

    async def _step(self, who: Who, state: State, inbound: Inbound,
                    done: list[tuple[Request, Completion]]) -> Outcome:
        """The pure step with its requests carried out; a request an earlier attempt already
        carried out gets that completion again (a second 绑定 would find its code spent, a
        second 报名 would answer "already registered")."""
        outcome = handle(self.ctx, state, inbound)
        while outcome.request is not None:
            request = outcome.request
            completion = next((c for r, c in done if r == request), None)
            if completion is None:
                completion = await self._perform(who, request)
                done.append((request, completion))
            outcome = resume(self.ctx, outcome.state, completion)
        return outcome

    async def _perform(self, who: Who, request: Request) -> Completion:
        try:
            return await self.effects.carry_out(request, who)
        except Exception:
            log.exception("request %s for %s failed", type(request).__name__, who.person_id)
            return RequestFailed(request)


def _message(message: InboundMessage) -> Message:
    """What the person did, as the conversation reads it."""
    if message.msg_type == "text":
        return Text(message.content)
    if message.msg_type != "event":
        return NotText(message.msg_type)
    if message.event == "subscribe":
        return Followed()
    if message.event == "unsubscribe":
        return Unfollowed()
    if message.event == "click":
        return MenuClick(message.event_key)
    return OtherEvent(message.event)
