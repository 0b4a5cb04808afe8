"""Plays WeChat's servers against our callback URL: signs, encrypts, times out and re-sends the way
WeChat does, so tests, benchmarks and `dxbot chat` go through exactly the production request path.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from xml.parsers.expat import ExpatError

import aiohttp
import xmltodict  # wechatpy's own XML parser (a dependency of wechatpy)
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

log = logging.getLogger(__name__)

Mode = Literal["plain", "compatible", "safe"]
"""The console's 消息加解密方式: 明文模式, 兼容模式, 安全模式."""

DEFAULT_ACCOUNT = "gh_0123456789ab"
"""A made-up original id (原始ID) of the Official Account, sent as ToUserName."""

_random = random.SystemRandom()
# MsgIds are 64-bit and only ever grow; a random start keeps separate runs against one database
# (benchmarks, repeated chat sessions) from replaying each other's ids.
_msg_ids = itertools.count(_random.randrange(1 << 60, 1 << 62))

# How WeChat spells these events on the wire; the rest are lower-case.
_EVENT_SPELLING = {"click": "CLICK", "view": "VIEW", "scan": "SCAN", "location": "LOCATION"}

# Plausible fields of the non-text messages, after ToUserName/FromUserName/CreateTime/MsgType.
_OTHER_FIELDS: dict[str, dict[str, str | int]] = {
    "image": {"PicUrl": "https://mmbiz.qpic.cn/mmbiz_jpg/sim/0", "MediaId": "sim-image-media"},
    "voice": {"MediaId": "sim-voice-media", "Format": "amr", "Recognition": ""},
    "video": {"MediaId": "sim-video-media", "ThumbMediaId": "sim-video-thumb"},
    "shortvideo": {"MediaId": "sim-shortvideo-media", "ThumbMediaId": "sim-shortvideo-thumb"},
    "location": {"Location_X": "39.915119", "Location_Y": "116.403963", "Scale": 16,
                 "Label": "Beijing"},
    "link": {"Title": "A link", "Description": "Shared from the simulator",
             "Url": "https://example.com/"},
}
OTHER_TYPES = tuple(_OTHER_FIELDS)
"""Message types `send_other` can send."""


def next_msg_id() -> int:
    """The next MsgId of this process (shared by all simulators, like WeChat's global counter)."""
    return next(_msg_ids)


