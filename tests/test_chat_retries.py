"""A chat message whose save loses to another message of the same person is stepped again on
the newer state; what its requests did the first time is not done again: a 绑定 code is spent
once and answered "bound", a 报名 is made once and answered "registered". Real Redis, real
database, the real responder; only the moment of the other message is chosen by the test."""

from __future__ import annotations

import secrets
from datetime import timedelta

import redis.asyncio as aioredis

from bot.chat.binding import Binder, bind_limiter
from bot.chat.commissioner_desk import CommissionerDesk
from bot.chat.effects import Effects
from bot.chat.matching import Matcher
from bot.chat.responder import OfficialAccountResponder
from bot.translations import translator
from bot.wechat.callback import InboundMessage
from bot.wechat.identity import OaIdentities, Who
from flows.commissioners import Scope, binding_code, code_digest
from flows.events import Completion, Request
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.profile import builtin_reference
from flows.state import Context, State
from storage import commissioners, registrations
from storage.archive import person_key
from storage.conversations import ConversationStore
from storage.db import Sessions
from storage.identities import SubjectAliases
from tests.test_registrations import T0, notice, people

CTX = Context(sets=builtin_sets(), default_set=DEFAULT_SET_ID, reference=builtin_reference(),
              tr=translator("zh_CN"))
NOW = (T0 + timedelta(minutes=5)).timestamp()


class RacedEffects(Effects):
    """The real effects, but right after the first request is carried out another message of
    the same person saves its state first (a second tap on the phone), so the step's own save
    meets a newer version and the step runs again."""

    def __init__(self, sessions: Sessions, store: ConversationStore, desk: CommissionerDesk,
                 binder: Binder) -> None:
        super().__init__(sessions, clock=lambda: NOW, desk=desk, binder=binder,
                         matcher=Matcher(sessions, CTX.iset(None), clock=lambda: NOW))
        self.store = store
        self.carried: list[Request] = []

    async def carry_out(self, request: Request, who: Who) -> Completion:
        completion = await super().carry_out(request, who)
        self.carried.append(request)
        if len(self.carried) == 1:
            state, version = await self.store.load(who.subject_id)
            other = State(pages=["the other message's page"], last_active=int(NOW))
            assert await self.store.save(who.subject_id, other, version) is not None
        return completion


def responder(sessions: Sessions, redis: aioredis.Redis) -> tuple[OfficialAccountResponder,
                                                                  RacedEffects]:
    store = ConversationStore(redis)
    desk = CommissionerDesk(sessions, clock=lambda: NOW)
    binder = Binder(sessions, bind_limiter(redis), clock=lambda: NOW, desk=desk)
    effects = RacedEffects(sessions, store, desk, binder)
    identities = OaIdentities(SubjectAliases(redis), unionid_of=None)
    return OfficialAccountResponder(CTX, store, effects, identities, clock=lambda: NOW), effects


def text(openid: str, content: str, msg_id: int) -> InboundMessage:
    return InboundMessage(from_user=openid, to_user="gh_test", create_time=int(NOW),
                          msg_type="text", msg_id=str(msg_id), content=content)


async def test_a_bind_retried_after_a_conflict_is_bound_once(
    sessions: Sessions, redis_client: aioredis.Redis,
) -> None:
    code = binding_code(secrets.token_bytes(32))
    await commissioners.add(sessions, "王专员", Scope(("济南市",)), code_digest(code) or "",
                            T0 + timedelta(days=3), T0)
    answer, effects = responder(sessions, redis_client)
    reply = await answer(text("o-jn", f"绑定 {code}", 1))
    assert reply is not None and reply.startswith("绑定成功：您是济南市的数字专员王专员"), reply
    assert len(effects.carried) == 1  # not carried out again on the second attempt
    # One of the hour's five tries was spent, not two: four more are still answered.
    for serial in range(2, 6):
        assert "绑定码无效" in (await answer(text("o-jn", "绑定 AAAAAAAAAA", serial)) or "")
    assert "尝试次数过多" in (await answer(text("o-jn", "绑定 AAAAAAAAAA", 6)) or "")


async def test_a_sign_up_retried_after_a_conflict_registers_once(
    sessions: Sessions, redis_client: aioredis.Redis,
) -> None:
    notice_id = await notice(sessions)
    await people(sessions, "o-owner")
    answer, effects = responder(sessions, redis_client)
    reply = await answer(text("o-owner", f"报名 {notice_id}", 1))
    assert reply is not None and reply.startswith("报名成功"), reply
    assert "已报名" not in reply
    assert len(effects.carried) == 1
    mine = await registrations.mine(sessions, [notice_id], person_key("oa", "o-owner"))
    assert mine[notice_id].status == "registered"
