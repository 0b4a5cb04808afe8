"""Our async client of the WeChat API (Official Account or mini-program: one client per appid).

The access token comes from `cgi-bin/stable_token`, which hands every caller the same token
until it nears its end (`cgi-bin/token` would cut the previous one off, so several processes or
a second system on the same appid knocked each other's tokens out). It is shared by every worker
through Redis; one refresh happens at a time across all processes (a Redis lock; within a
process also an asyncio lock) and everyone else waits for its result. A token WeChat rejects
(40001/40014/42001) is replaced once, unless another worker has already replaced it, and the
call repeated; when stable_token hands out the very token just rejected, only a forced refresh
replaces it, and since WeChat allows those every 30 s and 20 times a day per appid (a forced
refresh also cuts off the token everyone else holds), one is asked for at most once a minute
across all our processes; otherwise the rejection stands.

Errors: `WeChatAPIError` when WeChat answered with an errcode (kept as is: the notice pipeline
branches on -1, 43101, 45009…); `WeChatTimeout` / `WeChatConnectionError` (both
`WeChatUnavailable`) when no usable answer came.

Secrets, tokens and session keys never reach a log line, an exception message or a repr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from storage.redis_keys import PREFIX, hash_tag

log = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40001, 40014, 42001})  # invalid or superseded, malformed, expired
SAFETY_MARGIN = 300  # seconds before WeChat's expiry at which the shared token is dropped
MIN_TTL = 60  # shortest time a fetched token is kept in Redis (unless it ends sooner)
FORCE_INTERVAL = 60  # seconds between our forced refreshes of an appid (WeChat: >= 30 s)
QUOTA_REACHED = 45009
LOCAL_SECONDS = 60.0  # how long a worker trusts its own copy without asking Redis (< margin)
POLL_SECONDS = 0.05  # how often a waiting worker looks for another's new token
# Failures before anything was sent (ConnectionTimeoutError is aiohttp >= 3.10).
_NOT_SENT: tuple[type[Exception], ...] = (aiohttp.ClientConnectorError, *(
    (aiohttp.ConnectionTimeoutError,) if hasattr(aiohttp, "ConnectionTimeoutError") else ()))

# Store the token only while still holding the refresh lock: a holder whose lock ran out must not
# overwrite the token of the holder after it (WeChat already superseded the older one). The keys
# share a hash tag, so this works on Redis Cluster too.
_STORE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class WeChatAPIError(Exception):
    """WeChat answered with a nonzero errcode (-1 busy, 43101 refused, 45009 quota…)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatUnavailable(Exception):
    """No usable answer. `maybe_sent`: WeChat may have received (and acted on) the request, so
    repeating a send may deliver it twice."""

    def __init__(self, message: str, *, maybe_sent: bool = True) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class WeChatTimeout(WeChatUnavailable, TimeoutError):
    """No answer within the client's timeout."""


class WeChatConnectionError(WeChatUnavailable, ConnectionError):
    """The connection failed or was closed without an answer."""


@dataclass(frozen=True)
class Upload:
    """A file for WeChat's media API, sent as the multipart field ``media``."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, repr=False)
class CodeSession:
    """What `jscode2session` says about a wx.login() code."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"CodeSession(openid={self.openid!r}, unionid={self.unionid!r}, session_key='***')"


