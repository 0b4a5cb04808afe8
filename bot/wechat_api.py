"""Our async client of the WeChat API (Official Account or mini-program: one client per appid).

The access token is shared by every worker through Redis. WeChat invalidates the previous token
whenever a new one is fetched, so uncoordinated refreshes make workers knock each other's tokens
out; here one refresh happens at a time across all processes (a Redis lock, and within a process
an asyncio lock), everyone else waits for its result, and a token WeChat rejects (40001/42001) is
refreshed once, unless another worker already replaced it, and the call retried.

Secrets, tokens and session keys never reach a log line or a repr.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40001, 42001})
SAFETY_MARGIN = 300  # seconds before WeChat's expiry at which a token counts as old
LOCK_MS = 15_000  # longest a refresh may hold the lock (the HTTP timeout is shorter)
WAIT_SECONDS = 10.0  # how long a worker waits for another's refresh
LOCAL_SECONDS = 60.0  # how long a worker trusts its own copy without asking Redis

_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class WeChatAPIError(Exception):
    """WeChat answered with an error code (kept: -1 busy, 43101 refused, 45009 quota…)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatUnavailable(Exception):
    """No usable answer: timeout, connection lost, or not JSON."""


@dataclass(frozen=True)
class CodeSession:
    """What `jscode2session` says about a wx.login() code."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


class WeChatClient:
    """Calls for one appid; share one instance per process."""

    def __init__(self, http: aiohttp.ClientSession, redis: aioredis.Redis, *, base: str,
                 appid: str, secret: str, timeout: float = 5.0, prefix: str = "dx",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.redis = redis
        self.base = base.rstrip("/")
        self.appid = appid
        self._secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._token_key = f"{prefix}:wx:{{{appid}}}:token"
        self._lock_key = f"{prefix}:wx:{{{appid}}}:lock"
        self._unlock = redis.register_script(_UNLOCK_LUA)
        self._local: tuple[str, float] | None = None  # token, trusted until (clock)
        self._refreshing = asyncio.Lock()
        self.clock = clock

    def __repr__(self) -> str:
        return f"WeChatClient(appid={self.appid!r}, base={self.base!r})"

    # --- the access token ---

    async def access_token(self) -> str:
        local = self._local
        if local is not None and local[1] > self.clock():
            return local[0]
        raw = await self.redis.get(self._token_key)
        if raw is not None:
            return self._keep(raw.decode())
        return await self.refresh(stale=None)

    def _keep(self, token: str) -> str:
        self._local = (token, self.clock() + LOCAL_SECONDS)
        return token

    async def refresh(self, *, stale: str | None) -> str:
        """A token other than `stale`: one another worker fetched meanwhile, or a new one."""
        async with self._refreshing:
            current = await self._shared_token()
            if current is not None and current != stale:
                return self._keep(current)
            owner = secrets.token_hex(8)
            deadline = time.monotonic() + WAIT_SECONDS
            while not await self.redis.set(self._lock_key, owner, nx=True, px=LOCK_MS):
                # Another worker is fetching: wait for its token rather than fetch one more.
                await asyncio.sleep(0.05)
                current = await self._shared_token()
                if current is not None and current != stale:
                    return self._keep(current)
                if time.monotonic() > deadline:
                    raise WeChatUnavailable("waited too long for another worker's token refresh")
            try:
                current = await self._shared_token()
                if current is not None and current != stale:
                    return self._keep(current)
                data = await self._request("GET", "cgi-bin/token", params={
                    "grant_type": "client_credential", "appid": self.appid,
                    "secret": self._secret})
                token, expires_in = data.get("access_token"), data.get("expires_in")
                if not isinstance(token, str) or not isinstance(expires_in, int):
                    raise WeChatUnavailable("cgi-bin/token answered without a token")
                ttl = max(60, expires_in - SAFETY_MARGIN)
                await self.redis.set(self._token_key, token, ex=ttl)
                log.info("fetched a new access token for %s (valid %d s)", self.appid, ttl)
                return self._keep(token)
            finally:
                await self._unlock(keys=[self._lock_key], args=[owner])

    async def _shared_token(self) -> str | None:
        raw = await self.redis.get(self._token_key)
        return None if raw is None else raw.decode()

    # --- calls ---

    async def _request(self, method: str, path: str, *, params: Mapping[str, str],
                       body: Any = None) -> dict[str, Any]:
        """One HTTP call; the JSON answer, WeChatAPIError for a nonzero errcode."""
        try:
            async with self.http.request(method, f"{self.base}/{path}", params=params,
                                         json=body, timeout=self.timeout) as response:
                data = await response.json(content_type=None)
        except TimeoutError:
            raise WeChatUnavailable(f"{path}: no answer within {self.timeout.total} s") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise WeChatUnavailable(f"{path}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise WeChatUnavailable(f"{path}: the answer is not a JSON object")
        errcode = data.get("errcode", 0)
        if errcode:
            raise WeChatAPIError(int(errcode), str(data.get("errmsg", "")))
        return data

    async def call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                   body: Any = None) -> dict[str, Any]:
        """A call with the access token; a rejected token is replaced once and the call
        repeated."""
        token = await self.access_token()
        try:
            return await self._request(method, path, params={**(params or {}),
                                                             "access_token": token}, body=body)
        except WeChatAPIError as error:
            if error.errcode not in TOKEN_INVALID:
                raise
            self._local = None
            token = await self.refresh(stale=token)
            return await self._request(method, path, params={**(params or {}),
                                                             "access_token": token}, body=body)

    async def jscode2session(self, code: str) -> CodeSession:
        data = await self._request("GET", "sns/jscode2session", params={
            "appid": self.appid, "secret": self._secret, "js_code": code,
            "grant_type": "authorization_code"})
        openid, session_key = data.get("openid"), data.get("session_key")
        if not isinstance(openid, str) or not isinstance(session_key, str):
            raise WeChatUnavailable("jscode2session answered without openid/session_key")
        unionid = data.get("unionid")
        return CodeSession(openid, unionid if isinstance(unionid, str) else None, session_key)

    async def user_info(self, openid: str) -> dict[str, Any]:
        return await self.call("GET", "cgi-bin/user/info",
                               params={"openid": openid, "lang": "zh_CN"})

    async def unionid_of(self, openid: str) -> str | None:
        unionid = (await self.user_info(openid)).get("unionid")
        return unionid if isinstance(unionid, str) and unionid else None

    async def send_template(self, touser: str, template_id: str, data: Mapping[str, str], *,
                            url: str | None = None,
                            miniprogram: Mapping[str, str] | None = None) -> int:
        """An Official Account template message; WeChat's msgid."""
        body: dict[str, Any] = {"touser": touser, "template_id": template_id,
                                "data": {k: {"value": v} for k, v in data.items()}}
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = dict(miniprogram)
        return int((await self.call("POST", "cgi-bin/message/template/send", body=body))
                   .get("msgid", 0))

    async def send_subscribe(self, touser: str, template_id: str, data: Mapping[str, str], *,
                             page: str | None = None) -> None:
        """A mini-program subscribe message (needs the person's unused consent)."""
        body: dict[str, Any] = {"touser": touser, "template_id": template_id,
                                "data": {k: {"value": v} for k, v in data.items()}}
        if page:
            body["page"] = page
        await self.call("POST", "cgi-bin/message/subscribe/send", body=body)

    async def send_custom_text(self, touser: str, content: str) -> None:
        """A customer-service message (only within 48 h of the person's last message)."""
        await self.call("POST", "cgi-bin/message/custom/send", body={
            "touser": touser, "msgtype": "text", "text": {"content": content}})
