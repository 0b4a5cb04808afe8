"""Our WeChat client against the fake WeChat server, over real HTTP, with a real Redis: the shared
access token, single-flight refresh across workers, retries on rejected tokens, and faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.fake_wechat import FakeWeChat, Fault
from bot.wechat_api import WeChatAPIError, WeChatClient, WeChatUnavailable

APPID, SECRET = "wx0a0a0a0a0a0a0a0a", "oa-secret-value"
MINI, MINI_SECRET = "wx0b0b0b0b0b0b0b0b", "mini-secret-value"


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeWeChat, str]]:
    wechat = FakeWeChat(grace_seconds=0)
    wechat.add_app(APPID, SECRET)
    wechat.add_app(MINI, MINI_SECRET)
    wechat.add_user(APPID, "o-ann", unionid="u-ann")
    wechat.add_user(APPID, "o-bob")
    server = TestServer(wechat.app(), host="127.0.0.1")
    await server.start_server(access_log=None)
    yield wechat, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client(http: aiohttp.ClientSession, redis: aioredis.Redis, base: str, *,
           appid: str = APPID, secret: str = SECRET, timeout: float = 5.0) -> WeChatClient:
    return WeChatClient(http, redis, base=base, appid=appid, secret=secret, timeout=timeout)


async def test_the_token_is_fetched_once_and_shared_by_workers(
    fake: tuple[FakeWeChat, str], http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    wechat, base = fake
    workers = [client(http, redis_client, base) for _ in range(3)]
    infos = await asyncio.gather(*(w.user_info("o-ann") for w in workers for _ in range(4)))
    assert all(info["unionid"] == "u-ann" for info in infos)
    assert len(wechat.calls_to("cgi-bin/token")) == 1
    assert len(wechat.calls_to("cgi-bin/user/info")) == 12


async def test_a_rejected_token_is_refreshed_once_and_the_call_repeated(
    fake: tuple[FakeWeChat, str], http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    wechat, base = fake
    worker = client(http, redis_client, base)
    assert await worker.unionid_of("o-ann") == "u-ann"
    wechat.add_fault(Fault("cgi-bin/user/info", errcode=40001))
    assert await worker.unionid_of("o-bob") is None
    assert len(wechat.calls_to("cgi-bin/token")) == 2
    assert [c["errcode"] for c in wechat.calls_to("cgi-bin/user/info")] == [0, 40001, 0]


async def test_another_workers_refresh_is_used_not_repeated(
    fake: tuple[FakeWeChat, str], http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    wechat, base = fake
    first, second = client(http, redis_client, base), client(http, redis_client, base)
    await first.user_info("o-ann")
    await second.user_info("o-ann")  # both hold token 1
    # Token 1 is replaced by the first worker (as after a 40001); with no grace period WeChat
    # now rejects it. The second worker must pick up token 2, not fetch token 3.
    stale = await first.access_token()
    await first.refresh(stale=stale)
    await second.user_info("o-bob")
    assert len(wechat.calls_to("cgi-bin/token")) == 2
    assert [c["errcode"] for c in wechat.calls_to("cgi-bin/user/info")] == [0, 0, 40001, 0]


async def test_expired_tokens_get_42001_and_are_replaced(
    http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    now = [1000.0]
    wechat = FakeWeChat(token_ttl=400, clock=lambda: now[0])
    wechat.add_app(APPID, SECRET)
    wechat.add_user(APPID, "o-ann")
    server = TestServer(wechat.app(), host="127.0.0.1")
    await server.start_server(access_log=None)
    try:
        worker = client(http, redis_client, str(server.make_url("")).rstrip("/"))
        await worker.user_info("o-ann")
        now[0] += 500  # past WeChat's expiry, though our copy still looks fresh
        await worker.user_info("o-ann")
        assert [c["errcode"] for c in wechat.calls_to("cgi-bin/user/info")] == [0, 42001, 0]
    finally:
        await server.close()


@pytest.mark.parametrize("errcode", [-1, 43101, 45009, 40003])
async def test_other_errors_keep_their_code(
    fake: tuple[FakeWeChat, str], http: aiohttp.ClientSession, redis_client: aioredis.Redis,
    errcode: int,
) -> None:
    wechat, base = fake
    worker = client(http, redis_client, base)
    wechat.add_fault(Fault("cgi-bin/message/custom/send", errcode=errcode))
    with pytest.raises(WeChatAPIError) as raised:
        await worker.send_custom_text("o-ann", "培训通知")
    assert raised.value.errcode == errcode
    assert len(wechat.calls_to("cgi-bin/message/custom/send")) == 1  # not retried here


async def test_slow_and_dropped_answers_are_unavailable(
    fake: tuple[FakeWeChat, str], http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    wechat, base = fake
    worker = client(http, redis_client, base, timeout=0.3)
    await worker.access_token()
    wechat.add_fault(Fault("cgi-bin/user/info", delay_ms=1000))
    with pytest.raises(WeChatUnavailable):
        await worker.user_info("o-ann")
    # aiohttp itself re-sends an idempotent request once when a kept-alive connection drops.
    wechat.add_fault(Fault("cgi-bin/user/info", drop=True, times=2))
    with pytest.raises(WeChatUnavailable):
        await worker.user_info("o-ann")
    assert (await worker.user_info("o-ann"))["openid"] == "o-ann"


async def test_messages_are_sent_in_wechats_shapes(
    fake: tuple[FakeWeChat, str], http: aiohttp.ClientSession, redis_client: aioredis.Redis,
) -> None:
    wechat, base = fake
    worker = client(http, redis_client, base)
    msgid = await worker.send_template("o-ann", "tmpl-training", {"thing1": "数字化普及培训"},
                                       url="https://example.com/n/1")
    assert msgid > 0
    await worker.send_custom_text("o-bob", "您好")
    [template] = wechat.calls_to("cgi-bin/message/template/send")
    assert template["body"] == {"touser": "o-ann", "template_id": "tmpl-training",
                                "data": {"thing1": {"value": "数字化普及培训"}},
                                "url": "https://example.com/n/1"}
    assert template["query"]["access_token"] == "***"
    with pytest.raises(WeChatAPIError) as raised:
        await worker.send_custom_text("o-nobody", "x")
    assert raised.value.errcode == 40003


async def test_login_codes_work_once_and_keep_the_session_key_out_of_logs(
    fake: tuple[FakeWeChat, str], http: aiohttp.ClientSession, redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wechat, base = fake
    mini = client(http, redis_client, base, appid=MINI, secret=MINI_SECRET)
    caplog.set_level(logging.DEBUG)
    linked = await mini.jscode2session(wechat.new_code(MINI, "m-ann", "u-ann"))
    assert (linked.openid, linked.unionid) == ("m-ann", "u-ann") and linked.session_key
    plain_code = wechat.new_code(MINI, "m-bob")
    plain = await mini.jscode2session(plain_code)
    assert plain.unionid is None
    with pytest.raises(WeChatAPIError) as used:
        await mini.jscode2session(plain_code)
    assert used.value.errcode == 40163
    with pytest.raises(WeChatAPIError) as unknown:
        await mini.jscode2session("made-up")
    assert unknown.value.errcode == 40029
    wrong = client(http, redis_client, base, appid=MINI, secret="wrong")
    with pytest.raises(WeChatAPIError) as refused:
        await wrong.jscode2session(wechat.new_code(MINI, "m-cat"))
    assert refused.value.errcode == 40125
    assert linked.session_key not in repr(linked)
    for text in (caplog.text, repr(wechat.calls)):
        assert linked.session_key not in text and MINI_SECRET not in text


async def test_the_control_endpoints_over_http(fake: tuple[FakeWeChat, str],
                                               http: aiohttp.ClientSession) -> None:
    wechat, base = fake
    async with http.post(f"{base}/_fake/codes", json={"appid": MINI, "openid": "m-x"}) as r:
        code = (await r.json())["code"]
    async with http.post(f"{base}/_fake/faults",
                         json={"endpoint": "sns/jscode2session", "errcode": -1}) as r:
        assert r.status == 200
    params = {"appid": MINI, "secret": MINI_SECRET, "js_code": code,
              "grant_type": "authorization_code"}
    async with http.get(f"{base}/sns/jscode2session", params=params) as r:
        assert (await r.json())["errcode"] == -1
    async with http.get(f"{base}/sns/jscode2session", params=params) as r:
        assert (await r.json())["openid"] == "m-x"
    async with http.get(f"{base}/_fake/calls", params={"endpoint": "sns/jscode2session"}) as r:
        calls = (await r.json())["calls"]
    assert [c["errcode"] for c in calls] == [-1, 0]
    assert all(c["query"]["secret"] == "***" for c in calls)
    async with http.delete(f"{base}/_fake/calls") as r:
        assert r.status == 200
    assert wechat.calls == []