class WeChatClient:
    """Calls for one appid; share one instance per process (several are safe, e.g. in tests).

    `timeout` bounds each HTTP call; `prefix` namespaces the Redis keys.
    """

    def __init__(self, http: aiohttp.ClientSession, redis: aioredis.Redis, *, base: str,
                 appid: str, secret: str, timeout: float = 5.0, prefix: str = PREFIX) -> None:
        if not appid or not secret:
            raise ValueError("appid and secret must not be empty")
        self.http = http
        self.redis = redis
        self.base = base.rstrip("/")
        self.appid = appid
        self._secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        # One Cluster hash tag per appid: the token, its lock and the forced-refresh mark
        # live in one slot (the store script touches two of them).
        tag = hash_tag("wx", appid, prefix=prefix)
        self._token_key, self._lock_key, self._forced_key = (
            f"{tag}:token", f"{tag}:lock", f"{tag}:forced")
        # The lock outlives the longest fetch, so it only expires when its holder died.
        self._lock_ms = int((timeout + 5.0) * 1000)
        self._wait_seconds = self._lock_ms / 1000 + 1.0
        self._store = redis.register_script(_STORE_LUA)
        self._unlock = redis.register_script(_UNLOCK_LUA)
        self._local: tuple[str, float] | None = None  # token, trusted until (monotonic)
        self._refreshing = asyncio.Lock()

    def __repr__(self) -> str:
        return f"WeChatClient(appid={self.appid!r}, base={self.base!r})"

    # --- the access token ---

    async def access_token(self) -> str:
        """The shared token, fetched from WeChat only when there is none."""
        local = self._local
        if local is not None and local[1] > time.monotonic():
            return local[0]
        current = await self._shared_token()
        if current is not None:
            return self._keep(current)
        return await self.refresh(stale=None)

    async def refresh(self, *, stale: str | None) -> str:
        """A token other than `stale`: one another worker stored meanwhile, or a new one fetched
        under the cross-process lock; `stale` itself when WeChat has no other to give."""
        async with self._refreshing:  # one coroutine of this process asks; the rest reuse it
            current = await self._shared_token()
            if current is not None and current != stale:
                return self._keep(current)
            owner = secrets.token_hex(8)
            deadline = time.monotonic() + self._wait_seconds
            while not await self.redis.set(self._lock_key, owner, nx=True, px=self._lock_ms):
                # Another worker is fetching: wait for its token rather than fetch one more.
                await asyncio.sleep(POLL_SECONDS)
                current = await self._shared_token()
                if current is not None and current != stale:
                    return self._keep(current)
                if time.monotonic() > deadline:
                    raise WeChatTimeout("waited too long for another worker's token refresh",
                                        maybe_sent=False)
            try:
                current = await self._shared_token()  # stored just before we got the lock
                if current is not None and current != stale:
                    return self._keep(current)
                token, ttl = await self._fetch_token(force=False)
                if token == stale:  # WeChat still hands out the token it rejected
                    token, ttl = await self._forced_token() or (token, ttl)
                if not await self._store(keys=[self._lock_key, self._token_key],
                                         args=[owner, token, ttl]):
                    log.warning("token refresh for %s outlived its lock; not shared", self.appid)
                log.info("fetched a new access token for %s (kept %d s)", self.appid, ttl)
                return self._keep(token)
            finally:
                await self._unlock(keys=[self._lock_key], args=[owner])

    async def _fetch_token(self, *, force: bool) -> tuple[str, int]:
        """WeChat's current token and how long to keep it. Over POST: the secret stays out of
        URLs (and so out of proxies' logs)."""
        data = await self._request("POST", "cgi-bin/stable_token", params={}, body={
            "grant_type": "client_credential", "appid": self.appid, "secret": self._secret,
            "force_refresh": force})
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if (not isinstance(token, str) or not token or not isinstance(expires_in, int)
                or expires_in < 1):
            raise WeChatUnavailable("cgi-bin/stable_token answered without a token",
                                    maybe_sent=False)
        # expires_in is what is left of the token, which may be little: never keep it longer.
        return token, min(expires_in, max(MIN_TTL, expires_in - SAFETY_MARGIN))

    async def _forced_token(self) -> tuple[str, int] | None:
        """A forced refresh, unless one of ours was asked for within FORCE_INTERVAL or WeChat's
        daily allowance is spent (None). Its 45009 is not passed on: callers would take it for
        the quota of what they were sending."""
        if not await self.redis.set(self._forced_key, "1", nx=True, ex=FORCE_INTERVAL):
            log.warning("WeChat rejects the token of %s, yet hands it out again; a forced "
                        "refresh was asked for within %d s, not another", self.appid,
                        FORCE_INTERVAL)
            return None
        try:
            return await self._fetch_token(force=True)
        except WeChatAPIError as error:
            if error.errcode != QUOTA_REACHED:
                raise
            log.warning("WeChat refuses more forced token refreshes for %s today (45009)",
                        self.appid)
            return None

    def _keep(self, token: str) -> str:
        self._local = (token, time.monotonic() + LOCAL_SECONDS)
        return token

    async def _shared_token(self) -> str | None:
        raw = await self.redis.get(self._token_key)
        return None if raw is None else raw.decode()

    # --- calls ---

    async def _request(self, method: str, path: str, *, params: Mapping[str, str],
                       body: Any = None, upload: Upload | None = None) -> dict[str, Any]:
        """One HTTP call; the JSON answer, or WeChatAPIError for a nonzero errcode.

        Exception messages name the path and the error type only: aiohttp's own messages may
        carry the URL, whose query holds the secret or the token.
        """
        data: bytes | aiohttp.FormData | None = None
        headers = None
        if upload is not None:  # a new form each time: aiohttp sends a FormData only once
            data = aiohttp.FormData()
            data.add_field("media", upload.data, filename=upload.filename,
                           content_type=upload.content_type)
        elif body is not None:
            # UTF-8 as is, as wechatpy sends it: some WeChat APIs show \\u escapes verbatim.
            data = json.dumps(body, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            async with self.http.request(method, f"{self.base}/{path}", params=params, data=data,
                                         headers=headers, timeout=self.timeout) as response:
                answer = await response.json(content_type=None)
        except _NOT_SENT as exc:  # never connected: WeChat did not see the request
            raise WeChatConnectionError(f"{path}: cannot connect ({type(exc).__name__})",
                                        maybe_sent=False) from None
        except TimeoutError:
            raise WeChatTimeout(
                f"{path}: no answer within {self.timeout.total:g} s") from None
        except aiohttp.ClientConnectionError as exc:  # disconnected, reset, payload cut off
            raise WeChatConnectionError(f"{path}: {type(exc).__name__}") from None
        except (aiohttp.ClientError, ValueError) as exc:  # not JSON, bad encoding
            raise WeChatUnavailable(f"{path}: unreadable answer ({type(exc).__name__})") from None
        if not isinstance(answer, dict):
            raise WeChatUnavailable(f"{path}: the answer is not a JSON object")
        errcode = answer.get("errcode", 0)
        if errcode:
            try:
                code = int(errcode)
            except (TypeError, ValueError):
                code = -1
            raise WeChatAPIError(code, str(answer.get("errmsg", "")))
        return answer

    async def call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                   body: Any = None, upload: Upload | None = None) -> dict[str, Any]:
        """A call with the access token; a rejected token is replaced once and the call
        repeated (WeChat did not act on a call it rejected for its token)."""
        token = await self.access_token()
        try:
            return await self._request(method, path, params={**(params or {}),
                                                             "access_token": token}, body=body,
                                       upload=upload)
        except WeChatAPIError as error:
            if error.errcode not in TOKEN_INVALID:
                raise
            self._local = None
            log.info("WeChat rejected the access token of %s (%d); refreshing once",
                     self.appid, error.errcode)
            fresh = await self.refresh(stale=token)
            if fresh == token:  # no other token to be had: repeating would fail the same way
                raise
            return await self._request(method, path, params={**(params or {}),
                                                             "access_token": fresh}, body=body,
                                       upload=upload)

    async def jscode2session(self, code: str) -> CodeSession:
        """Exchange a mini-program wx.login() code (40029 unknown, 40163 already used)."""
        data = await self._request("GET", "sns/jscode2session", params={
            "appid": self.appid, "secret": self._secret, "js_code": code,
            "grant_type": "authorization_code"})
        openid, session_key = data.get("openid"), data.get("session_key")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            raise WeChatUnavailable("jscode2session answered without openid/session_key")
        unionid = data.get("unionid")
        return CodeSession(openid, unionid if isinstance(unionid, str) and unionid else None,
                           session_key)

    async def user_info(self, openid: str, *, lang: str = "zh_CN") -> dict[str, Any]:
        """An Official Account follower's `cgi-bin/user/info` as WeChat returns it
        (`subscribe` 0: not following, nothing else is known)."""
        return await self.call("GET", "cgi-bin/user/info",
                               params={"openid": openid, "lang": lang})

    async def unionid_of(self, openid: str) -> str | None:
        unionid = (await self.user_info(openid)).get("unionid")
        return unionid if isinstance(unionid, str) and unionid else None

    async def send_template(self, touser: str, template_id: str, data: Mapping[str, str], *,
                            url: str | None = None, miniprogram: Mapping[str, str] | None = None,
                            client_msg_id: str | None = None) -> int:
        """An Official Account template message; WeChat's msgid. `miniprogram` is
        {"appid", "pagepath"}; `client_msg_id` makes WeChat drop a repeat within 10 minutes."""
        body: dict[str, Any] = {"touser": touser, "template_id": template_id,
                                "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = dict(miniprogram)
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return _msgid(await self.call("POST", "cgi-bin/message/template/send", body=body))

    async def send_subscribe(self, touser: str, template_id: str, data: Mapping[str, str], *,
                             page: str | None = None, miniprogram_state: str | None = None,
                             lang: str | None = None) -> int:
        """A mini-program subscribe message (uses one of the person's consents: 43101 when none
        is left); WeChat's msgid. `miniprogram_state`: developer, trial or formal."""
        body: dict[str, Any] = {"touser": touser, "template_id": template_id,
                                "data": {k: {"value": v} for k, v in data.items()}}
        if page:
            body["page"] = page
        if miniprogram_state:
            body["miniprogram_state"] = miniprogram_state
        if lang:
            body["lang"] = lang
        return _msgid(await self.call("POST", "cgi-bin/message/subscribe/send", body=body))

    async def send_custom_text(self, touser: str, content: str) -> None:
        """A customer-service text message (only within 48 h of the person's last message:
        45015 otherwise)."""
        await self.call("POST", "cgi-bin/message/custom/send", body={
            "touser": touser, "msgtype": "text", "text": {"content": content}})


    async def upload_image(self, filename: str, data: bytes, content_type: str) -> str:
        """A temporary image (kept by WeChat three days) for messages; its media_id."""
        answer = await self.call("POST", "cgi-bin/media/upload", params={"type": "image"},
                                 upload=Upload(filename, data, content_type))
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeChatUnavailable("media/upload answered without a media_id")
        return media_id

    async def send_custom_image(self, touser: str, media_id: str) -> None:
        """A customer-service image message (the same 48 h rule as text)."""
        await self.call("POST", "cgi-bin/message/custom/send", body={
            "touser": touser, "msgtype": "image", "image": {"media_id": media_id}})


def _msgid(answer: Mapping[str, Any]) -> int:
    msgid = answer.get("msgid")
    return msgid if isinstance(msgid, int) else 0
