"""Our WeChat client against the fake WeChat server, over real HTTP, with a real Redis: the shared
access token, single-flight refresh across workers, retries on rejected tokens, errors, timeouts,
dropped connections, login codes, message shapes, and nothing secret in logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.devtools.fake_wechat import FakeWeChat, Fault
from bot.wechat.client import (
    CodeSession,
    WeChatAPIError,
    WeChatClient,
    WeChatConnectionError,
    WeChatTimeout,
    WeChatUnavailable,
)

APPID, SECRET = "wx0a0a0a0a0a0a0a0a", "oa-secret-value"
MINI, MINI_SECRET = "wx0b0b0b0b0b0b0b0b", "mini-secret-value"
TOKEN_KEY = f"dx:{{wx:{APPID}}}:token"
LOCK_KEY = f"dx:{{wx:{APPID}}}:lock"


class Fake:
    def __init__(self, wechat: FakeWeChat, base: str) -> None:
        self.wechat = wechat
        self.base = base

    def token_calls(self) -> int:
        return len(self.wechat.calls_to("cgi-bin/stable_token"))

    def forced(self) -> list[bool]:
        """Per stable_token call: whether it asked for a forced refresh."""
        return [c["body"]["force_refresh"] for c in self.wechat.calls_to("cgi-bin/stable_token")]

    async def force_elsewhere(self, appid: str = APPID, secret: str = SECRET) -> None:
        """Another system on the same appid forces a refresh (ours is cut off at once)."""
        async with aiohttp.ClientSession() as http, http.post(
                f"{self.base}/cgi-bin/stable_token", json={
                    "grant_type": "client_credential", "appid": appid, "secret": secret,
                    "force_refresh": True}) as response:
            assert "access_token" in await response.json()

    def results(self, endpoint: str) -> list[int | None]:
        return [c["errcode"] for c in self.wechat.calls_to(endpoint)]


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    # No grace period: a superseded token fails at once, so a needless refresh shows up.
    wechat = FakeWeChat(grace_seconds=0)
    wechat.add_app(APPID, SECRET)
    wechat.add_app(MINI, MINI_SECRET)
    wechat.add_user(APPID, "o-ann", unionid="u-ann")
    wechat.add_user(APPID, "o-bob")
    wechat.add_user(MINI, "m-ann", unionid="u-ann")
    wechat.add_template(APPID, "tmpl-training", ["thing1", "time2"])
    wechat.add_template(MINI, "tmpl-event", ["thing1"])
    server = TestServer(wechat.app(), host="127.0.0.1")
    await server.start_server(access_log=None)
    yield Fake(wechat, str(server.make_url("")).rstrip("/"))
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client(http: aiohttp.ClientSession, redis: aioredis.Redis, base: str, *,
           appid: str = APPID, secret: str = SECRET, timeout: float = 5.0) -> WeChatClient:
    return WeChatClient(http, redis, base=base, appid=appid, secret=secret, timeout=timeout)


# --- the shared token ---


async def test_the_token_is_kept_in_redis_and_reused_by_another_worker(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    first = client(http, redis_client, fake.base)
    assert (await first.user_info("o-ann"))["unionid"] == "u-ann"
    stored = await redis_client.get(TOKEN_KEY)
    assert stored is not None
    assert 6800 <= await redis_client.ttl(TOKEN_KEY) <= 6900  # WeChat's 7200 less a margin
    second = client(http, redis_client, fake.base)  # another process, same Redis
    assert await second.access_token() == stored.decode()
    await second.user_info("o-bob")
    assert fake.token_calls() == 1
    assert [c["token_no"] for c in fake.wechat.calls_to("cgi-bin/user/info")] == [1, 1]


async def test_concurrent_callers_in_three_workers_fetch_one_token(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    workers = [client(http, redis_client, fake.base) for _ in range(3)]
    # Slow token answers widen the window in which the others would fetch too.
    fake.wechat.add_fault(Fault("cgi-bin/stable_token", delay_ms=200))
    infos = await asyncio.gather(*(workers[i % 3].user_info("o-ann") for i in range(10)))
    assert all(info["unionid"] == "u-ann" for info in infos)
    assert fake.token_calls() == 1
    assert fake.results("cgi-bin/user/info") == [0] * 10


async def test_apps_keep_separate_tokens(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    oa = client(http, redis_client, fake.base)
    mini = client(http, redis_client, fake.base, appid=MINI, secret=MINI_SECRET)
    assert await oa.access_token() != await mini.access_token()
    assert {c["appid"] for c in fake.wechat.calls_to("cgi-bin/stable_token")} == {APPID, MINI}
    assert await redis_client.exists(TOKEN_KEY, f"dx:{{wx:{MINI}}}:token") == 2


@pytest.mark.parametrize("errcode", [40001, 40014])
async def test_a_rejected_token_is_refreshed_once_and_the_call_repeated(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis, errcode: int,
) -> None:
    worker = client(http, redis_client, fake.base)
    assert await worker.unionid_of("o-ann") == "u-ann"
    fake.wechat.add_fault(Fault("cgi-bin/user/info", errcode=errcode))
    assert await worker.unionid_of("o-bob") is None
    # WeChat still hands out the token it rejected, so only a forced refresh replaces it.
    assert fake.forced() == [False, False, True]
    assert fake.results("cgi-bin/user/info") == [0, errcode, 0]
    assert fake.wechat.calls_to("cgi-bin/user/info")[-1]["token_no"] == 2
    assert (await redis_client.get(TOKEN_KEY)).decode() == await worker.access_token()


async def test_tokens_come_from_stable_token_for_both_apps(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    await client(http, redis_client, fake.base).user_info("o-ann")
    mini = client(http, redis_client, fake.base, appid=MINI, secret=MINI_SECRET)
    await mini.access_token()
    assert fake.wechat.calls_to("cgi-bin/token") == []
    assert [(c["query"], c["body"]) for c in fake.wechat.calls_to("cgi-bin/stable_token")] == [
        ({}, {"grant_type": "client_credential", "appid": APPID, "secret": "***",
              "force_refresh": False}),
        ({}, {"grant_type": "client_credential", "appid": MINI, "secret": "***",
              "force_refresh": False})]  # the secret in the body, never in a URL


async def test_two_systems_on_one_appid_do_not_knock_each_other_out(
    fake: Fake, redis_client: aioredis.Redis,
) -> None:
    # Two processes that share nothing: their own HTTP sessions and their own token caches
    # (another key prefix: as a second system on the same appid would).
    async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as two:
        first = WeChatClient(one, redis_client, base=fake.base, appid=APPID, secret=SECRET)
        second = WeChatClient(two, redis_client, base=fake.base, appid=APPID, secret=SECRET,
                              prefix="other")
        await first.user_info("o-ann")
        await second.user_info("o-ann")  # fetches a token of its own
        await first.user_info("o-bob")  # and the first one's still works
        await second.user_info("o-bob")
    assert fake.results("cgi-bin/user/info") == [0, 0, 0, 0]
    assert fake.token_calls() == 2
    assert {c["token_no"] for c in fake.wechat.calls_to("cgi-bin/user/info")} == {1}


async def test_another_systems_forced_refresh_is_picked_up_without_forcing_again(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    worker = client(http, redis_client, fake.base)
    await worker.user_info("o-ann")
    await fake.force_elsewhere()  # token 1 is cut off, token 2 is WeChat's current one
    await worker.user_info("o-bob")
    assert fake.results("cgi-bin/user/info") == [0, 40001, 0]
    assert fake.forced() == [False, True, False]  # ours, the other system's, ours
    assert fake.wechat.calls_to("cgi-bin/user/info")[-1]["token_no"] == 2


async def test_a_forced_refresh_is_not_repeated_within_a_minute(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    workers = [client(http, redis_client, fake.base) for _ in range(2)]
    fake.wechat.add_fault(Fault("cgi-bin/user/info", errcode=40001))
    await workers[0].user_info("o-ann")  # forced once: token 2
    fake.wechat.advance(40)  # WeChat would force again, but for nothing
    fake.wechat.add_fault(Fault("cgi-bin/user/info", errcode=40001))
    with pytest.raises(WeChatAPIError) as raised:
        await workers[1].user_info("o-ann")  # another process: the same token 2, rejected
    assert raised.value.errcode == 40001
    assert fake.forced() == [False, False, True, False]
    assert fake.results("cgi-bin/user/info") == [40001, 0, 40001]  # not repeated in vain


@pytest.mark.parametrize("refusal", ["interval", "quota"])
async def test_when_wechat_will_not_force_a_refresh_the_rejection_stands(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis, refusal: str,
) -> None:
    if refusal == "quota":  # another system spent the 20 forced refreshes of the day
        for _ in range(21):  # (the first only makes a token: there was none to replace)
            await fake.force_elsewhere()
            fake.wechat.advance(31)
    else:  # another system forced one 10 s ago: WeChat answers with that token again
        await fake.force_elsewhere()
        await fake.force_elsewhere()
        fake.wechat.advance(10)
    fake.wechat.clear_calls()
    worker = client(http, redis_client, fake.base)
    fake.wechat.add_fault(Fault("cgi-bin/user/info", errcode=40001))
    with pytest.raises(WeChatAPIError) as raised:
        await worker.user_info("o-ann")
    # The token's rejection, not 45009: the notice worker would take that for the send quota.
    assert raised.value.errcode == 40001
    assert fake.forced() == [False, False, True]
    assert fake.results("cgi-bin/stable_token") == [0, 0, 45009 if refusal == "quota" else 0]
    assert fake.results("cgi-bin/user/info") == [40001]


async def test_a_token_near_its_end_is_kept_no_longer_than_it_lives(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    await fake.force_elsewhere()  # another system's token, current for WeChat
    fake.wechat.advance(7200 - 30)
    worker = client(http, redis_client, fake.base)
    await worker.user_info("o-ann")  # stable_token hands out the same one, 30 s left
    assert 0 < await redis_client.ttl(TOKEN_KEY) <= 30


async def test_a_token_rejected_twice_is_not_refreshed_again(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    worker = client(http, redis_client, fake.base)
    fake.wechat.add_fault(Fault("cgi-bin/message/custom/send", errcode=40001, times=2))
    with pytest.raises(WeChatAPIError) as raised:
        await worker.send_custom_text("o-ann", "您好")
    assert raised.value.errcode == 40001
    assert fake.forced() == [False, False, True]  # stable_token gave the rejected one again


async def test_another_workers_refresh_is_used_not_repeated(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    first, second = client(http, redis_client, fake.base), client(http, redis_client, fake.base)
    await first.user_info("o-ann")
    await second.user_info("o-ann")  # both hold token 1
    # Token 1 is replaced by the first worker (as after a 40001); with no grace period WeChat
    # now rejects it. The second worker must pick up token 2, not fetch token 3.
    await first.refresh(stale=await first.access_token())
    await second.user_info("o-bob")
    assert fake.forced() == [False, False, True]  # all the first worker's (see above)
    assert fake.results("cgi-bin/user/info") == [0, 0, 40001, 0]


async def test_expired_tokens_get_42001_and_are_replaced(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    worker = client(http, redis_client, fake.base)
    await worker.user_info("o-ann")
    fake.wechat.advance(7200)  # past WeChat's expiry, though our copy still looks fresh
    await worker.user_info("o-ann")
    assert fake.results("cgi-bin/user/info") == [0, 42001, 0]
    assert fake.token_calls() == 2


async def test_a_worker_waits_for_the_refresh_another_holds(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    await redis_client.set(LOCK_KEY, "another-worker", px=10_000)
    waiting = asyncio.create_task(client(http, redis_client, fake.base).access_token())
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await redis_client.set(TOKEN_KEY, "token-of-the-other-worker", ex=600)  # its result
    assert await asyncio.wait_for(waiting, 2) == "token-of-the-other-worker"
    assert fake.token_calls() == 0


async def test_a_refresh_that_outlived_its_lock_does_not_overwrite_a_newer_token(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    fake.wechat.add_fault(Fault("cgi-bin/stable_token", delay_ms=300))
    refreshing = asyncio.create_task(client(http, redis_client, fake.base).access_token())
    await asyncio.sleep(0.1)
    # Meanwhile its lock ran out and another worker fetched and stored a newer token.
    await redis_client.set(LOCK_KEY, "next-holder", px=10_000)
    await redis_client.set(TOKEN_KEY, "newer-token", ex=600)
    assert await refreshing != "newer-token"  # its own token still works for this call
    assert await redis_client.get(TOKEN_KEY) == b"newer-token"
    assert await redis_client.get(LOCK_KEY) == b"next-holder"  # not released by the old holder


async def test_a_failed_token_fetch_releases_the_lock(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    wrong = client(http, redis_client, fake.base, secret="wrong")
    with pytest.raises(WeChatAPIError) as raised:
        await wrong.user_info("o-ann")
    assert raised.value.errcode == 40125
    assert await redis_client.exists(LOCK_KEY, TOKEN_KEY) == 0
    assert (await client(http, redis_client, fake.base).user_info("o-ann"))["subscribe"] == 1


# --- errors ---


@pytest.mark.parametrize("errcode", [-1, 43101, 45009])
async def test_wechat_errors_keep_their_code_and_are_not_retried(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis, errcode: int,
) -> None:
    worker = client(http, redis_client, fake.base)
    fake.wechat.add_fault(Fault("cgi-bin/message/custom/send", errcode=errcode))
    with pytest.raises(WeChatAPIError) as raised:
        await worker.send_custom_text("o-ann", "培训通知")
    assert raised.value.errcode == errcode
    assert " rid: " in raised.value.errmsg
    assert fake.results("cgi-bin/message/custom/send") == [errcode]


async def test_rule_errors_from_wechat(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    oa = client(http, redis_client, fake.base)
    mini = client(http, redis_client, fake.base, appid=MINI, secret=MINI_SECRET)
    cases = [
        (oa.send_custom_text("o-nobody", "x"), 40003),
        (oa.send_template("o-ann", "tmpl-unknown", {"thing1": "x"}), 40037),
        (oa.send_template("o-ann", "tmpl-training", {"thing1": "x"}), 47003),  # time2 missing
        (mini.send_subscribe("m-ann", "tmpl-event", {"thing1": "x"}), 43101),  # no consent
    ]
    for call, expected in cases:
        with pytest.raises(WeChatAPIError) as raised:
            await call
        assert raised.value.errcode == expected


@pytest.mark.slow  # waits out an answer delayed by a second
async def test_a_slow_answer_is_a_timeout(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    worker = client(http, redis_client, fake.base, timeout=0.3)
    await worker.access_token()
    fake.wechat.add_fault(Fault("cgi-bin/message/custom/send", delay_ms=1000))
    with pytest.raises(WeChatTimeout) as raised:
        await worker.send_custom_text("o-ann", "您好")
    assert isinstance(raised.value, WeChatUnavailable) and isinstance(raised.value, TimeoutError)
    assert raised.value.maybe_sent  # WeChat may still deliver it
    await asyncio.sleep(0.9)
    assert len(fake.wechat.messages("o-ann")) == 1  # and here it did


async def test_a_dropped_connection_is_a_connection_error(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    worker = client(http, redis_client, fake.base)
    await worker.access_token()
    fake.wechat.add_fault(Fault("cgi-bin/message/custom/send", drop=True))
    with pytest.raises(WeChatConnectionError) as raised:
        await worker.send_custom_text("o-ann", "您好")
    assert isinstance(raised.value, ConnectionError) and raised.value.maybe_sent
    assert fake.wechat.messages() == []
    fake.wechat.add_fault(Fault("cgi-bin/message/custom/send", drop="after"))
    with pytest.raises(WeChatConnectionError):
        await worker.send_custom_text("o-ann", "您好")
    assert len(fake.wechat.messages()) == 1  # delivered, though we never heard so
    # aiohttp itself re-sends an idempotent GET once when the connection drops.
    fake.wechat.add_fault(Fault("cgi-bin/user/info", drop=True, times=2))
    with pytest.raises(WeChatConnectionError):
        await worker.user_info("o-ann")
    assert (await worker.user_info("o-ann"))["openid"] == "o-ann"


async def test_no_server_is_a_connection_error_that_sent_nothing(
    http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    server = TestServer(FakeWeChat().app(), host="127.0.0.1")
    await server.start_server(access_log=None)
    base = str(server.make_url("")).rstrip("/")
    await server.close()  # nothing listens on that port now
    with pytest.raises(WeChatConnectionError) as raised:
        await client(http, redis_client, base).jscode2session("any")
    assert not raised.value.maybe_sent


# --- login codes ---


async def test_login_codes_with_and_without_unionid(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    mini = client(http, redis_client, fake.base, appid=MINI, secret=MINI_SECRET)
    linked = await mini.jscode2session(fake.wechat.new_code(MINI, "m-ann", "u-ann"))
    assert (linked.openid, linked.unionid) == ("m-ann", "u-ann") and linked.session_key
    plain_code = fake.wechat.new_code(MINI, "m-bob")
    plain = await mini.jscode2session(plain_code)
    assert (plain.openid, plain.unionid) == ("m-bob", None)
    with pytest.raises(WeChatAPIError) as used:
        await mini.jscode2session(plain_code)
    assert used.value.errcode == 40163
    with pytest.raises(WeChatAPIError) as unknown:
        await mini.jscode2session("made-up")
    assert unknown.value.errcode == 40029
    assert fake.token_calls() == 0  # login needs no access token


async def test_session_keys_secrets_and_tokens_stay_out_of_logs(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    mini = client(http, redis_client, fake.base, appid=MINI, secret=MINI_SECRET)
    found = await mini.jscode2session(fake.wechat.new_code(MINI, "m-ann", "u-ann"))
    oa = client(http, redis_client, fake.base)
    fake.wechat.add_fault(Fault("cgi-bin/user/info", errcode=40001))
    await oa.user_info("o-ann")  # a refresh, logged
    token = await oa.access_token()
    wrong = client(http, redis_client, fake.base, appid=MINI, secret="a-wrong-secret")
    with pytest.raises(WeChatAPIError) as refused:
        await wrong.jscode2session(fake.wechat.new_code(MINI, "m-cat"))
    assert refused.value.errcode == 40125
    assert "fetched a new access token" in caplog.text
    assert repr(found) == "CodeSession(openid='m-ann', unionid='u-ann', session_key='***')"
    assert found == CodeSession("m-ann", "u-ann", found.session_key)
    for secret in (found.session_key, MINI_SECRET, SECRET, "a-wrong-secret", token):
        assert secret not in caplog.text
        assert secret not in repr(oa) + repr(mini) + str(refused.value)
        assert secret not in repr(fake.wechat.calls)


# --- messages ---


async def test_messages_are_sent_in_wechats_shapes(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    oa = client(http, redis_client, fake.base)
    msgid = await oa.send_template(
        "o-ann", "tmpl-training", {"thing1": "数字化普及培训", "time2": "2025-03-01 09:00"},
        url="https://example.com/n/1", miniprogram={"appid": MINI, "pagepath": "pages/n?id=1"},
        client_msg_id="notice-1-o-ann")
    [template] = fake.wechat.messages("o-ann")
    assert template["msgid"] == msgid > 0
    assert template["body"] == {
        "touser": "o-ann", "template_id": "tmpl-training",
        "data": {"thing1": {"value": "数字化普及培训"}, "time2": {"value": "2025-03-01 09:00"}},
        "url": "https://example.com/n/1",
        "miniprogram": {"appid": MINI, "pagepath": "pages/n?id=1"},
        "client_msg_id": "notice-1-o-ann"}
    # The same client_msg_id again (a retry after a lost answer): WeChat does not send twice.
    assert await oa.send_template("o-ann", "tmpl-training", {"thing1": "数字化普及培训",
                                  "time2": "2025-03-01 09:00"},
                                  client_msg_id="notice-1-o-ann") == msgid
    assert len(fake.wechat.messages("o-ann")) == 1

    await oa.send_custom_text("o-bob", "您好")
    assert fake.wechat.messages("o-bob")[0]["body"] == {
        "touser": "o-bob", "msgtype": "text", "text": {"content": "您好"}}

    mini = client(http, redis_client, fake.base, appid=MINI, secret=MINI_SECRET)
    fake.wechat.add_consent(MINI, "m-ann", "tmpl-event")
    msgid = await mini.send_subscribe("m-ann", "tmpl-event", {"thing1": "创新大赛"},
                                      page="pages/event?id=3", miniprogram_state="formal")
    [subscribe] = fake.wechat.messages("m-ann")
    assert subscribe["msgid"] == msgid and subscribe["body"] == {
        "touser": "m-ann", "template_id": "tmpl-event", "data": {"thing1": {"value": "创新大赛"}},
        "page": "pages/event?id=3", "miniprogram_state": "formal"}
    assert all(c["query"] == {"access_token": "***"}
               for endpoint in ("cgi-bin/message/template/send", "cgi-bin/message/custom/send")
               for c in fake.wechat.calls_to(endpoint))


async def test_user_info_of_someone_who_left(
    fake: Fake, http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    fake.wechat.add_user(APPID, "o-ann", unionid="u-ann", subscribed=False)
    oa = client(http, redis_client, fake.base)
    assert await oa.user_info("o-ann") == {"subscribe": 0, "openid": "o-ann"}
    assert await oa.unionid_of("o-ann") is None
