"""A fake of the WeChat API endpoints the bot calls, as a real HTTP server (`dxbot fake-wechat`).

Same paths, parameters, JSON shapes and error codes as api.weixin.qq.com for access tokens
(`cgi-bin/token`, `cgi-bin/stable_token`), mini-program login (`sns/jscode2session`), template,
subscribe and customer-service messages (text and image), temporary media
(`cgi-bin/media/upload`) and `cgi-bin/user/info`. All state is in memory.

WeChat's rules it keeps, because our client has to cope with them:

- each `cgi-bin/token` call issues a new token; the one before keeps working for `grace_seconds`
  (WeChat: 5 minutes), anything older stops at once (40001); tokens expire after `token_ttl`
  (42001); at most `token_daily_limit` calls a day per app (45009);
- `cgi-bin/stable_token` tokens are separate: the same token until `grace_seconds` before it
  expires, then a new one (the old one runs out on its own); `force_refresh` replaces it at once,
  but at most every 30 s (sooner: the current token again) and 20 times a day (45009);
- a wx.login() code works once (40163), within `code_ttl` seconds and for its own app (40029);
- messages go only to users registered for the app (40003) with templates registered for it
  (40037) and every keyword of the template filled (47003); template and customer-service
  messages only to followers (43004; customer service also within 48 h of the user's last
  message: 45015), subscribe messages only against an unused consent (43101); a template message
  repeating a `client_msg_id` within 10 minutes is not sent again (its first msgid is returned);
- `cgi-bin/media/upload?type=image` takes a multipart field `media` (40004 another type, 41005
  no media, 40005 not a PNG/JPEG/GIF by its bytes, 40009 over 10 MB) and answers `{type,
  media_id, created_at}`; a media_id works for its own app for three days (40007 otherwise) in
  customer-service image messages;
- errors are HTTP 200 with `{"errcode": N, "errmsg": "... rid: ..."}`.

Control endpoints for tests and benchmarks (JSON; each mirrors a method of `FakeWeChat`):

- `POST /_fake/apps {appid, secret}`: register an app (Official Account or mini-program);
- `POST /_fake/users {appid, openid, unionid?, subscribed?, last_message_at?}`: add or update a
  user of an app (`last_message_at`: epoch seconds, default now);
- `POST /_fake/templates {appid, template_id, keys?}`: a template the app may send (`keys`: the
  keywords it needs, e.g. ["thing1", "time2"]; omitted: any);
- `POST /_fake/consents {appid, openid, template_id, count?}`: subscribe-message consents;
- `POST /_fake/codes {appid, openid, unionid?}` -> `{code}`: a wx.login() code;
- `GET /_fake/calls?endpoint=` -> `{calls}`; `DELETE /_fake/calls`: what was received, with
  `secret` and `access_token` masked (`token_no` tells which issued token was used);
- `GET /_fake/stats` -> `{endpoint: {errcode or "dropped": count}}`;
- `GET /_fake/messages?touser=` -> `{messages}`: messages WeChat accepted for delivery;
- `POST /_fake/faults {endpoint, errcode?, delay_ms?, drop?, times?, probability?}` -> `{id}`;
  `GET /_fake/faults`; `DELETE /_fake/faults[?id=]`. `endpoint` is one of `ENDPOINTS` or "*".
  A matching call fires the fault with `probability` (default 1), at most `times` times (default
  1; unlimited when only `probability` is given): it answers `errcode` instead (not processed),
  or closes the connection without an answer (`drop`: true or "before": not processed;
  "after": processed, the answer lost), or is processed normally; either way the answer (or the
  drop) comes `delay_ms` late;
- `POST /_fake/advance {seconds}` -> `{now}`: move the fake's clock forward.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import BodyPartReader, web

log = logging.getLogger(__name__)

TOKEN_TTL = 7200
GRACE_SECONDS = 300.0  # WeChat: the previous token stays valid about five minutes
TOKEN_DAILY_LIMIT = 2000  # cgi-bin/token calls per app and day
CODE_TTL = 300.0  # a wx.login() code is valid five minutes
FORCE_REFRESH_INTERVAL = 30.0  # stable_token: force_refresh at most every 30 s...
FORCE_REFRESH_DAILY = 20  # ...and 20 times a day
CUSTOM_WINDOW = 48 * 3600.0  # customer-service messages: within 48 h of the user's last message
CLIENT_MSG_ID_SECONDS = 600.0  # template client_msg_id de-duplication window
MEDIA_SECONDS = 3 * 86400.0  # temporary media live three days
IMAGE_MAX_BYTES = 10 * 1024 * 1024
# Images by their first bytes, as WeChat checks them (the file name does not decide).
IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg", b"GIF87a": "gif",
               b"GIF89a": "gif"}
DAY = 86400.0

GET_ENDPOINTS = ("cgi-bin/token", "sns/jscode2session", "cgi-bin/user/info")
POST_ENDPOINTS = ("cgi-bin/stable_token", "cgi-bin/message/template/send",
                  "cgi-bin/message/subscribe/send", "cgi-bin/message/custom/send",
                  "cgi-bin/media/upload")
ENDPOINTS = GET_ENDPOINTS + POST_ENDPOINTS
SUBSCRIBE_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    41008: "missing code",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    47001: "data format error",
    47003: "argument invalid!",
}
_MASKED = frozenset({"secret", "access_token"})

Result = dict[str, Any]
Call = dict[str, Any]
DropMode = Literal["before", "after"]


@dataclass(slots=True)
class _Token:
    value: str
    appid: str
    no: int  # issue number within this fake, recorded with each call that uses the token
    expires_at: float
    revoked_at: float = float("inf")  # superseded: rejected (40001) from then on


@dataclass
class App:
    appid: str
    secret: str
    current: _Token | None = None  # the latest cgi-bin/token token
    previous: _Token | None = None  # the one before it, alive during its grace period
    stable: _Token | None = None  # the current cgi-bin/stable_token token
    token_day: float = -1.0  # the day (epoch days) token_calls counts
    token_calls: int = 0
    forced: list[float] = field(default_factory=list)  # times of stable force_refresh calls
    templates: dict[str, frozenset[str] | None] = field(default_factory=dict)


@dataclass
class User:
    openid: str
    unionid: str | None = None
    subscribed: bool = True
    last_message_at: float = 0.0
    subscribe_time: int = 0
    consents: Counter[str] = field(default_factory=Counter)  # template_id -> unused consents


@dataclass(frozen=True, slots=True)
class Media:
    """A temporary media file, as uploaded."""

    appid: str
    media_id: str
    type: str
    filename: str
    data: bytes = field(repr=False)
    created_at: float


@dataclass(slots=True)
class _Code:
    appid: str
    openid: str
    unionid: str | None
    expires_at: float
    used: bool = False


@dataclass
class Fault:
    """A rule of fault injection; see the module docstring. `times=None`: no limit."""

    endpoint: str
    errcode: int | None = None
    delay_ms: int = 0
    drop: DropMode | bool | None = None  # True means "before"
    times: int | None = 1
    probability: float = 1.0
    id: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.drop is True:
            self.drop = "before"
        elif self.drop is False:
            self.drop = None
        if self.endpoint != "*" and self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; use one of {ENDPOINTS} or *")
        if self.drop not in (None, "before", "after"):
            raise ValueError(f"drop must be true, 'before' or 'after', got {self.drop!r}")
        if self.errcode is not None and self.drop is not None:
            raise ValueError("a fault either answers an errcode or drops the connection")
        if self.errcode is None and self.drop is None and self.delay_ms <= 0:
            raise ValueError("a fault needs errcode, drop or delay_ms")
        if self.errcode == 0:
            raise ValueError("errcode 0 is not a fault")
        if self.delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or null for no limit)")
        if not 0 < self.probability <= 1:
            raise ValueError("probability must be in (0, 1]")

    @property
    def kind(self) -> str:
        if self.drop is not None:
            return "drop" if self.drop == "before" else "drop_after"
        return "errcode" if self.errcode is not None else "delay"

    def as_data(self) -> dict[str, Any]:
        return {"id": self.id, "endpoint": self.endpoint, "errcode": self.errcode,
                "delay_ms": self.delay_ms, "drop": self.drop, "times": self.times,
                "probability": self.probability, "fired": self.fired}


class FakeWeChat:
    """The fake's state and rules; `app()` serves them over HTTP. Tests in the same process can
    use the methods directly (the control endpoints call the same ones).

    `clock` gives epoch seconds (tests pass their own); `seed` makes fault probabilities and
    request ids repeatable. `token_daily_limit=None` lifts the daily token quota.
    """

    def __init__(self, *, grace_seconds: float = GRACE_SECONDS, token_ttl: float = TOKEN_TTL,
                 token_daily_limit: int | None = TOKEN_DAILY_LIMIT, code_ttl: float = CODE_TTL,
                 clock: Callable[[], float] = time.time, seed: int | None = None) -> None:
        if grace_seconds < 0 or token_ttl <= 0 or code_ttl <= 0:
            raise ValueError("grace_seconds must be >= 0, token_ttl and code_ttl > 0")
        self.grace_seconds = grace_seconds
        self.token_ttl = token_ttl
        self.token_daily_limit = token_daily_limit
        self.code_ttl = code_ttl
        self.clock = clock
        self.offset = 0.0  # added to the clock by `advance`
        self.apps: dict[str, App] = {}
        self.users: dict[tuple[str, str], User] = {}
        self.codes: dict[str, _Code] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.delivered: list[dict[str, Any]] = []
        self.media: dict[str, Media] = {}
        self._tokens: dict[str, _Token] = {}
        self._calls_by_endpoint: dict[str, list[Call]] = {}
        self._stats: dict[str, Counter[str]] = {}
        self._client_msg_ids: dict[tuple[str, str, str], tuple[int, float]] = {}
        self._random = random.Random(seed)
        self._token_nos = itertools.count(1)
        self._fault_ids = itertools.count(1)
        self._call_nos = itertools.count(1)
        self._msgids = itertools.count(2_000_000_001)

    # --- control (Python side) ---

    def now(self) -> float:
        return self.clock() + self.offset

    def advance(self, seconds: float) -> float:
        """Move the fake's clock forward (token expiry, grace periods, code lifetime)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.offset += seconds
        return self.now()

    def add_app(self, appid: str, secret: str) -> App:
        if not appid or not secret:
            raise ValueError("appid and secret must not be empty")
        app = self.apps.setdefault(appid, App(appid, secret))
        app.secret = secret
        return app

    def add_user(self, appid: str, openid: str, *, unionid: str | None = None,
                 subscribed: bool = True, last_message_at: float | None = None) -> User:
        """Add a user of `appid`, or update one (their consents stay)."""
        if not openid:
            raise ValueError("openid must not be empty")
        now = self.now()
        user = self.users.get((appid, openid))
        if user is None:
            user = self.users[(appid, openid)] = User(openid, subscribe_time=int(now))
        user.unionid = unionid or None
        user.subscribed = subscribed
        user.last_message_at = now if last_message_at is None else last_message_at
        return user

    def add_template(self, appid: str, template_id: str,
                     keys: Iterable[str] | None = None) -> None:
        if not template_id:
            raise ValueError("template_id must not be empty")
        self._app(appid).templates[template_id] = None if keys is None else frozenset(keys)

    def add_consent(self, appid: str, openid: str, template_id: str, count: int = 1) -> int:
        """Record that the user accepted `count` more subscribe messages of a template (as
        wx.requestSubscribeMessage does); the unused consents now."""
        if count < 1:
            raise ValueError("count must be at least 1")
        user = self.users.get((appid, openid))
        if user is None:
            raise KeyError(f"no user {openid!r} for app {appid!r}")
        user.consents[template_id] += count
        return user.consents[template_id]

    def new_code(self, appid: str, openid: str, unionid: str | None = None) -> str:
        """A wx.login() code for a user of the mini-program `appid`."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = _Code(appid, openid, unionid or None, self.now() + self.code_ttl)
        return code

    def add_fault(self, fault: Fault) -> Fault:
        fault.id = next(self._fault_ids)
        self.faults.append(fault)
        return fault

    def clear_faults(self, fault_id: int | None = None) -> None:
        self.faults = [] if fault_id is None else [f for f in self.faults if f.id != fault_id]

    def calls_to(self, endpoint: str) -> list[Call]:
        return list(self._calls_by_endpoint.get(endpoint, ()))

    def clear_calls(self) -> None:
        self.calls.clear()
        self._calls_by_endpoint.clear()
        self._stats.clear()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per endpoint: how many calls got each errcode ("0" = success; "dropped")."""
        return {endpoint: dict(counts) for endpoint, counts in self._stats.items()}

    def messages(self, touser: str | None = None) -> list[dict[str, Any]]:
        """Messages accepted for delivery, oldest first (not repeated client_msg_ids)."""
        if touser is None:
            return list(self.delivered)
        return [m for m in self.delivered if m["touser"] == touser]

    # --- tokens ---

    def _app(self, appid: str) -> App:
        app = self.apps.get(appid)
        if app is None:
            raise KeyError(f"no app {appid!r}; register it first")
        return app

    def _new_token(self, app: App, now: float) -> _Token:
        no = next(self._token_nos)
        # Shaped like WeChat's (a version prefix and ~130 URL-safe characters).
        value = f"{no}_{secrets.token_urlsafe(96)}"
        token = self._tokens[value] = _Token(value, app.appid, no, now + self.token_ttl)
        return token

    def _issue(self, app: App, now: float) -> _Token:
        if app.previous is not None:
            app.previous.revoked_at = min(app.previous.revoked_at, now)  # only one old token
        if app.current is not None:
            app.current.revoked_at = min(app.current.revoked_at, now + self.grace_seconds)
        app.previous = app.current
        app.current = self._new_token(app, now)
        return app.current

    def _check_token(self, request: web.Request, call: Call) -> App | Result:
        value = request.query.get("access_token", "")
        if not value:
            return _errdict(41001, self._rid())
        token = self._tokens.get(value)
        if token is None:
            return _errdict(40001, self._rid())
        call["appid"], call["token_no"] = token.appid, token.no
        now = self.now()
        if now >= token.revoked_at:
            return _errdict(40001, self._rid())
        if now >= token.expires_at:
            return _errdict(42001, self._rid())
        return self.apps[token.appid]

    def _credentials(self, appid: str, secret: str, call: Call) -> App | Result:
        if not appid:
            return _errdict(41002, self._rid())
        if not secret:
            return _errdict(41004, self._rid())
        app = self.apps.get(appid)
        if app is None:
            return _errdict(40013, self._rid())
        call["appid"] = appid
        if not secrets.compare_digest(app.secret.encode(), secret.encode()):
            return _errdict(40125, self._rid())
        return app

    def _rid(self) -> str:
        bits = self._random.getrandbits(64)
        return f"{int(self.now()) & 0xFFFFFFFF:08x}-{bits >> 32:08x}-{bits & 0xFFFFFFFF:08x}"

    # --- the WeChat endpoints ---

    def _cgi_bin_token(self, request: web.Request, _body: Any, call: Call) -> Result:
        query = request.query
        if query.get("grant_type") != "client_credential":
            return _errdict(40002, self._rid())
        app = self._credentials(query.get("appid", ""), query.get("secret", ""), call)
        if not isinstance(app, App):
            return app
        now = self.now()
        if app.token_day != now // DAY:
            app.token_day, app.token_calls = now // DAY, 0
        if self.token_daily_limit is not None and app.token_calls >= self.token_daily_limit:
            return _errdict(45009, self._rid())
        app.token_calls += 1
        token = self._issue(app, now)
        call["token_no"] = token.no
        return {"access_token": token.value, "expires_in": int(self.token_ttl)}

    def _cgi_bin_stable_token(self, _request: web.Request, body: Any, call: Call) -> Result:
        if not isinstance(body, dict):
            return _errdict(47001, self._rid())
        if body.get("grant_type") != "client_credential":
            return _errdict(40002, self._rid())
        app = self._credentials(_text(body.get("appid")), _text(body.get("secret")), call)
        if not isinstance(app, App):
            return app
        now = self.now()
        stable = app.stable
        if stable is not None and (now >= stable.revoked_at or now >= stable.expires_at):
            stable = None
        if body.get("force_refresh") is True and stable is not None:
            recent = [t for t in app.forced if t > now - DAY]
            # Within 30 s of the last forced refresh WeChat does not refresh again.
            if not recent or now - recent[-1] >= FORCE_REFRESH_INTERVAL:
                if len(recent) >= FORCE_REFRESH_DAILY:
                    return _errdict(45009, self._rid())
                app.forced = [*recent, now]
                stable.revoked_at = now  # a forced refresh cuts the old one off at once
                stable = None
        elif stable is not None and stable.expires_at - now <= self.grace_seconds:
            stable = None  # WeChat renews early; the old one simply runs out
        if stable is None:
            stable = app.stable = self._new_token(app, now)
        call["token_no"] = stable.no
        return {"access_token": stable.value, "expires_in": int(stable.expires_at - now)}

    def _sns_jscode2session(self, request: web.Request, _body: Any, call: Call) -> Result:
        query = request.query
        if query.get("grant_type") != "authorization_code":
            return _errdict(40002, self._rid())
        app = self._credentials(query.get("appid", ""), query.get("secret", ""), call)
        if not isinstance(app, App):
            return app
        value = query.get("js_code", "")
        if not value:
            return _errdict(41008, self._rid())
        code = self.codes.get(value)
        if code is None or code.appid != app.appid:
            return _errdict(40029, self._rid())
        if code.used:
            return _errdict(40163, self._rid())
        if self.now() >= code.expires_at:
            return _errdict(40029, self._rid())
        code.used = True
        result = {"session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
                  "openid": code.openid}
        if code.unionid:
            result["unionid"] = code.unionid
        return result

    def _cgi_bin_user_info(self, request: web.Request, _body: Any, call: Call) -> Result:
        app = self._check_token(request, call)
        if not isinstance(app, App):
            return app
        openid = request.query.get("openid", "")
        user = self.users.get((app.appid, openid))
        if user is None:
            return _errdict(40003, self._rid())
        if not user.subscribed:
            # WeChat: "值为0时，代表此用户没有关注该公众号，拉取不到其余信息".
            return {"subscribe": 0, "openid": openid}
        lang = request.query.get("lang", "zh_CN")
        info: Result = {"subscribe": 1, "openid": openid,
                        "language": lang if lang in LANGS else "zh_CN",
                        "subscribe_time": user.subscribe_time}
        if user.unionid:
            info["unionid"] = user.unionid
        info.update({"remark": "", "groupid": 0, "tagid_list": [],
                     "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene": 0, "qr_scene_str": ""})
        return info

    def _recipient(self, request: web.Request, body: Any, call: Call,
                   ) -> tuple[App, User] | Result:
        app = self._check_token(request, call)
        if not isinstance(app, App):
            return app
        if not isinstance(body, dict):
            return _errdict(47001, self._rid())
        user = self.users.get((app.appid, _text(body.get("touser"))))
        if user is None:
            return _errdict(40003, self._rid())
        return app, user

    def _template_errors(self, app: App, body: dict[str, Any]) -> Result | None:
        template_id = _text(body.get("template_id"))
        if template_id not in app.templates:
            return _errdict(40037, self._rid())
        data = body.get("data")
        if not isinstance(data, dict):
            return _errdict(47001, self._rid())
        for key, item in data.items():
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                return _errdict(47003, self._rid(), f"data.{key}.value is invalid")
        for key in sorted(app.templates[template_id] or ()):
            if not data.get(key, {}).get("value"):
                return _errdict(47003, self._rid(), f"data.{key}.value is empty")
        return None

    def _deliver(self, endpoint: str, app: App, user: User, body: dict[str, Any]) -> Result:
        msgid = next(self._msgids)
        self.delivered.append({"msgid": msgid, "endpoint": endpoint, "appid": app.appid,
                               "touser": user.openid, "time": self.now(), "body": body})
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _cgi_bin_message_template_send(self, request: web.Request, body: Any,
                                       call: Call) -> Result:
        found = self._recipient(request, body, call)
        if not isinstance(found, tuple):
            return found
        app, user = found
        error = self._template_errors(app, body)
        if error is not None:
            return error
        if not user.subscribed:
            return _errdict(43004, self._rid())
        client_msg_id = body.get("client_msg_id")
        if isinstance(client_msg_id, str) and client_msg_id:
            key, now = (app.appid, user.openid, client_msg_id), self.now()
            seen = self._client_msg_ids.get(key)
            if seen is not None and now - seen[1] < CLIENT_MSG_ID_SECONDS:
                call["duplicate"] = True
                return {"errcode": 0, "errmsg": "ok", "msgid": seen[0]}
            result = self._deliver("cgi-bin/message/template/send", app, user, body)
            self._client_msg_ids[key] = (result["msgid"], now)
            return result
        return self._deliver("cgi-bin/message/template/send", app, user, body)

    def _cgi_bin_message_subscribe_send(self, request: web.Request, body: Any,
                                        call: Call) -> Result:
        found = self._recipient(request, body, call)
        if not isinstance(found, tuple):
            return found
        app, user = found
        error = self._template_errors(app, body)
        if error is not None:
            return error
        for name, allowed in (("miniprogram_state", SUBSCRIBE_STATES), ("lang", LANGS)):
            if name in body and body[name] not in allowed:
                return _errdict(47003, self._rid(), f"{name} is invalid")
        template_id = body["template_id"]
        if user.consents[template_id] <= 0:
            return _errdict(43101, self._rid())
        user.consents[template_id] -= 1  # one consent, one message
        return self._deliver("cgi-bin/message/subscribe/send", app, user, body)

    def _cgi_bin_message_custom_send(self, request: web.Request, body: Any,
                                     call: Call) -> Result:
        found = self._recipient(request, body, call)
        if not isinstance(found, tuple):
            return found
        app, user = found
        msgtype = body.get("msgtype")
        if msgtype == "image":
            image = body.get("image")
            if not isinstance(image, dict) or not isinstance(image.get("media_id"), str):
                return _errdict(47001, self._rid())
            media = self.media.get(image["media_id"])
            if (media is None or media.appid != app.appid or media.type != "image"
                    or self.now() - media.created_at > MEDIA_SECONDS):
                return _errdict(40007, self._rid())
        elif msgtype != "text":
            return _errdict(40008, self._rid())
        else:
            text = body.get("text")
            if not isinstance(text, dict) or not isinstance(text.get("content"), str):
                return _errdict(47001, self._rid())
            if not text["content"]:
                return _errdict(44004, self._rid())
        if not user.subscribed or self.now() - user.last_message_at > CUSTOM_WINDOW:
            return _errdict(45015, self._rid())
        return self._deliver("cgi-bin/message/custom/send", app, user, body)

    def _cgi_bin_media_upload(self, request: web.Request, body: Any, call: Call) -> Result:
        app = self._check_token(request, call)
        if not isinstance(app, App):
            return app
        kind = request.query.get("type", "")
        if kind != "image":  # the only type the bot sends (voice, video, thumb: not faked)
            return _errdict(40004, self._rid())
        if not isinstance(body, dict) or body.get("media") is None:
            return _errdict(41005, self._rid())
        filename, data = body["media"]
        if len(data) > IMAGE_MAX_BYTES:
            return _errdict(40009, self._rid())
        if not any(data.startswith(magic) for magic in IMAGE_MAGIC):
            return _errdict(40005, self._rid())
        media = Media(app.appid, secrets.token_urlsafe(48), kind, filename, data, self.now())
        self.media[media.media_id] = media
        return {"type": kind, "media_id": media.media_id, "created_at": int(media.created_at)}

    # --- the HTTP side ---

    def app(self) -> web.Application:
        application = web.Application(client_max_size=IMAGE_MAX_BYTES + 1024 * 1024)
        for endpoint in ENDPOINTS:
            handler = getattr(self, "_" + endpoint.replace("/", "_").replace("-", "_"))
            method = "GET" if endpoint in GET_ENDPOINTS else "POST"
            application.router.add_route(method, "/" + endpoint, self._serve(endpoint, handler))
        routes = [
            ("POST", "apps", self._control_app), ("POST", "users", self._control_user),
            ("POST", "templates", self._control_template),
            ("POST", "consents", self._control_consent), ("POST", "codes", self._control_code),
            ("GET", "calls", self._control_calls), ("DELETE", "calls", self._control_clear_calls),
            ("GET", "stats", self._control_stats), ("GET", "messages", self._control_messages),
            ("POST", "faults", self._control_fault), ("GET", "faults", self._control_faults),
            ("DELETE", "faults", self._control_clear_faults),
            ("POST", "advance", self._control_advance),
        ]
        for method, name, control in routes:
            application.router.add_route(method, f"/_fake/{name}", _control(control))
        return application

    def _serve(self, endpoint: str, handler: Callable[[web.Request, Any, Call], Result],
               ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            body: Any
            if endpoint == "cgi-bin/media/upload":
                body = await _media_body(request)
                shown: Any = {"media": None if body["media"] is None else {
                    "filename": body["media"][0], "size": len(body["media"][1])}}
            else:
                body = _json_body(await request.read()) if request.method == "POST" else None
                shown = ({**body, "secret": "***"} if isinstance(body, dict) and "secret" in body
                         else body)
            call: Call = {
                "no": next(self._call_nos), "endpoint": endpoint, "time": self.now(),
                "query": {k: "***" if k in _MASKED else v for k, v in request.query.items()},
                "body": shown,
                "appid": None, "token_no": None, "fault": None, "errcode": None,
            }
            self.calls.append(call)
            self._calls_by_endpoint.setdefault(endpoint, []).append(call)
            fault = self._take_fault(endpoint) if self.faults else None
            if fault is None:
                return self._answer(endpoint, call, handler(request, body, call))
            call["fault"] = fault.kind
            if fault.drop == "before":  # not processed
                await asyncio.sleep(fault.delay_ms / 1000)
                return self._drop(request, endpoint)
            if fault.errcode is not None:  # not processed either
                await asyncio.sleep(fault.delay_ms / 1000)
                return self._answer(endpoint, call, _errdict(fault.errcode, self._rid()))
            # Processed at once, only the answer is late (or lost): a client that gives up
            # waiting cannot tell whether the message went out, just as with WeChat.
            result = handler(request, body, call)
            if fault.drop == "after":
                call["errcode"] = result.get("errcode", 0)  # what the lost answer said
                await asyncio.sleep(fault.delay_ms / 1000)
                return self._drop(request, endpoint)
            response = self._answer(endpoint, call, result)
            await asyncio.sleep(fault.delay_ms / 1000)
            return response
        return serve

    def _answer(self, endpoint: str, call: Call, result: Result) -> web.Response:
        errcode = result.get("errcode", 0)
        call["errcode"] = errcode
        self._count(endpoint, str(errcode))
        return web.json_response(result)

    def _drop(self, request: web.Request, endpoint: str) -> web.Response:
        self._count(endpoint, "dropped")
        if request.transport is not None:
            request.transport.close()  # the connection goes away without an answer
        return web.Response()  # never reaches the client

    def _count(self, endpoint: str, key: str) -> None:
        counts = self._stats.get(endpoint)
        if counts is None:
            counts = self._stats[endpoint] = Counter()
        counts[key] += 1

    def _take_fault(self, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint != endpoint and fault.endpoint != "*":
                continue
            if fault.probability < 1 and self._random.random() >= fault.probability:
                continue
            fault.fired += 1
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    # --- control handlers: JSON in, JSON out; bad input is a 400 (see `_control`) ---

    async def _control_app(self, request: web.Request) -> Result:
        body = await _control_body(request)
        self.add_app(_required(body, "appid"), _required(body, "secret"))
        return {"ok": True}

    async def _control_user(self, request: web.Request) -> Result:
        body = await _control_body(request)
        last = body.get("last_message_at")
        self.add_user(_required(body, "appid"), _required(body, "openid"),
                      unionid=_optional(body, "unionid"),
                      subscribed=bool(body.get("subscribed", True)),
                      last_message_at=None if last is None else float(last))
        return {"ok": True}

    async def _control_template(self, request: web.Request) -> Result:
        body = await _control_body(request)
        keys = body.get("keys")
        if keys is not None and not (isinstance(keys, list)
                                     and all(isinstance(k, str) for k in keys)):
            raise ValueError("keys: a list of strings")
        self.add_template(_required(body, "appid"), _required(body, "template_id"), keys)
        return {"ok": True}

    async def _control_consent(self, request: web.Request) -> Result:
        body = await _control_body(request)
        left = self.add_consent(_required(body, "appid"), _required(body, "openid"),
                                _required(body, "template_id"), int(body.get("count", 1)))
        return {"consents": left}

    async def _control_code(self, request: web.Request) -> Result:
        body = await _control_body(request)
        return {"code": self.new_code(_required(body, "appid"), _required(body, "openid"),
                                      _optional(body, "unionid"))}

    async def _control_calls(self, request: web.Request) -> Result:
        endpoint = request.query.get("endpoint")
        return {"calls": self.calls if endpoint is None else self.calls_to(endpoint)}

    async def _control_clear_calls(self, _request: web.Request) -> Result:
        self.clear_calls()
        return {"ok": True}

    async def _control_stats(self, _request: web.Request) -> Result:
        return self.stats()

    async def _control_messages(self, request: web.Request) -> Result:
        return {"messages": self.messages(request.query.get("touser"))}

    async def _control_fault(self, request: web.Request) -> Result:
        body = await _control_body(request)
        unknown = set(body) - {"endpoint", "errcode", "delay_ms", "drop", "times", "probability"}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        drop = body.get("drop")
        if drop not in (None, True, False, "before", "after"):
            raise ValueError("drop: true, false, 'before' or 'after'")
        # Only a probability given: it fires on that share of calls until removed.
        times = body.get("times", None if "probability" in body else 1)
        errcode = body.get("errcode")
        fault = self.add_fault(Fault(
            endpoint=_required(body, "endpoint"),
            errcode=None if errcode is None else int(errcode),
            delay_ms=int(body.get("delay_ms", 0)), drop=drop,
            times=None if times is None else int(times),
            probability=float(body.get("probability", 1.0))))
        return {"id": fault.id}

    async def _control_faults(self, _request: web.Request) -> Result:
        return {"faults": [f.as_data() for f in self.faults]}

    async def _control_clear_faults(self, request: web.Request) -> Result:
        fault_id = request.query.get("id")
        self.clear_faults(None if fault_id is None else int(fault_id))
        return {"ok": True}

    async def _control_advance(self, request: web.Request) -> Result:
        body = await _control_body(request)
        return {"now": self.advance(float(body["seconds"]))}


def _control(handler: Callable[[web.Request], Awaitable[Result]],
             ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        try:
            return web.json_response(await handler(request))
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc).strip("'\"")}, status=400)
    return serve


