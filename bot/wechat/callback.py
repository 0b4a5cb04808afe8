"""The Official Account message callback: checks, decrypts and parses what WeChat's servers send,
hands one `InboundMessage` to a responder and turns its answer into the (encrypted) XML reply.

It knows nothing about what the bot says; the responder is looked up in the app at request time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.wechat.message_xml import NotAMessage, read_fields, text_reply

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""Largest accepted POST body; real messages are a few KiB even with 2048 characters of text."""
MAX_CLOCK_SKEW = 300
"""Seconds a request's `timestamp` may differ from our clock before it counts as a replay."""
NO_REPLY = "success"
"""What WeChat accepts as "received, nothing to say" (it then neither retries nor warns)."""

_READ_CHUNK = 16 * 1024


@dataclass(frozen=True)
class InboundMessage:
    """One message or event from a user, as WeChat sent it (after decryption)."""

    from_user: str  # the user's openid
    to_user: str  # the account's original id (gh_...)
    create_time: int
    msg_type: str  # lower-case: text, image, voice, video, shortvideo, location, link, event, ...
    msg_id: str | None = None  # None for events
    content: str = field(default="", repr=False)  # text messages only; kept out of logged reprs
    event: str = ""  # lower-case, events only: subscribe, unsubscribe, click, view, scan, ...
    event_key: str = ""

    @property
    def dedupe_id(self) -> str:
        """Identifies WeChat's re-deliveries of this message; unique per user, not globally
        (MsgIds of different users have collided), so callers prefix the openid."""
        if self.msg_id is not None:
            return f"m:{self.msg_id}"
        # Events carry no MsgId; WeChat's own advice is to dedupe them on sender + CreateTime.
        return f"e:{self.create_time}:{self.event}:{self.event_key}"


Responder: TypeAlias = Callable[[InboundMessage], Awaitable[str | None]]
"""Returns the reply text, or None to send no reply."""

RESPONDER_KEY: web.AppKey[Responder] = web.AppKey("wechat_responder")
"""Default app key under which `add_wechat_routes` looks up the responder."""

AfterReply: TypeAlias = Callable[[InboundMessage], None]
"""Told once a reply to the message has been written to WeChat (for what must come after it)."""

AFTER_REPLY_KEY: web.AppKey[AfterReply] = web.AppKey("wechat_after_reply")
"""Where `add_wechat_routes` looks up the optional `AfterReply`."""


class BadMessage(ValueError):
    """The body is not a WeChat message; the reason is safe to log (it never quotes the body)."""


def add_wechat_routes(
    app: web.Application,
    *,
    token: str,
    appid: str,
    aes_key: str | None,
    responder_key: web.AppKey[Responder] = RESPONDER_KEY,
    path: str = "/wechat",
    clock: Callable[[], float] = time.time,
) -> None:
    """Serve WeChat's URL check (GET) and message pushes (POST) at `path`.

    `aes_key` is the EncodingAESKey; None accepts plaintext requests only. With a key, each request
    says whether it is encrypted (``encrypt_type=aes``), so plaintext, compatible and safe mode all
    work and the console's mode can be switched without a restart. The responder is read from
    ``request.config_dict[responder_key]`` per request, so it may be set in on_startup/cleanup_ctx.
    The route reads the body itself with a `MAX_BODY` limit, whatever the app's client_max_size.
    """
    callback = _Callback(token, appid, aes_key, responder_key, clock)
    app.router.add_get(path, callback.verify_url)
    app.router.add_post(path, callback.receive)


def parse_inbound(xml: bytes | str) -> InboundMessage:
    """Parse a decrypted message; `BadMessage` unless it has the fields WeChat always sends."""
    if not xml.strip():
        raise BadMessage("empty body")
    try:
        fields = read_fields(xml)
    except NotAMessage as exc:
        raise BadMessage(f"not a WeChat XML message: {exc}") from None
    create_time = _text(fields, "CreateTime")
    if not (create_time.isascii() and create_time.isdigit()):
        raise BadMessage("CreateTime is not a number")
    msg_type = _text(fields, "MsgType").lower()
    msg_id = _optional_text(fields, "MsgId") or None
    if msg_id is not None and not (msg_id.isascii() and msg_id.isdigit()):
        raise BadMessage("MsgId is not a number")
    event = event_key = content = ""
    if msg_type == "event":
        event = _text(fields, "Event").lower()
        # Lenient: a key WeChat might one day send as a structure must not turn the event away.
        key = fields.get("EventKey")
        event_key = key if isinstance(key, str) else ""
    elif msg_type == "text":
        content = _optional_text(fields, "Content")
    return InboundMessage(
        from_user=_text(fields, "FromUserName"),
        to_user=_text(fields, "ToUserName"),
        create_time=int(create_time),
        msg_type=msg_type,
        msg_id=msg_id,
        content=content,
        event=event,
        event_key=event_key,
    )


def render_reply(message: InboundMessage, text: str, *, create_time: int) -> str:
    """The passive text reply to `message` (sender and receiver swapped), as XML."""
    return text_reply(message.from_user, message.to_user, create_time, text)


