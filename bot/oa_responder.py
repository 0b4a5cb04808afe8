"""Answers Official Account messages: dedupe, the person's state, one flows step, the archive.

Per message: one Redis round trip claims the message and loads the state, the pure conversation
takes its step (performing any request it makes against the database), and one Redis round trip
saves the state with a version check together with the reply WeChat's retries will get.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.wechat_callback import InboundMessage
from flows.conversation import (
    ArchiveFound,
    Completion,
    Inbound,
    LoadResults,
    LookupArchive,
    Outcome,
    Request,
    RequestFailed,
    ResultsLoaded,
    SetSubscription,
    Submit,
    Submitted,
    SubscriptionSet,
    handle,
    resume,
)
from flows.state import Context, PastResult, State, dump_state, load_state
from storage import archive
from storage.conversations import ConversationStore

log = logging.getLogger(__name__)

CHANNEL = "oa"
# WeChat waits 5 s for an answer; a retry that finds the first delivery still running waits
# for its reply a little less than that.
RETRY_WAIT_SECONDS = 4.5
MAX_CONFLICT_RETRIES = 8


def person_id(openid: str) -> str:
    return f"{CHANNEL}:{openid}"


def _encode(reply: str | None) -> bytes:
    return b"" if reply is None else reply.encode("utf-8")


def _decode(reply: bytes) -> str | None:
    return reply.decode("utf-8") if reply else None


def _state_bytes(state: State) -> bytes:
    return json.dumps(dump_state(state), ensure_ascii=False, separators=(",", ":")).encode()


def _load(raw: bytes | None) -> State:
    return load_state(json.loads(raw) if raw else None)


def past_result(stored: archive.StoredResult) -> PastResult:
    return PastResult(level=stored.level, level_name=stored.level_name, total=stored.total,
                      submitted_at=int(stored.submitted_at.timestamp()),
                      enterprise_name=stored.enterprise_name, data=stored.result)


class OfficialAccountResponder:
    """The `Responder` of the WeChat callback for the questionnaire."""

    def __init__(self, ctx: Context, store: ConversationStore,
                 sessions: async_sessionmaker[AsyncSession], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        self.store = store
        self.sessions = sessions
        self.clock = clock

    async def __call__(self, message: InboundMessage) -> str | None:
        person = person_id(message.from_user)
        dedupe = message.dedupe_id
        claim = await self.store.claim(person, dedupe)
        if claim.duplicate:
            if claim.reply is not None:
                return _decode(claim.reply)
            reply = await self.store.wait_reply(person, dedupe, timeout=RETRY_WAIT_SECONDS)
            return None if reply is None else _decode(reply)
        try:
            return await self._process(person, dedupe, message, claim.state, claim.version)
        except BaseException:
            # Drop the pending marker: a later delivery (a retry after a timeout or cancellation)
            # is processed afresh instead of waiting for a reply that will never come.
            await asyncio.shield(self.store.release(person, dedupe))
            raise

    async def _process(self, person: str, dedupe: str, message: InboundMessage,
                       raw_state: bytes | None, version: int) -> str | None:
        inbound = self._inbound(message)
        for _attempt in range(MAX_CONFLICT_RETRIES):
            outcome = await self._step(person, message.from_user, _load(raw_state), inbound)
            state = outcome.state
            stored = None if state.draft is None and not state.pages else _state_bytes(state)
            committed = await self.store.commit(person, dedupe, expected_version=version,
                                                state=stored, reply=_encode(outcome.reply))
            if committed is not None:
                return outcome.reply
            # Another message of the same person saved first: take its state and step again.
            raw_state, version = await self.store.reload(person)
        raise RuntimeError(f"state of {person} kept changing; gave up after "
                           f"{MAX_CONFLICT_RETRIES} attempts")

    def _inbound(self, message: InboundMessage) -> Inbound:
        now = int(self.clock())
        new_id = uuid.uuid4().hex
        if message.msg_type == "text":
            return Inbound(kind="text", now=now, new_id=new_id, text=message.content)
        if message.msg_type == "event":
            return Inbound(kind="event", now=now, new_id=new_id, event=message.event,
                           event_key=message.event_key)
        return Inbound(kind="other", now=now, new_id=new_id, msg_type=message.msg_type)

    async def _step(self, person: str, openid: str, state: State, inbound: Inbound) -> Outcome:
        outcome = handle(self.ctx, state, inbound)
        while outcome.request is not None:
            completion = await self._perform(person, openid, outcome.request)
            outcome = resume(self.ctx, outcome.state, completion)
        return outcome

    async def _perform(self, person: str, openid: str, request: Request) -> Completion:
        try:
            return await self._carry_out(person, openid, request)
        except Exception:
            log.exception("request %s for %s failed", type(request).__name__, person)
            return RequestFailed(request)

    async def _carry_out(self, person: str, openid: str, request: Request) -> Completion:
        sessions = self.sessions
        if isinstance(request, LookupArchive):
            profile = await archive.enterprise_profile(sessions, request.credit_code)
            return ArchiveFound(None if profile is None else asdict(profile))
        if isinstance(request, Submit):
            await archive.record_submission(sessions, submission_record(request, person, CHANNEL))
            results = await archive.latest_results(
                sessions, credit_code=request.profile["credit_code"], limit=2)
            return Submitted(tuple(past_result(r) for r in results))
        if isinstance(request, LoadResults):
            results = await archive.latest_results(sessions, person_id=person, limit=2)
            return ResultsLoaded(tuple(past_result(r) for r in results))
        assert isinstance(request, SetSubscription)
        await archive.set_subscribed(sessions, person, CHANNEL, openid, request.subscribed,
                                     datetime.fromtimestamp(self.clock(), tz=UTC))
        return SubscriptionSet(request.subscribed)


def submission_record(request: Submit, person: str, channel: str) -> archive.SubmissionRecord:
    """What the archive keeps of a submission: every answer and figure, scores and level."""
    profile = request.profile
    assessment = request.assessment
    return archive.SubmissionRecord(
        draft_id=request.draft_id, person_id=person, channel=channel,
        indicator_set=request.set_id,
        profile=archive.Profile(
            name=profile["name"], credit_code=profile["credit_code"], city=profile["city"],
            county=profile["county"], industry=profile["industry"],
            industry_division=profile.get("industry_division"),
            employees=profile.get("employees")),
        answers={code: list(value) if isinstance(value, tuple) else value
                 for code, value in request.answers.items()},
        figures=dict(request.figures), total=assessment.total,
        dimensions=dict(assessment.dimensions), level=assessment.level,
        level_name=assessment.level_name, scene_levels=dict(assessment.scene_levels),
        result=dict(request.data),
        started_at=datetime.fromtimestamp(request.started_at, tz=UTC),
        submitted_at=datetime.fromtimestamp(request.submitted_at, tz=UTC))