async def _control_body(request: web.Request) -> dict[str, Any]:
    body = _json_body(await request.read())
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _required(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: a non-empty string is required")
    return value


def _optional(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name}: a string or null")
    return value or None


async def _media_body(request: web.Request) -> dict[str, Any]:
    """The multipart field `media` as (file name, bytes); None when there is none (or the body
    is not multipart at all)."""
    if not request.content_type.startswith("multipart/"):
        await request.read()
        return {"media": None}
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == "media" and part.filename:
            return {"media": (part.filename, bytes(await part.read()))}
    return {"media": None}


def _json_body(raw: bytes) -> Any:
    # WeChat reads the body as JSON whatever the Content-Type says.
    try:
        return json.loads(raw)
    except ValueError:  # also UnicodeDecodeError
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _errdict(errcode: int, rid: str, detail: str | None = None) -> Result:
    message = ERRMSG.get(errcode, "system error")
    if detail:
        message = f"{message} {detail}"
    return {"errcode": errcode, "errmsg": f"{message} rid: {rid}"}


def parse_app(option: str) -> tuple[str, str]:
    """`APPID:SECRET` from the command line."""
    appid, sep, secret = option.partition(":")
    if not (sep and appid and secret):
        raise ValueError("--app: expected APPID:SECRET (both non-empty)")
    return appid, secret


def run(host: str, port: int, *, apps: Iterable[str] = (), grace_seconds: float = GRACE_SECONDS,
        token_ttl: float = TOKEN_TTL) -> None:
    """`dxbot fake-wechat`: serve until interrupted; `apps` are APPID:SECRET to register."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fake = FakeWeChat(grace_seconds=grace_seconds, token_ttl=token_ttl)
    for option in apps:
        appid, secret = parse_app(option)
        fake.add_app(appid, secret)
        log.info("registered app %s", appid)
    try:  # benchmarks push it hard; uvloop where it is built (as `dxbot serve` does)
        import uvloop
        loop: asyncio.AbstractEventLoop | None = uvloop.new_event_loop()
    except ImportError:
        loop = None
    # No access log: query strings carry app secrets and tokens.
    web.run_app(fake.app(), host=host, port=port, access_log=None, loop=loop,
                print=lambda text: log.info("%s", text.strip()))
