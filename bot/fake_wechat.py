"""A fake of the WeChat API endpoints the bot calls, as a real HTTP server (`dxbot fake-wechat`).

Same paths, parameters, JSON shapes and error codes as api.weixin.qq.com for: access tokens
(`cgi-bin/token`, `cgi-bin/stable_token`), mini-program login (`sns/jscode2session`), template,
subscribe and customer-service messages, and `cgi-bin/user/info`. Like WeChat, each call of
`cgi-bin/token` issues a new token and the previous one keeps working only for a grace period.

For tests and benchmarks it also has control endpoints under `/_fake/`:

- `POST /_fake/apps {appid, secret}`: register an app (Official Account or mini-program);
- `POST /_fake/users {appid, openid, unionid?, subscribed?}`: a user as `user/info` shows them;
- `POST /_fake/codes {appid, openid, unionid?}` -> `{code}`: a wx.login() code, usable once;
- `GET /_fake/calls?endpoint=…` / `DELETE /_fake/calls`: what was received (secrets masked);
- `POST /_fake/faults {endpoint, errcode?, delay_ms?, drop?, times?}` / `DELETE /_fake/faults`:
  the next `times` calls of `endpoint` (or "*") answer `errcode`, answer late, or lose the
  connection without an answer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

TOKEN_TTL = 7200
GRACE_SECONDS = 300  # WeChat: the previous token stays valid about five minutes
ENDPOINTS = ("cgi-bin/token", "cgi-bin/stable_token", "sns/jscode2session",
             "cgi-bin/message/template/send", "cgi-bin/message/subscribe/send",
             "cgi-bin/message/custom/send", "cgi-bin/user/info")
ERRMSG = {
    -1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type", 40003: "invalid openid", 40013: "invalid appid",
    40029: "invalid code", 40037: "invalid template_id", 40125: "invalid appsecret",
    40163: "code been used", 41001: "access_token missing", 42001: "access_token expired",
    43101: "user refuse to accept the msg", 45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled", 47001: "data format error",
}


@dataclass
class App:
    appid: str
    secret: str
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    superseded: dict[str, float] = field(default_factory=dict)  # token -> rejected from
    stable: str | None = None


@dataclass
class Fault:
    endpoint: str
    errcode: int | None = None
    delay_ms: int = 0
    drop: bool = False
    times: int = 1


class FakeWeChat:
    """The fake's state; `app()` serves it. Also usable from Python in the same process."""

    def __init__(self, *, grace_seconds: float = GRACE_SECONDS, token_ttl: float = TOKEN_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.grace_seconds = grace_seconds
        self.token_ttl = token_ttl
        self.clock = clock
        self.apps: dict[str, App] = {}
        self.users: dict[tuple[str, str], dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.used_codes: set[str] = set()
        self.calls: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._msgids = itertools.count(1_000_000_001)

    # --- control ---

    def add_app(self, appid: str, secret: str) -> None:
        self.apps.setdefault(appid, App(appid, secret)).secret = secret

    def add_user(self, appid: str, openid: str, *, unionid: str | None = None,
                 subscribed: bool = True) -> None:
        self.users[(appid, openid)] = {"openid": openid, "unionid": unionid,
                                       "subscribe": 1 if subscribed else 0}

    def new_code(self, appid: str, openid: str, unionid: str | None = None) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = {"appid": appid, "openid": openid, "unionid": unionid}
        return code

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def calls_to(self, endpoint: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["endpoint"] == endpoint]

    # --- tokens ---

    def _issue(self, app: App) -> str:
        now = self.clock()
        # Every older token stops working after the grace period, as on WeChat (40001).
        for token in app.tokens:
            app.superseded.setdefault(token, now + self.grace_seconds)
        token = secrets.token_urlsafe(48)
        app.tokens[token] = now + self.token_ttl
        return token

    def _app_of_token(self, token: str) -> tuple[App | None, int]:
        """The app a token belongs to, or the errcode (41001, 40001, 42001)."""
        if not token:
            return None, 41001
        now = self.clock()
        for app in self.apps.values():
            until = app.tokens.get(token)
            if until is not None:
                if app.superseded.get(token, now + 1) <= now:
                    return None, 40001
                return (app, 0) if until > now else (None, 42001)
        return None, 40001

    # --- the HTTP side ---

    def app(self) -> web.Application:
        application = web.Application(client_max_size=1024 * 1024)
        for endpoint in ENDPOINTS:
            handler = getattr(self, "_" + endpoint.replace("/", "_").replace("-", "_"))
            method = "GET" if endpoint in ("cgi-bin/token", "sns/jscode2session",
                                           "cgi-bin/user/info") else "POST"
            application.router.add_route(method, "/" + endpoint, self._wrap(endpoint, handler))
        application.router.add_post("/_fake/apps", self._control_app)
        application.router.add_post("/_fake/users", self._control_user)
        application.router.add_post("/_fake/codes", self._control_code)
        application.router.add_get("/_fake/calls", self._control_calls)
        application.router.add_delete("/_fake/calls", self._control_clear_calls)
        application.router.add_post("/_fake/faults", self._control_fault)
        application.router.add_delete("/_fake/faults", self._control_clear_faults)
        return application

    def _wrap(self, endpoint: str, handler: Callable[[web.Request, Any],
                                                      Awaitable[dict[str, Any]]],
              ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            body: Any = None
            if request.method == "POST":
                try:
                    body = await request.json()
                except ValueError:
                    body = None
            call = {"endpoint": endpoint, "time": self.clock(),
                    "query": {k: ("***" if k in ("secret", "access_token") else v)
                              for k, v in request.query.items()},
                    "body": _masked(body)}
            self.calls.append(call)
            fault = self._take_fault(endpoint)
            if fault is not None:
                if fault.delay_ms:
                    await asyncio.sleep(fault.delay_ms / 1000)
                if fault.drop:
                    call["errcode"] = "dropped"
                    if request.transport is not None:
                        request.transport.close()  # the connection goes without an answer
                    return web.Response()
                if fault.errcode is not None:
                    call["errcode"] = fault.errcode
                    return _error(fault.errcode)
            result = await handler(request, body)
            call["errcode"] = result.get("errcode", 0)
            return web.json_response(result)
        return serve

    def _take_fault(self, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint in (endpoint, "*"):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _token_app(self, request: web.Request) -> tuple[App | None, dict[str, Any] | None]:
        app, errcode = self._app_of_token(request.query.get("access_token", ""))
        return (app, None) if app is not None else (None, _errdict(errcode))

    async def _cgi_bin_token(self, request: web.Request, _body: Any) -> dict[str, Any]:
        query = request.query
        if query.get("grant_type") != "client_credential":
            return _errdict(40002)
        checked = self._credentials(query.get("appid", ""), query.get("secret", ""))
        if isinstance(checked, dict):
            return checked
        return {"access_token": self._issue(checked), "expires_in": int(self.token_ttl)}

    async def _cgi_bin_stable_token(self, _request: web.Request, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("grant_type") != "client_credential":
            return _errdict(40002)
        checked = self._credentials(str(body.get("appid", "")), str(body.get("secret", "")))
        if isinstance(checked, dict):
            return checked
        now = self.clock()
        current = checked.stable
        if (body.get("force_refresh") or current is None or checked.tokens[current] <= now
                or checked.superseded.get(current, now + 1) <= now):
            checked.stable = current = self._issue(checked)
        return {"access_token": current, "expires_in": int(checked.tokens[current] - now)}

    def _credentials(self, appid: str, secret: str) -> App | dict[str, Any]:
        app = self.apps.get(appid)
        if app is None:
            return _errdict(40013)
        if not secrets.compare_digest(app.secret, secret):
            return _errdict(40125)
        return app

    async def _sns_jscode2session(self, request: web.Request, _body: Any) -> dict[str, Any]:
        query = request.query
        if query.get("grant_type") != "authorization_code":
            return _errdict(40002)
        checked = self._credentials(query.get("appid", ""), query.get("secret", ""))
        if isinstance(checked, dict):
            return checked
        code = query.get("js_code", "")
        if code in self.used_codes:
            return _errdict(40163)
        found = self.codes.get(code)
        if found is None or found["appid"] != checked.appid:
            return _errdict(40029)
        del self.codes[code]
        self.used_codes.add(code)
        result = {"openid": found["openid"], "session_key": secrets.token_urlsafe(16)}
        if found["unionid"]:
            result["unionid"] = found["unionid"]
        return result

    async def _cgi_bin_user_info(self, request: web.Request, _body: Any) -> dict[str, Any]:
        app, error = self._token_app(request)
        if app is None:
            assert error is not None
            return error
        user = self.users.get((app.appid, request.query.get("openid", "")))
        if user is None:
            return _errdict(40003)
        info: dict[str, Any] = {"subscribe": user["subscribe"], "openid": user["openid"],
                                "language": "zh_CN", "subscribe_time": 1700000000}
        if user["unionid"]:
            info["unionid"] = user["unionid"]
        return info

    async def _send(self, request: web.Request, body: Any, check: Callable[[dict[str, Any]],
                                                                         int]) -> dict[str, Any]:
        app, error = self._token_app(request)
        if app is None:
            assert error is not None
            return error
        if not isinstance(body, dict):
            return _errdict(47001)
        if (app.appid, str(body.get("touser", ""))) not in self.users:
            return _errdict(40003)
        errcode = check(body)
        if errcode:
            return _errdict(errcode)
        return {"errcode": 0, "errmsg": "ok", "msgid": next(self._msgids)}

    async def _cgi_bin_message_template_send(self, request: web.Request,
                                             body: Any) -> dict[str, Any]:
        return await self._send(request, body, _check_template)

    async def _cgi_bin_message_subscribe_send(self, request: web.Request,
                                              body: Any) -> dict[str, Any]:
        return await self._send(request, body, _check_template)

    async def _cgi_bin_message_custom_send(self, request: web.Request,
                                           body: Any) -> dict[str, Any]:
        def check(message: dict[str, Any]) -> int:
            text = message.get("text")
            if message.get("msgtype") != "text" or not isinstance(text, dict) \
                    or not isinstance(text.get("content"), str) or not text["content"]:
                return 47001
            return 0
        return await self._send(request, body, check)

    # --- control handlers ---

    async def _control_app(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.add_app(str(body["appid"]), str(body["secret"]))
        return web.json_response({"ok": True})

    async def _control_user(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.add_user(str(body["appid"]), str(body["openid"]), unionid=body.get("unionid"),
                      subscribed=bool(body.get("subscribed", True)))
        return web.json_response({"ok": True})

    async def _control_code(self, request: web.Request) -> web.Response:
        body = await request.json()
        code = self.new_code(str(body["appid"]), str(body["openid"]), body.get("unionid"))
        return web.json_response({"code": code})

    async def _control_calls(self, request: web.Request) -> web.Response:
        endpoint = request.query.get("endpoint")
        calls = self.calls if endpoint is None else self.calls_to(endpoint)
        return web.json_response({"calls": calls})

    async def _control_clear_calls(self, _request: web.Request) -> web.Response:
        self.calls.clear()
        return web.json_response({"ok": True})

    async def _control_fault(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.add_fault(Fault(endpoint=str(body["endpoint"]), errcode=body.get("errcode"),
                             delay_ms=int(body.get("delay_ms", 0)),
                             drop=bool(body.get("drop", False)),
                             times=int(body.get("times", 1))))
        return web.json_response({"ok": True})

    async def _control_clear_faults(self, _request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True})


def _check_template(message: dict[str, Any]) -> int:
    template = message.get("template_id")
    if not isinstance(template, str) or not template:
        return 40037
    data = message.get("data")
    if not isinstance(data, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()):
        return 47001
    return 0


def _masked(body: Any) -> Any:
    if isinstance(body, dict) and "secret" in body:
        return {**body, "secret": "***"}
    return body


def _errdict(errcode: int) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")}


def _error(errcode: int) -> web.Response:
    return web.json_response(_errdict(errcode))


def run(host: str, port: int) -> None:
    """`dxbot fake-wechat`: serve until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # No access log: query strings carry app secrets and tokens.
    web.run_app(FakeWeChat().app(), host=host, port=port, access_log=None,
                print=lambda text: log.info("%s", text.strip()))