class _Callback:
    def __init__(
        self,
        token: str,
        appid: str,
        aes_key: str | None,
        responder_key: web.AppKey[Responder],
        clock: Callable[[], float],
    ) -> None:
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self._responder_key = responder_key
        self._clock = clock

    async def verify_url(self, request: web.Request) -> web.Response:
        """WeChat's check when the server URL is saved in the console: echo `echostr` back."""
        query = request.query
        self._check_signature(query)
        echostr = query.get("echostr")
        if echostr is None:
            raise _reject(web.HTTPBadRequest, "no echostr")
        return web.Response(text=echostr, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        query = request.query
        # Everything that needs no body comes first: rejected senders are never read from.
        self._check_signature(query)
        self._check_fresh(query.get("timestamp", ""))
        encrypted = self._encrypted(query)
        body = await _read_body(request)
        try:
            xml = self._decrypt(body, query) if encrypted else body
            message = parse_inbound(xml)
        except BadMessage as exc:
            raise _reject(web.HTTPBadRequest, str(exc)) from None
        log.debug("received %s %s from %s", message.msg_type, message.dedupe_id, message.from_user)

        try:
            responder = request.config_dict[self._responder_key]
        except KeyError:
            raise RuntimeError(f"no responder in app[{self._responder_key!r}]") from None
        try:
            text = await responder(message)
        except Exception:
            # A 200 "success": the user sees no answer instead of WeChat's "service unavailable"
            # notice. WeChat re-delivers only when no answer comes within 5 s, so a 500 would
            # not buy a retry either.
            log.exception("responder failed on %s %s from %s; answered %r",
                          message.msg_type, message.dedupe_id, message.from_user, NO_REPLY)
            text = None
        if text is None or not text.strip():  # WeChat cannot show an empty message
            return web.Response(text=NO_REPLY, content_type="text/plain")

        now = int(self._clock())
        reply = render_reply(message, text, create_time=now)
        if encrypted:
            assert self._crypto is not None  # _encrypted() said so
            reply = self._crypto.encrypt_message(reply, query.get("nonce", ""), str(now))
        response = web.Response(text=reply, content_type="application/xml")
        after = request.config_dict.get(AFTER_REPLY_KEY)
        if after is not None:
            # Written out first, so that whatever follows (an image message) comes after it.
            await response.prepare(request)
            await response.write_eof()
            after(message)
        return response

    def _check_signature(self, query: Mapping[str, str]) -> None:
        try:
            check_signature(self._token, query.get("signature", ""), query.get("timestamp", ""),
                            query.get("nonce", ""))
        except InvalidSignatureException:
            # Usually a token that differs from the one saved in the WeChat console.
            raise _reject(web.HTTPForbidden, "bad signature") from None

    def _check_fresh(self, timestamp: str) -> None:
        # The signature covers only token, timestamp and nonce: without this window a captured
        # request could be replayed forever.
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise _reject(web.HTTPForbidden, "timestamp is not a number")
        if abs(int(timestamp) - self._clock()) > MAX_CLOCK_SKEW:
            raise _reject(web.HTTPForbidden, "timestamp outside the replay window")

    def _encrypted(self, query: Mapping[str, str]) -> bool:
        encrypt_type = query.get("encrypt_type", "raw")
        if encrypt_type == "raw":
            return False
        if encrypt_type != "aes":
            raise _reject(web.HTTPBadRequest, "unknown encrypt_type")
        if self._crypto is None:
            raise _reject(web.HTTPBadRequest, "encrypted message but no AES key is configured")
        return True

    def _decrypt(self, body: bytes, query: Mapping[str, str]) -> str:
        assert self._crypto is not None
        try:
            return self._crypto.decrypt_message(
                body, query.get("msg_signature", ""), query.get("timestamp", ""),
                query.get("nonce", ""))
        except InvalidSignatureException:
            raise _reject(web.HTTPForbidden, "bad msg_signature") from None
        except Exception as exc:
            # wechatpy decrypts with no validation of its own, so a broken body fails anywhere in
            # XML, base64, AES, padding, length or appid handling; all of it is the sender's fault.
            raise BadMessage(f"cannot decrypt ({type(exc).__name__})") from None


async def _read_body(request: web.Request) -> bytes:
    # Not request.read(): its limit is the app-wide client_max_size, which a route cannot change.
    length = request.content_length
    if length is not None:
        if length > MAX_BODY:
            raise _too_large(length)
        try:
            return await request.content.readexactly(length)
        except asyncio.IncompleteReadError:
            raise _reject(web.HTTPBadRequest, "body shorter than Content-Length") from None
    body = bytearray()
    async for chunk in request.content.iter_chunked(_READ_CHUNK):
        body += chunk
        if len(body) > MAX_BODY:  # chunked requests announce no length
            raise _too_large(len(body))
    return bytes(body)


def _reject(kind: type[web.HTTPException], reason: str) -> web.HTTPException:
    log.warning("rejected WeChat callback request: %s", reason)
    return kind(text=reason)


def _too_large(size: int) -> web.HTTPException:
    log.warning("rejected WeChat callback request: body over %d bytes", MAX_BODY)
    return web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=size)


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadMessage(f"no {name}")
    return value.strip()


def _optional_text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadMessage(f"{name} is not text")
    return value
