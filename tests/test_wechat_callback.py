"""The WeChat callback over real HTTP, driven by the WeChat simulator: URL check, the three message
modes, every rejection (and that it never reaches the responder), replies, retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from wechatpy import parse_message

from bot.devtools.simulator import (
    DEFAULT_ACCOUNT,
    ReplyTimeout,
    WeChatSimulator,
    WeChatSimulatorError,
    next_msg_id,
)
from bot.wechat.callback import (
    AFTER_REPLY_KEY,
    MAX_BODY,
    RESPONDER_KEY,
    InboundMessage,
    add_wechat_routes,
)

TOKEN = "callback-test-token"
APPID = "wx0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OTHER_AES_KEY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
NOW = 1_700_000_000
OPENID = "oUser-0001"


def fixed_clock() -> float:
    return float(NOW)


class Recorder:
    """A responder that remembers every message and answers with `answer(message)`."""

    def __init__(self, answer: Callable[[InboundMessage], Awaitable[str | None]] | None = None):
        self.calls: list[InboundMessage] = []
        self._answer = answer

    async def __call__(self, message: InboundMessage) -> str | None:
        self.calls.append(message)
        if self._answer is not None:
            return await self._answer(message)
        if message.msg_type == "text":
            return f"echo: {message.content}"
        return f"{message.msg_type}/{message.event}"


Start = Callable[..., Awaitable[str]]
MakeSim = Callable[..., WeChatSimulator]


@pytest.fixture
async def start(aiohttp_server: Any) -> Start:
    """Start a server with the callback; returns its callback URL."""

    async def go(responder: Recorder, *, aes_key: str | None = None,
                 clock: Callable[[], float] = fixed_clock,
                 after_reply: Callable[[InboundMessage], None] | None = None) -> str:
        app = web.Application()
        add_wechat_routes(app, token=TOKEN, appid=APPID, aes_key=aes_key,
                          responder_key=RESPONDER_KEY, clock=clock)

        async def responder_ctx(app: web.Application) -> AsyncIterator[None]:
            app[RESPONDER_KEY] = responder  # the way the lead wires it: after the routes
            if after_reply is not None:
                app[AFTER_REPLY_KEY] = after_reply
            yield

        app.cleanup_ctx.append(responder_ctx)
        server = await aiohttp_server(app)
        return str(server.make_url("/wechat"))

    return go


@pytest.fixture
async def make_sim() -> AsyncIterator[MakeSim]:
    async with AsyncExitStack() as stack:

        def make(url: str, **kwargs: Any) -> WeChatSimulator:
            kwargs = {"token": TOKEN, "appid": APPID, "clock": fixed_clock, **kwargs}
            sim = WeChatSimulator(url, **kwargs)
            stack.push_async_callback(sim.close)
            return sim

        yield make


async def http_get(url: str, params: dict[str, str]) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as response:
        return response.status, await response.text(), response.content_type


# --- InboundMessage ---


def test_dedupe_id_of_a_message_is_its_msg_id() -> None:
    message = InboundMessage(from_user=OPENID, to_user=DEFAULT_ACCOUNT, create_time=NOW,
                             msg_type="text", msg_id="6054768590064713728", content="hi")
    assert message.dedupe_id == "m:6054768590064713728"


def test_dedupe_id_of_an_event_is_time_event_and_key() -> None:
    message = InboundMessage(from_user=OPENID, to_user=DEFAULT_ACCOUNT, create_time=NOW,
                             msg_type="event", event="click", event_key="start")
    assert message.dedupe_id == f"e:{NOW}:click:start"


def test_message_repr_leaves_out_the_content() -> None:
    message = InboundMessage(from_user=OPENID, to_user=DEFAULT_ACCOUNT, create_time=NOW,
                             msg_type="text", msg_id="1", content="secret answer")
    assert "secret answer" not in repr(message)


# --- URL check (GET) ---


async def test_get_with_a_good_signature_echoes_echostr(start: Start, make_sim: MakeSim) -> None:
    url = await start(Recorder())
    sim = make_sim(url)
    status, text, content_type = await http_get(url, {**sim.signed_query(), "echostr": "12345"})
    assert (status, text, content_type) == (200, "12345", "text/plain")
    await sim.verify_url()  # the simulator's own check agrees


@pytest.mark.parametrize("tamper", ["signature", "timestamp", "missing"])
async def test_get_with_a_bad_signature_is_forbidden(
    start: Start, make_sim: MakeSim, tamper: str
) -> None:
    url = await start(Recorder())
    query = {**make_sim(url).signed_query(), "echostr": "12345"}
    if tamper == "missing":
        del query["signature"]
    else:
        query[tamper] = query[tamper][:-1] + ("1" if query[tamper][-1] != "1" else "2")
    status, text, _ = await http_get(url, query)
    assert status == 403
    assert "12345" not in text


async def test_url_check_with_another_token_fails(start: Start, make_sim: MakeSim) -> None:
    url = await start(Recorder())
    with pytest.raises(WeChatSimulatorError) as exc_info:
        await make_sim(url, token="not-the-token").verify_url()
    assert exc_info.value.status == 403


# --- messages in the three modes ---


async def test_plaintext_text_message(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder)
    reply = await make_sim(url).send_text(OPENID, "你好 <b>&amp;", msg_id=6054768590064713728)
    assert reply == "echo: 你好 <b>&amp;"
    assert recorder.calls == [InboundMessage(
        from_user=OPENID, to_user=DEFAULT_ACCOUNT, create_time=NOW, msg_type="text",
        msg_id="6054768590064713728", content="你好 <b>&amp;")]
    assert recorder.calls[0].content == "你好 <b>&amp;"  # content is not part of __eq__'s view


async def test_plaintext_reply_is_a_wechatpy_text_reply(start: Start, make_sim: MakeSim) -> None:
    url = await start(Recorder())
    sim = make_sim(url)
    query, body = sim.envelope(sim.text_xml(OPENID, "hi"), openid=OPENID)
    response = await sim.post_raw(body, query=query)
    assert response.status == 200
    assert response.content_type == "application/xml"
    reply = parse_message(response.text)
    assert (reply.type, reply.content) == ("text", "echo: hi")
    assert (reply.source, reply.target) == (DEFAULT_ACCOUNT, OPENID)  # swapped
    assert reply.time == NOW


async def test_safe_mode_round_trip(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder, aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY)
    assert sim.mode == "safe"
    assert await sim.send_text(OPENID, "数字化 ]]> 转型") == "echo: 数字化 ]]> 转型"
    assert recorder.calls[0].content == "数字化 ]]> 转型"
    assert recorder.calls[0].from_user == OPENID


async def test_safe_mode_hides_the_message_and_the_reply(start: Start, make_sim: MakeSim) -> None:
    url = await start(Recorder(), aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY)
    query, body = sim.envelope(sim.text_xml(OPENID, "confidential"), openid=OPENID)
    assert query["encrypt_type"] == "aes"
    assert b"confidential" not in body and OPENID.encode() not in body
    response = await sim.post_raw(body, query=query)
    assert response.status == 200
    assert "<Encrypt>" in response.text and "<MsgSignature>" in response.text
    assert "confidential" not in response.text and OPENID not in response.text


async def test_compatible_mode_uses_the_encrypted_part(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder, aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY, mode="compatible")
    assert await sim.send_text(OPENID, "兼容") == "echo: 兼容"

    query, body = sim.envelope(sim.text_xml(OPENID, "original"), openid=OPENID)
    assert b"<Encrypt>" in body and b"original" in body  # both copies travel
    response = await sim.post_raw(body.replace(b"original", b"tampered"), query=query)
    assert response.status == 200
    assert recorder.calls[-1].content == "original"


async def test_plaintext_requests_still_work_with_a_key(start: Start, make_sim: MakeSim) -> None:
    url = await start(Recorder(), aes_key=AES_KEY)
    assert await make_sim(url).send_text(OPENID, "plain") == "echo: plain"


# --- rejections: none of them reaches the responder ---


async def test_bad_signature_is_forbidden(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder)
    sim = make_sim(url)
    query, body = sim.envelope(sim.text_xml(OPENID, "hi"))
    response = await sim.post_raw(body, query={**query, "signature": "0" * 40})
    assert response.status == 403
    with pytest.raises(WeChatSimulatorError) as exc_info:
        await make_sim(url, token="wrong").send_text(OPENID, "hi")
    assert exc_info.value.status == 403
    assert recorder.calls == []


async def test_bad_msg_signature_is_forbidden(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder, aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY)
    query, body = sim.envelope(sim.text_xml(OPENID, "hi"))
    response = await sim.post_raw(body, query={**query, "msg_signature": "0" * 40})
    assert response.status == 403
    no_msg_signature = {k: v for k, v in query.items() if k != "msg_signature"}
    assert (await sim.post_raw(body, query=no_msg_signature)).status == 403
    assert recorder.calls == []


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
async def test_stale_or_future_timestamp_is_forbidden(
    start: Start, make_sim: MakeSim, skew: int
) -> None:
    recorder = Recorder()
    url = await start(recorder)
    with pytest.raises(WeChatSimulatorError) as exc_info:
        await make_sim(url, clock=lambda: NOW + skew).send_text(OPENID, "hi")
    assert exc_info.value.status == 403
    assert recorder.calls == []


@pytest.mark.parametrize("skew", [-300, 300])
async def test_timestamp_at_the_edge_of_the_window_is_accepted(
    start: Start, make_sim: MakeSim, skew: int
) -> None:
    url = await start(Recorder())
    assert await make_sim(url, clock=lambda: NOW + skew).send_text(OPENID, "hi") == "echo: hi"


async def test_non_numeric_timestamp_is_forbidden(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder)
    sim = make_sim(url)
    # Correctly signed, so only the timestamp check can turn it away.
    query = {**sim.signed_query(timestamp=0), "timestamp": "soon"}
    query["signature"] = _resign(query)
    response = await sim.post_raw(sim.text_xml(OPENID, "hi").encode(), query=query)
    assert response.status == 403
    assert recorder.calls == []


def _resign(query: dict[str, str]) -> str:
    from wechatpy.utils import WeChatSigner

    signer = WeChatSigner()
    signer.add_data(TOKEN, query["timestamp"], query["nonce"])
    return signer.signature


def _padded(sim: WeChatSimulator, size: int) -> bytes:
    body = sim.text_xml(OPENID, "hi").encode()
    return body.replace(b"</xml>", b" " * (size - len(body)) + b"</xml>")


async def test_body_over_64_kib_is_too_large(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder)
    sim = make_sim(url)
    body = _padded(sim, MAX_BODY + 1)
    assert len(body) == 64 * 1024 + 1
    assert (await sim.post_raw(body)).status == 413
    assert recorder.calls == []
    # The limit is inclusive.
    exactly = _padded(sim, MAX_BODY)
    assert (await sim.post_raw(exactly)).status == 200
    assert len(recorder.calls) == 1


async def test_chunked_body_over_64_kib_is_too_large(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder)
    sim = make_sim(url)
    body = _padded(sim, MAX_BODY + 1)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies while read
        for i in range(0, len(body), 4096):
            yield body[i:i + 4096]

    assert (await sim.post_raw(chunks())).status == 413
    assert recorder.calls == []


_HEAD = (f"<ToUserName>{DEFAULT_ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName>"
         f"<CreateTime>{NOW}</CreateTime>")


@pytest.mark.parametrize("body", [
    pytest.param(b"", id="empty"),
    pytest.param(b"   ", id="blank"),
    pytest.param(b"<xml><ToUserName>gh_1</ToUserName>", id="truncated"),
    pytest.param(b"hello, world", id="not-xml"),
    pytest.param(b"\xff\xfe<\x00x\x00", id="not-utf8"),
    pytest.param(b"<note><to>Tove</to><from>Jani</from></note>", id="other-root"),
    pytest.param(b"<xml/>", id="empty-root"),
    pytest.param(b"<xml>text</xml>", id="text-root"),
    pytest.param(f"<xml>{_HEAD}<Content>hi</Content></xml>".encode(), id="no-msgtype"),
    pytest.param(f"<xml><FromUserName>{OPENID}</FromUserName><CreateTime>{NOW}</CreateTime>"
                 "<MsgType>text</MsgType></xml>".encode(), id="no-tousername"),
    pytest.param(f"<xml><ToUserName>gh</ToUserName><CreateTime>{NOW}</CreateTime>"
                 "<MsgType>text</MsgType></xml>".encode(), id="no-fromusername"),
    pytest.param(f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
                 "<MsgType>text</MsgType></xml>".encode(), id="no-createtime"),
    pytest.param(f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>"
                 "<CreateTime>yesterday</CreateTime><MsgType>text</MsgType></xml>".encode(),
                 id="bad-createtime"),
    pytest.param(f"<xml>{_HEAD}<MsgType><a>text</a></MsgType></xml>".encode(),
                 id="nested-msgtype"),
    pytest.param(f"<xml>{_HEAD}<MsgType>text</MsgType><MsgId>abc</MsgId></xml>".encode(),
                 id="bad-msgid"),
    pytest.param(f"<xml>{_HEAD}<MsgType>event</MsgType></xml>".encode(), id="event-no-event"),
    pytest.param(b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                 b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                 + f"<xml>{_HEAD}<MsgType>text</MsgType><Content>&b;</Content></xml>".encode(),
                 id="entities"),
])
async def test_malformed_body_is_a_bad_request(
    start: Start, make_sim: MakeSim, body: bytes
) -> None:
    recorder = Recorder()
    url = await start(recorder)
    response = await make_sim(url).post_raw(body)
    assert response.status == 400
    assert recorder.calls == []


async def test_encrypted_request_without_a_key_is_a_bad_request(
    start: Start, make_sim: MakeSim
) -> None:
    recorder = Recorder()
    url = await start(recorder)  # no AES key configured
    with pytest.raises(WeChatSimulatorError) as exc_info:
        await make_sim(url, aes_key=AES_KEY).send_text(OPENID, "hi")
    assert exc_info.value.status == 400
    assert recorder.calls == []


async def test_unknown_encrypt_type_is_a_bad_request(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder, aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY)
    query, body = sim.envelope(sim.text_xml(OPENID, "hi"))
    response = await sim.post_raw(body, query={**query, "encrypt_type": "rot13"})
    assert response.status == 400
    assert recorder.calls == []


@pytest.mark.parametrize("case", ["garbage", "other-key", "other-appid", "no-encrypt"])
async def test_undecryptable_body_is_a_bad_request(
    start: Start, make_sim: MakeSim, case: str
) -> None:
    recorder = Recorder()
    url = await start(recorder, aes_key=AES_KEY)
    sender = {
        "garbage": make_sim(url, aes_key=AES_KEY),
        "other-key": make_sim(url, aes_key=OTHER_AES_KEY),
        "other-appid": make_sim(url, aes_key=AES_KEY, appid="wx_someone_else"),
        "no-encrypt": make_sim(url, aes_key=AES_KEY),
    }[case]
    xml = sender.text_xml(OPENID, "hi")
    if case == "garbage":
        encrypt = "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"  # valid base64, not AES-CBC output
        body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()
        query = sender.signed_query(encrypt=encrypt)
    elif case == "no-encrypt":
        body = xml.encode()
        query = sender.signed_query(encrypt="")
    else:
        query, body = sender.envelope(xml)
    response = await sender.post_raw(body, query=query)
    assert response.status == 400
    assert recorder.calls == []


# --- what reaches the responder ---


@pytest.mark.parametrize(("event", "key", "expected_key"), [
    ("subscribe", "", ""),
    ("subscribe", "qrscene_42", "qrscene_42"),  # wechatpy would call it subscribe_scan
    ("unsubscribe", "", ""),
    ("click", "start", "start"),  # sent as CLICK
    ("view", "https://example.com/", "https://example.com/"),
    ("scan", "42", "42"),
    ("some_future_event", "k", "k"),
])
async def test_events_reach_the_responder(
    start: Start, make_sim: MakeSim, event: str, key: str, expected_key: str
) -> None:
    recorder = Recorder()
    url = await start(recorder)
    assert await make_sim(url).send_event(OPENID, event, key) == f"event/{event}"
    (message,) = recorder.calls
    assert message == InboundMessage(
        from_user=OPENID, to_user=DEFAULT_ACCOUNT, create_time=NOW, msg_type="event",
        msg_id=None, content="", event=event, event_key=expected_key)
    assert message.dedupe_id == f"e:{NOW}:{event}:{expected_key}"


@pytest.mark.parametrize("msg_type", ["image", "voice", "video", "shortvideo", "location", "link"])
async def test_other_messages_reach_the_responder(
    start: Start, make_sim: MakeSim, msg_type: str
) -> None:
    recorder = Recorder()
    url = await start(recorder, aes_key=AES_KEY)
    assert await make_sim(url, aes_key=AES_KEY).send_other(OPENID, msg_type) == f"{msg_type}/"
    (message,) = recorder.calls
    assert (message.msg_type, message.content, message.event) == (msg_type, "", "")
    assert message.msg_id is not None and message.msg_id.isdigit()
    assert message.dedupe_id == f"m:{message.msg_id}"


async def test_msg_ids_grow_and_fit_in_64_bits(start: Start, make_sim: MakeSim) -> None:
    recorder = Recorder()
    url = await start(recorder)
    sim = make_sim(url)
    await sim.send_text(OPENID, "one")
    await sim.send_text(OPENID, "two")
    first, second = (int(m.msg_id or 0) for m in recorder.calls)
    assert 0 < first < second < next_msg_id() < 2**63


@pytest.mark.parametrize("answer", [None, "", " \n"])
async def test_no_reply_answers_success(
    start: Start, make_sim: MakeSim, answer: str | None
) -> None:
    async def silent(message: InboundMessage) -> str | None:
        return answer

    recorder = Recorder(silent)
    url = await start(recorder, aes_key=AES_KEY)
    assert await make_sim(url, aes_key=AES_KEY).send_text(OPENID, "hi") is None
    sim = make_sim(url)
    response = await sim.post_raw(sim.text_xml(OPENID, "hi").encode())
    assert (response.status, response.text, response.content_type) == (
        200, "success", "text/plain")
    assert len(recorder.calls) == 2


async def test_failing_responder_answers_success_and_logs_no_content(
    start: Start, make_sim: MakeSim, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(message: InboundMessage) -> str:
        raise RuntimeError("database is down")

    url = await start(Recorder(broken), aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY)
    with caplog.at_level(logging.DEBUG):
        assert await sim.send_text(OPENID, "my private answer") is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "text" in errors[0].getMessage()
    for record in caplog.records:
        text = record.getMessage()
        assert "my private answer" not in text
        assert TOKEN not in text and AES_KEY not in text


async def test_nothing_secret_is_logged(
    start: Start, make_sim: MakeSim, caplog: pytest.LogCaptureFixture
) -> None:
    url = await start(Recorder(), aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY)
    with caplog.at_level(logging.DEBUG):
        await sim.send_text(OPENID, "confidential figures")
        await sim.send_event(OPENID, "click", "start")
        query, body = sim.envelope(sim.text_xml(OPENID, "confidential figures"))
        await sim.post_raw(body, query={**query, "msg_signature": "0" * 40})
        await sim.post_raw(b"<xml>confidential figures</xml>")
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage()
        assert "confidential" not in text
        assert TOKEN not in text and AES_KEY not in text


async def test_missing_responder_is_a_server_error(
    aiohttp_server: Any, make_sim: MakeSim
) -> None:
    app = web.Application()
    add_wechat_routes(app, token=TOKEN, appid=APPID, aes_key=None, clock=fixed_clock)
    server = await aiohttp_server(app)
    with pytest.raises(WeChatSimulatorError) as exc_info:
        await make_sim(str(server.make_url("/wechat"))).send_text(OPENID, "hi")
    assert exc_info.value.status == 500


async def test_routes_work_in_a_sub_app(aiohttp_server: Any, make_sim: MakeSim) -> None:
    recorder = Recorder()
    root, sub = web.Application(), web.Application()
    add_wechat_routes(sub, token=TOKEN, appid=APPID, aes_key=None,
                      responder_key=RESPONDER_KEY, clock=fixed_clock)
    root[RESPONDER_KEY] = recorder  # found through request.config_dict
    root.add_subapp("/oa", sub)
    server = await aiohttp_server(root)
    sim = make_sim(str(server.make_url("/oa/wechat")))
    assert await sim.send_text(OPENID, "hi") == "echo: hi"


# --- WeChat's re-deliveries ---


async def test_simulator_redelivers_the_same_message_after_a_timeout(
    start: Start, make_sim: MakeSim
) -> None:
    async def slow_first(message: InboundMessage) -> str:
        if len(recorder.calls) == 1:
            await asyncio.sleep(0.6)
            return "too late"
        return "second delivery"

    recorder = Recorder(slow_first)
    url = await start(recorder, aes_key=AES_KEY)
    sim = make_sim(url, aes_key=AES_KEY, timeout=0.3)
    assert await sim.send_text(OPENID, "hi") == "second delivery"
    first, second = recorder.calls
    assert first.dedupe_id == second.dedupe_id
    assert (first.msg_id, first.create_time) == (second.msg_id, second.create_time)
    await asyncio.sleep(0.4)  # let the abandoned first delivery finish before the server stops


async def test_simulator_gives_up_after_the_last_delivery(
    start: Start, make_sim: MakeSim
) -> None:
    async def stuck(message: InboundMessage) -> str:
        await asyncio.sleep(0.5)
        return "too late"

    recorder = Recorder(stuck)
    url = await start(recorder)
    sim = make_sim(url, timeout=0.2, retries=2)
    with pytest.raises(ReplyTimeout):
        await sim.send_event(OPENID, "subscribe")
    assert len(recorder.calls) == 2
    assert len({m.dedupe_id for m in recorder.calls}) == 1
    await asyncio.sleep(0.5)


@pytest.mark.parametrize("aes", [False, True])
async def test_after_a_reply_is_written_the_app_is_told(
    start: Start, make_sim: MakeSim, aes: bool
) -> None:
    told: list[str] = []
    replies = {"hi": "hello", "quiet": None}

    async def answer(message: InboundMessage) -> str | None:
        return replies[message.content]

    key = AES_KEY if aes else None
    url = await start(Recorder(answer), aes_key=key,
                      after_reply=lambda message: told.append(message.content))
    sim = make_sim(url, aes_key=key)
    assert await sim.send_text(OPENID, "hi") == "hello"  # the reply arrives whole
    assert told == ["hi"]
    await sim.send_text(OPENID, "quiet")  # no reply: nothing to follow it
    assert told == ["hi"]