class WeChatSimulatorError(Exception):
    """WeChat could not use the server's answer and would tell the user the account is unavailable
    (该公众号暂时无法提供服务)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ReplyTimeout(WeChatSimulatorError, TimeoutError):
    """No answer to any of the deliveries within the timeout."""


@dataclass(frozen=True)
class RawResponse:
    """A fully read HTTP response (the connection is already released)."""

    status: int
    text: str
    content_type: str


class WeChatSimulator:
    """One WeChat server talking to one callback URL; safe to share between concurrent users.

    `mode` defaults to "safe" with an `aes_key` and "plain" without. `timeout` and `retries` are
    WeChat's 5 seconds and 3 deliveries; tests shorten them. Use as ``async with`` (or call
    `close`) to release a session the simulator created itself.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        appid: str,
        aes_key: str | None = None,
        mode: Mode | None = None,
        account: str = DEFAULT_ACCOUNT,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 5.0,
        retries: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if mode is None:
            mode = "safe" if aes_key else "plain"
        if mode not in ("plain", "compatible", "safe"):
            raise ValueError(f"unknown mode {mode!r}")
        if mode != "plain" and not aes_key:
            raise ValueError(f"{mode} mode needs an aes_key")
        if retries < 1:
            raise ValueError("retries counts deliveries and must be at least 1")
        self.base_url = base_url
        self.mode = mode
        self.account = account
        self.timeout = timeout
        self.retries = retries
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self._clock = clock
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> WeChatSimulator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    # --- what users do ---

    async def send_text(self, openid: str, text: str, *, msg_id: int | None = None) -> str | None:
        """Deliver a text message; the reply's text, or None when the server answered "no reply"."""
        return await self.deliver(self.text_xml(openid, text, msg_id=msg_id), openid)

    async def send_event(self, openid: str, event: str, event_key: str = "") -> str | None:
        """Deliver an event such as "subscribe", "unsubscribe" or "click" (with the menu key)."""
        return await self.deliver(self.event_xml(openid, event, event_key), openid)

    async def send_other(self, openid: str, msg_type: str) -> str | None:
        """Deliver a non-text message (one of `OTHER_TYPES`) with made-up media fields."""
        return await self.deliver(self.other_xml(openid, msg_type), openid)

    # --- message XML, as WeChat builds it ---

    def text_xml(self, openid: str, text: str, *, msg_id: int | None = None,
                 create_time: int | None = None) -> str:
        return self._message_xml(openid, "text", create_time, {
            "Content": text, "MsgId": next_msg_id() if msg_id is None else msg_id})

    def event_xml(self, openid: str, event: str, event_key: str = "", *,
                  create_time: int | None = None) -> str:
        fields: dict[str, str | int] = {"Event": _EVENT_SPELLING.get(event.lower(), event)}
        if event_key:
            fields["EventKey"] = event_key
        return self._message_xml(openid, "event", create_time, fields)

    def other_xml(self, openid: str, msg_type: str, *, msg_id: int | None = None,
                  create_time: int | None = None) -> str:
        if msg_type not in _OTHER_FIELDS:
            raise ValueError(f"unsupported message type {msg_type!r}; use one of {OTHER_TYPES}")
        fields = {**_OTHER_FIELDS[msg_type], "MsgId": next_msg_id() if msg_id is None else msg_id}
        return self._message_xml(openid, msg_type, create_time, fields)

    def _message_xml(self, openid: str, msg_type: str, create_time: int | None,
                     fields: Mapping[str, str | int]) -> str:
        head: dict[str, str | int] = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": int(self._clock()) if create_time is None else create_time,
            "MsgType": msg_type,
        }
        return _to_xml({**head, **fields})

    # --- the HTTP side ---

    def signed_query(self, *, timestamp: int | None = None, nonce: str | None = None,
                     encrypt: str | None = None, openid: str | None = None) -> dict[str, str]:
        """The query string WeChat adds to a push: signature over token, timestamp and nonce, and
        for an encrypted body (`encrypt`, the base64 text) also encrypt_type and msg_signature."""
        ts = str(int(self._clock()) if timestamp is None else timestamp)
        nonce = str(_random.randrange(10**9, 10**10)) if nonce is None else nonce
        query = {"signature": _sign(self._token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if openid is not None:
            query["openid"] = openid
        if encrypt is not None:
            query["encrypt_type"] = "aes"
            query["msg_signature"] = _sign(self._token, ts, nonce, encrypt)
        return query

    def envelope(self, xml: str, *, openid: str | None = None, timestamp: int | None = None,
                 nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """The (query, body) WeChat sends for message `xml` in this simulator's mode."""
        if self.mode == "plain":
            return self.signed_query(timestamp=timestamp, nonce=nonce, openid=openid), xml.encode()
        assert self._crypto is not None
        query = self.signed_query(timestamp=timestamp, nonce=nonce, openid=openid)
        sealed = _parse_xml(self._crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))
        encrypt = sealed["Encrypt"]
        query = self.signed_query(timestamp=int(query["timestamp"]), nonce=query["nonce"],
                                  encrypt=encrypt, openid=openid)
        message = _parse_xml(xml)
        if self.mode == "safe":
            body = {"ToUserName": message["ToUserName"], "Encrypt": encrypt}
        else:  # compatible mode: the plaintext message plus its encrypted copy
            body = {**message, "Encrypt": encrypt}
        return query, _to_xml(body).encode()

    async def deliver(self, xml: str, openid: str) -> str | None:
        """Push message `xml` like WeChat: when no answer arrives within `timeout`, give up on that
        request and push the same message again, `retries` times in all."""
        for attempt in range(1, self.retries + 1):
            # Each delivery is signed afresh; the message inside (MsgId, CreateTime) is the same.
            query, body = self.envelope(xml, openid=openid)
            try:
                async with asyncio.timeout(self.timeout):
                    response = await self.post_raw(body, query=query)
            except TimeoutError:
                log.debug("no answer within %.1f s (delivery %d of %d)",
                          self.timeout, attempt, self.retries)
                continue
            return self._reply_text(response, openid)
        raise ReplyTimeout(
            f"no answer within {self.timeout:g} s to any of {self.retries} deliveries")

    async def verify_url(self) -> None:
        """WeChat's check when the URL is saved in the console; raises `WeChatSimulatorError`
        unless the server echoes `echostr`. Connection errors propagate as aiohttp's."""
        echostr = str(_random.randrange(10**17, 10**18))
        query = {**self.signed_query(), "echostr": echostr}
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client().get(self.base_url, params=query) as response:
                    text = await response.text()
        except TimeoutError:
            raise ReplyTimeout(f"no answer to the URL check within {self.timeout:g} s") from None
        if response.status != 200:
            raise WeChatSimulatorError(f"URL check failed with HTTP {response.status}",
                                       status=response.status)
        if text != echostr:
            raise WeChatSimulatorError("URL check answer is not the echostr", status=200)

    async def post_raw(self, body: bytes | AsyncIterable[bytes], *,
                       query: Mapping[str, str] | None = None) -> RawResponse:
        """POST `body` as is (an async iterable goes out chunked, without Content-Length), with
        `query` or else a freshly signed plaintext query; for negative tests."""
        params = dict(self.signed_query() if query is None else query)
        async with self._client().post(self.base_url, params=params, data=body,
                                       headers={"Content-Type": "text/xml"}) as response:
            raw = await response.read()
        return RawResponse(response.status, raw.decode("utf-8", "replace"), response.content_type)

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: a ClientSession must be made inside the running event loop.
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _reply_text(self, response: RawResponse, openid: str) -> str | None:
        if response.status != 200:
            raise WeChatSimulatorError(f"HTTP {response.status}", status=response.status)
        text = response.text.strip()
        if text in ("", "success"):
            return None
        xml = self._open_reply(text)
        try:
            reply = parse_message(xml)
        except (ExpatError, ValueError, KeyError, TypeError, AttributeError):
            raise WeChatSimulatorError("the reply is not a WeChat XML message") from None
        if reply.target != openid or reply.source != self.account:
            raise WeChatSimulatorError("the reply's ToUserName/FromUserName do not match the "
                                       "message's FromUserName/ToUserName")
        if reply.type != "text":
            return f"[{reply.type} reply]"
        return reply.content

    def _open_reply(self, text: str) -> str:
        if self.mode == "plain":
            return text
        assert self._crypto is not None
        try:
            sealed = _parse_xml(text)
        except ValueError:
            raise WeChatSimulatorError("the reply is not XML") from None
        if "Encrypt" not in sealed:
            if self.mode == "safe":
                raise WeChatSimulatorError("safe mode needs an encrypted reply")
            return text
        try:
            return self._crypto.decrypt_message(
                sealed, sealed.get("MsgSignature"), sealed.get("TimeStamp"), sealed.get("Nonce"))
        except InvalidSignatureException:
            raise WeChatSimulatorError("the reply's MsgSignature is wrong") from None
        except Exception as exc:  # wechatpy fails anywhere in base64, AES, padding or appid
            raise WeChatSimulatorError(f"cannot decrypt the reply ({type(exc).__name__})") from None


def _sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _parse_xml(text: str) -> dict[str, Any]:
    """The children of an <xml> document as a dict; ValueError if it is not one."""
    try:
        root = xmltodict.parse(text)["xml"]
    except (ExpatError, KeyError, TypeError) as exc:
        raise ValueError(f"not an <xml> document ({type(exc).__name__})") from None
    if not isinstance(root, dict):
        raise ValueError("empty <xml> document")
    return dict(root)


def _to_xml(fields: Mapping[str, Any]) -> str:
    # WeChat's layout: numbers bare, text in CDATA. "]]>" inside text is split across two sections.
    nodes = []
    for name, value in fields.items():
        if isinstance(value, int):
            nodes.append(f"<{name}>{value}</{name}>")
        else:
            text = "" if value is None else str(value).replace("]]>", "]]]]><![CDATA[>")
            nodes.append(f"<{name}><![CDATA[{text}]]></{name}>")
    return "<xml>" + "".join(nodes) + "</xml>"
