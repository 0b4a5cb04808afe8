"""The fake WeChat API over real HTTP: WeChat's shapes and error codes, token rotation with its
grace period, expiry, stable tokens, single-use login codes, message rules, the record of calls,
every kind of fault, the control endpoints and the `dxbot fake-wechat` command."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.cli.main import main as cli_main
from bot.devtools.fake_wechat import FakeWeChat, Fault, parse_app

OA, OA_SECRET = "wx0c0c0c0c0c0c0c0c", "oa-secret-value"
MINI, MINI_SECRET = "wx0d0d0d0d0d0d0d0d", "mini-secret-value"
GRACE = 60.0
TEMPLATE = "tmpl-training"


class Api:
    """Plain HTTP to the fake: WeChat endpoints and control endpoints, JSON both ways."""

    def __init__(self, http: aiohttp.ClientSession, base: str, wechat: FakeWeChat) -> None:
        self.http = http
        self.base = base
        self.wechat = wechat

    async def get(self, path: str, **params: str) -> Any:
        async with self.http.get(f"{self.base}/{path}", params=params) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, body: Any, *, status: int = 200, **params: str) -> Any:
        async with self.http.post(f"{self.base}/{path}", params=params, json=body) as response:
            assert response.status == status, await response.text()
            return await response.json()

    async def token(self, appid: str = OA, secret: str = OA_SECRET) -> str:
        answer = await self.get("cgi-bin/token", grant_type="client_credential", appid=appid,
                                secret=secret)
        return answer["access_token"]

    async def user_info(self, token: str, openid: str = "o-ann") -> dict[str, Any]:
        return await self.get("cgi-bin/user/info", access_token=token, openid=openid,
                              lang="zh_CN")

    async def stable(self, *, force: bool | None = None, secret: str = OA_SECRET) -> Any:
        body: dict[str, Any] = {"grant_type": "client_credential", "appid": OA, "secret": secret}
        if force is not None:
            body["force_refresh"] = force
        return await self.post("cgi-bin/stable_token", body)

    async def login(self, code: str, *, appid: str = MINI, secret: str = MINI_SECRET) -> Any:
        return await self.get("sns/jscode2session", appid=appid, secret=secret, js_code=code,
                              grant_type="authorization_code")

    async def send(self, endpoint: str, token: str, body: Any) -> Any:
        return await self.post(f"cgi-bin/message/{endpoint}/send", body, access_token=token)


def errcode(answer: dict[str, Any]) -> int:
    return answer.get("errcode", 0)


def template(touser: str = "o-ann", **data: str) -> dict[str, Any]:
    return {"touser": touser, "template_id": TEMPLATE,
            "data": {k: {"value": v} for k, v in (data or {"thing1": "培训"}).items()}}


def text(touser: str = "o-ann", content: str = "您好") -> dict[str, Any]:
    return {"touser": touser, "msgtype": "text", "text": {"content": content}}


async def serve(wechat: FakeWeChat) -> TestServer:
    server = TestServer(wechat.app(), host="127.0.0.1")
    await server.start_server(access_log=None)
    return server


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    wechat = FakeWeChat(grace_seconds=GRACE, token_ttl=7200, seed=7)
    wechat.add_app(OA, OA_SECRET)
    wechat.add_app(MINI, MINI_SECRET)
    wechat.add_user(OA, "o-ann", unionid="u-ann")
    wechat.add_user(OA, "o-bob")
    wechat.add_user(OA, "o-gone", unionid="u-gone", subscribed=False)
    wechat.add_user(MINI, "m-ann", unionid="u-ann")
    wechat.add_template(OA, TEMPLATE, ["thing1"])
    wechat.add_template(MINI, TEMPLATE, ["thing1"])
    server = await serve(wechat)
    try:
        async with aiohttp.ClientSession() as http:
            yield Api(http, str(server.make_url("")).rstrip("/"), wechat)
    finally:
        await server.close()


# --- access tokens ---


async def test_token_has_wechats_shape(api: Api) -> None:
    answer = await api.get("cgi-bin/token", grant_type="client_credential", appid=OA,
                           secret=OA_SECRET)
    assert set(answer) == {"access_token", "expires_in"}
    assert answer["expires_in"] == 7200
    assert len(answer["access_token"]) > 100


@pytest.mark.parametrize(("params", "expected"), [
    ({"grant_type": "password", "appid": OA, "secret": OA_SECRET}, 40002),
    ({"grant_type": "client_credential", "secret": OA_SECRET}, 41002),
    ({"grant_type": "client_credential", "appid": OA}, 41004),
    ({"grant_type": "client_credential", "appid": "wx-unknown", "secret": OA_SECRET}, 40013),
    ({"grant_type": "client_credential", "appid": OA, "secret": "wrong"}, 40125),
])
async def test_token_errors(api: Api, params: dict[str, str], expected: int) -> None:
    answer = await api.get("cgi-bin/token", **params)
    assert answer["errcode"] == expected
    assert " rid: " in answer["errmsg"]  # as WeChat: the request id closes the message
    assert "access_token" not in answer


async def test_a_new_token_supersedes_the_old_one_after_the_grace_period(api: Api) -> None:
    first = await api.token()
    second = await api.token()
    assert first != second
    assert errcode(await api.user_info(first)) == 0  # still within the grace period
    api.wechat.advance(GRACE - 1)
    assert errcode(await api.user_info(first)) == 0
    api.wechat.advance(1)
    answer = await api.user_info(first)
    assert answer["errcode"] == 40001
    assert answer["errmsg"].startswith("invalid credential, access_token is invalid or not latest")
    assert errcode(await api.user_info(second)) == 0


async def test_only_the_previous_token_gets_a_grace_period(api: Api) -> None:
    first, second, third = [await api.token() for _ in range(3)]
    assert (await api.user_info(first))["errcode"] == 40001
    assert errcode(await api.user_info(second)) == 0
    assert errcode(await api.user_info(third)) == 0


async def test_tokens_expire(api: Api) -> None:
    token = await api.token()
    api.wechat.advance(7199)
    assert errcode(await api.user_info(token)) == 0
    api.wechat.advance(1)
    answer = await api.user_info(token)
    assert answer["errcode"] == 42001
    assert answer["errmsg"].startswith("access_token expired")


async def test_missing_and_made_up_tokens(api: Api) -> None:
    assert (await api.get("cgi-bin/user/info", openid="o-ann"))["errcode"] == 41001
    assert (await api.user_info("made-up"))["errcode"] == 40001


async def test_the_daily_token_quota() -> None:
    wechat = FakeWeChat(token_daily_limit=2)
    wechat.add_app(OA, OA_SECRET)
    server = await serve(wechat)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, str(server.make_url("")).rstrip("/"), wechat)
            await api.token()
            await api.token()
            answer = await api.get("cgi-bin/token", grant_type="client_credential", appid=OA,
                                   secret=OA_SECRET)
            assert answer["errcode"] == 45009
            wechat.advance(86400)
            assert await api.token()
    finally:
        await server.close()


async def test_stable_token_stays_the_same_and_is_separate(api: Api) -> None:
    first = await api.stable()
    api.wechat.advance(100)
    again = await api.stable(force=False)
    assert again["access_token"] == first["access_token"]
    assert first["expires_in"] - 101 <= again["expires_in"] <= first["expires_in"] - 100
    await api.token()  # cgi-bin/token tokens do not touch stable ones, and the other way round
    await api.token()
    assert errcode(await api.user_info(first["access_token"])) == 0
    assert (await api.stable(secret="wrong"))["errcode"] == 40125
    assert (await api.post("cgi-bin/stable_token", "not an object"))["errcode"] == 47001


async def test_stable_token_force_refresh_cuts_the_old_one_off(api: Api) -> None:
    old = (await api.stable())["access_token"]
    new = (await api.stable(force=True))["access_token"]
    assert new != old
    assert (await api.user_info(old))["errcode"] == 40001  # no grace period here
    assert errcode(await api.user_info(new)) == 0
    # Within 30 s of a forced refresh WeChat does not refresh again.
    assert (await api.stable(force=True))["access_token"] == new
    api.wechat.advance(30)
    assert (await api.stable(force=True))["access_token"] != new


async def test_stable_token_is_renewed_before_it_expires(api: Api) -> None:
    old = (await api.stable())["access_token"]
    api.wechat.advance(7200 - GRACE)
    renewed = await api.stable()
    assert renewed["access_token"] != old and renewed["expires_in"] == 7200
    assert errcode(await api.user_info(old)) == 0  # both work until the old one runs out
    api.wechat.advance(GRACE)
    assert (await api.user_info(old))["errcode"] == 42001
    assert errcode(await api.user_info(renewed["access_token"])) == 0


# --- mini-program login ---


async def test_login_codes_with_and_without_unionid(api: Api) -> None:
    linked = await api.login(api.wechat.new_code(MINI, "m-ann", "u-ann"))
    assert set(linked) == {"openid", "session_key", "unionid"}
    assert (linked["openid"], linked["unionid"]) == ("m-ann", "u-ann")
    assert len(linked["session_key"]) == 24  # base64 of 16 bytes, as WeChat's
    plain = await api.login(api.wechat.new_code(MINI, "m-bob"))
    assert set(plain) == {"openid", "session_key"}


async def test_a_login_code_works_once_for_its_own_app_within_five_minutes(api: Api) -> None:
    code = api.wechat.new_code(MINI, "m-ann")
    assert (await api.login(code))["openid"] == "m-ann"
    used = await api.login(code)
    assert used["errcode"] == 40163 and used["errmsg"].startswith("code been used")
    assert (await api.login("made-up"))["errcode"] == 40029
    other_app = api.wechat.new_code(OA, "o-ann")
    assert (await api.login(other_app))["errcode"] == 40029
    late = api.wechat.new_code(MINI, "m-ann")
    api.wechat.advance(300)
    assert (await api.login(late))["errcode"] == 40029


async def test_login_errors(api: Api) -> None:
    code = api.wechat.new_code(MINI, "m-ann")
    assert (await api.login(code, secret="wrong"))["errcode"] == 40125
    assert (await api.login(code, appid="wx-unknown"))["errcode"] == 40013
    assert (await api.login(""))["errcode"] == 41008
    answer = await api.get("sns/jscode2session", appid=MINI, secret=MINI_SECRET, js_code=code,
                           grant_type="client_credential")
    assert answer["errcode"] == 40002
    assert (await api.login(code))["openid"] == "m-ann"  # the failures did not use it up


# --- user info ---


async def test_user_info_shapes(api: Api) -> None:
    token = await api.token()
    ann = await api.user_info(token, "o-ann")
    assert ann["subscribe"] == 1 and ann["openid"] == "o-ann" and ann["unionid"] == "u-ann"
    assert {"language", "subscribe_time", "tagid_list", "subscribe_scene"} <= set(ann)
    assert "unionid" not in await api.user_info(token, "o-bob")
    assert await api.user_info(token, "o-gone") == {"subscribe": 0, "openid": "o-gone"}
    assert (await api.user_info(token, "o-nobody"))["errcode"] == 40003
    assert (await api.user_info(token, "m-ann"))["errcode"] == 40003  # another app's user


# --- messages ---


async def test_template_message(api: Api) -> None:
    token = await api.token()
    body = {**template(), "url": "https://example.com/n/1"}
    answer = await api.send("template", token, body)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and answer["msgid"] > 0
    [message] = api.wechat.messages("o-ann")
    assert message["msgid"] == answer["msgid"] and message["body"] == body
    assert (await api.get("_fake/messages", touser="o-ann"))["messages"][0]["body"] == body


@pytest.mark.parametrize(("body", "expected", "detail"), [
    (template("o-nobody"), 40003, ""),
    ({**template(), "template_id": "tmpl-unknown"}, 40037, ""),
    ({**template(), "template_id": ""}, 40037, ""),
    (template(thing2="x"), 47003, "data.thing1.value is empty"),
    (template(thing1=""), 47003, "data.thing1.value is empty"),
    ({**template(), "data": {"thing1": "no value object"}}, 47003, "data.thing1.value"),
    ({**template(), "data": ["thing1"]}, 47001, ""),
    (template("o-gone"), 43004, ""),
    ("not json", 47001, ""),
])
async def test_template_message_errors(api: Api, body: Any, expected: int, detail: str) -> None:
    answer = await api.send("template", await api.token(), body)
    assert answer["errcode"] == expected
    assert detail in answer["errmsg"]
    assert api.wechat.messages() == []


async def test_a_repeated_client_msg_id_is_sent_once(api: Api) -> None:
    token = await api.token()
    body = {**template(), "client_msg_id": "notice-7-o-ann"}
    first = await api.send("template", token, body)
    again = await api.send("template", token, body)
    assert again == first
    assert len(api.wechat.messages()) == 1
    api.wechat.advance(600)
    assert (await api.send("template", token, body))["msgid"] != first["msgid"]


async def test_subscribe_messages_need_a_consent_each(api: Api) -> None:
    token = await api.token(MINI, MINI_SECRET)
    body = {**template("m-ann"), "page": "pages/index/index", "miniprogram_state": "formal"}
    refused = await api.send("subscribe", token, body)
    assert refused["errcode"] == 43101
    assert refused["errmsg"].startswith("user refuse to accept the msg")
    assert (await api.post("_fake/consents", {"appid": MINI, "openid": "m-ann",
                                              "template_id": TEMPLATE}))["consents"] == 1
    assert (await api.send("subscribe", token, body))["errcode"] == 0
    assert (await api.send("subscribe", token, body))["errcode"] == 43101
    api.wechat.add_consent(MINI, "m-ann", TEMPLATE)
    wrong_state = {**body, "miniprogram_state": "beta"}
    assert (await api.send("subscribe", token, wrong_state))["errcode"] == 47003
    assert (await api.send("subscribe", token, template("m-nobody")))["errcode"] == 40003
    assert len(api.wechat.messages("m-ann")) == 1


async def test_customer_service_text(api: Api) -> None:
    token = await api.token()
    assert (await api.send("custom", token, text()))["errcode"] == 0
    assert (await api.send("custom", token, text(content="")))["errcode"] == 44004
    image = {"touser": "o-ann", "msgtype": "image", "image": {"media_id": "m"}}
    assert (await api.send("custom", token, image))["errcode"] == 40007  # no such media
    assert (await api.send("custom", token, {**image, "msgtype": "voice"}))["errcode"] == 40008
    assert (await api.send("custom", token, {"touser": "o-ann", "msgtype": "text"}))[
        "errcode"] == 47001
    assert (await api.send("custom", token, text("o-gone")))["errcode"] == 45015
    api.wechat.advance(48 * 3600 + 1)  # no message from the user for two days
    token = await api.token()
    assert (await api.send("custom", token, text()))["errcode"] == 45015
    await api.post("_fake/users", {"appid": OA, "openid": "o-ann", "unionid": "u-ann"})
    assert (await api.send("custom", token, text()))["errcode"] == 0


PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


async def upload(api: Api, token: str | None, data: bytes | None, *, kind: str = "image",
                 filename: str = "chart.png") -> dict[str, Any]:
    form = aiohttp.FormData()
    if data is not None:
        form.add_field("media", data, filename=filename, content_type="image/png")
    else:
        form.add_field("other", "x")
    params = {"type": kind, **({} if token is None else {"access_token": token})}
    async with api.http.post(f"{api.base}/cgi-bin/media/upload", params=params,
                             data=form) as response:
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer


async def test_temporary_images_and_image_messages(api: Api) -> None:
    token = await api.token()
    uploaded = await upload(api, token, PNG)
    assert uploaded["type"] == "image" and len(uploaded["media_id"]) >= 32
    assert abs(uploaded["created_at"] - time.time()) < 5
    assert api.wechat.media[uploaded["media_id"]].data == PNG
    image = {"touser": "o-ann", "msgtype": "image", "image": {"media_id": uploaded["media_id"]}}
    assert (await api.send("custom", token, image))["errcode"] == 0
    assert api.wechat.messages("o-ann")[-1]["body"] == image
    # WeChat's refusals: another type, no file, not an image by its bytes, too large, no token.
    assert errcode(await upload(api, token, PNG, kind="voice")) == 40004
    assert errcode(await upload(api, token, None)) == 41005
    assert errcode(await upload(api, token, b"GIF8" + bytes(10), filename="a.png")) == 40005
    assert errcode(await upload(api, token, PNG + bytes(10 * 1024 * 1024))) == 40009
    assert errcode(await upload(api, None, PNG)) == 41001
    # The call is recorded without the file's bytes.
    (last, *_) = reversed(api.wechat.calls_to("cgi-bin/media/upload"))
    assert last["body"] == {"media": {"filename": "chart.png", "size": len(PNG)}}
    # A media_id is the app's own, and lives three days.
    mini = await api.token(MINI, MINI_SECRET)
    api.wechat.add_user(MINI, "m-ann")
    other = {**image, "touser": "m-ann"}
    assert (await api.send("custom", mini, other))["errcode"] == 40007
    api.wechat.advance(3 * 86400 + 1)
    token = await api.token()
    await api.post("_fake/users", {"appid": OA, "openid": "o-ann"})  # wrote again just now
    assert (await api.send("custom", token, image))["errcode"] == 40007


# --- the record of calls ---


async def test_calls_are_recorded_with_secrets_masked(api: Api) -> None:
    token = await api.token()
    await api.send("custom", token, text())
    await api.login(api.wechat.new_code(MINI, "m-ann"))
    [token_call] = (await api.get("_fake/calls", endpoint="cgi-bin/token"))["calls"]
    assert token_call["query"]["secret"] == "***"
    assert (token_call["appid"], token_call["token_no"], token_call["errcode"]) == (OA, 1, 0)
    [send] = (await api.get("_fake/calls", endpoint="cgi-bin/message/custom/send"))["calls"]
    assert send["query"] == {"access_token": "***"} and send["token_no"] == 1
    assert send["body"] == text() and send["fault"] is None
    assert isinstance(send["time"], float)
    await api.stable()
    [stable] = api.wechat.calls_to("cgi-bin/stable_token")
    assert stable["body"]["secret"] == "***"
    everything = (await api.get("_fake/calls"))["calls"]
    assert [c["no"] for c in everything] == [1, 2, 3, 4]
    for secret in (OA_SECRET, MINI_SECRET, token):
        assert secret not in repr(everything)
    assert (await api.get("_fake/stats"))["cgi-bin/token"] == {"0": 1}
    async with api.http.delete(f"{api.base}/_fake/calls") as response:
        assert response.status == 200
    assert api.wechat.calls == [] and api.wechat.stats() == {}


# --- faults ---


async def test_errcode_faults_fire_the_given_number_of_times(api: Api) -> None:
    token = await api.token()
    answer = await api.post("_fake/faults", {"endpoint": "cgi-bin/user/info", "errcode": -1,
                                             "times": 2})
    assert answer["id"] >= 1
    results = [errcode(await api.user_info(token)) for _ in range(3)]
    assert results == [-1, -1, 0]
    assert [c["fault"] for c in api.wechat.calls_to("cgi-bin/user/info")] == [
        "errcode", "errcode", None]
    assert (await api.get("_fake/faults"))["faults"] == []


@pytest.mark.parametrize("code", [-1, 40001, 42001, 43101, 45009])
async def test_any_errcode_can_be_injected_on_any_endpoint(api: Api, code: int) -> None:
    token = await api.token()
    api.wechat.add_fault(Fault("*", errcode=code))
    answer = await api.send("custom", token, text())
    assert answer["errcode"] == code and " rid: " in answer["errmsg"]
    assert api.wechat.messages() == []  # not processed
    api.wechat.add_fault(Fault("*", errcode=code))
    refused = await api.get("cgi-bin/token", grant_type="client_credential", appid=OA,
                            secret=OA_SECRET)
    assert refused["errcode"] == code and "access_token" not in refused
    assert errcode(await api.send("custom", token, text())) == 0


async def test_an_injected_40001_does_not_touch_the_real_token(api: Api) -> None:
    token = await api.token()
    api.wechat.add_fault(Fault("cgi-bin/message/custom/send", errcode=40001))
    assert (await api.send("custom", token, text()))["errcode"] == 40001
    assert (await api.send("custom", token, text()))["errcode"] == 0


async def test_probability_faults_fire_on_a_share_of_calls(api: Api) -> None:
    token = await api.token()
    fault = await api.post("_fake/faults", {"endpoint": "cgi-bin/user/info", "errcode": 45009,
                                            "probability": 0.3})
    results = [errcode(await api.user_info(token)) for _ in range(200)]
    assert 30 <= results.count(45009) <= 90  # seeded; about 60
    assert set(results) == {0, 45009}
    [listed] = (await api.get("_fake/faults"))["faults"]
    assert listed["times"] is None and listed["fired"] == results.count(45009)
    async with api.http.delete(f"{api.base}/_fake/faults",
                               params={"id": str(fault["id"])}) as response:
        assert response.status == 200
    assert api.wechat.faults == []


async def test_delay_faults_answer_late(api: Api) -> None:
    token = await api.token()
    api.wechat.add_fault(Fault("cgi-bin/message/custom/send", delay_ms=300))
    started = time.monotonic()
    assert (await api.send("custom", token, text()))["errcode"] == 0  # late, but processed
    assert time.monotonic() - started >= 0.3
    assert api.wechat.calls_to("cgi-bin/message/custom/send")[0]["fault"] == "delay"


async def test_drop_faults_close_the_connection_without_an_answer(api: Api) -> None:
    token = await api.token()
    api.wechat.add_fault(Fault("cgi-bin/message/custom/send", drop=True))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.send("custom", token, text())
    assert api.wechat.messages() == []  # dropped before it was processed
    await api.post("_fake/faults", {"endpoint": "cgi-bin/message/custom/send", "drop": "after"})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.send("custom", token, text())
    assert len(api.wechat.messages()) == 1  # processed, only the answer was lost
    assert [c["fault"] for c in api.wechat.calls_to("cgi-bin/message/custom/send")] == [
        "drop", "drop_after"]
    assert api.wechat.stats()["cgi-bin/message/custom/send"] == {"dropped": 2}
    assert (await api.send("custom", token, text()))["errcode"] == 0  # the server goes on


async def test_a_dropped_login_does_not_use_the_code(api: Api) -> None:
    code = api.wechat.new_code(MINI, "m-ann")
    # Twice: aiohttp itself re-sends a GET once when the connection drops.
    api.wechat.add_fault(Fault("sns/jscode2session", drop="before", times=2))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.login(code)
    assert len(api.wechat.calls_to("sns/jscode2session")) == 2
    assert (await api.login(code))["openid"] == "m-ann"


@pytest.mark.parametrize("body", [
    {"endpoint": "cgi-bin/nothing", "errcode": -1},
    {"endpoint": "*"},
    {"endpoint": "*", "errcode": -1, "drop": True},
    {"endpoint": "*", "errcode": -1, "probability": 1.5},
    {"endpoint": "*", "errcode": -1, "times": 0},
    {"endpoint": "*", "errcode": -1, "typo": 1},
    {"errcode": -1},
])
async def test_invalid_faults_are_refused(api: Api, body: dict[str, Any]) -> None:
    answer = await api.post("_fake/faults", body, status=400)
    assert answer["error"]
    assert api.wechat.faults == []


# --- control endpoints ---


async def test_the_control_endpoints_set_up_a_whole_scenario(api: Api) -> None:
    app, secret = "wx0e0e0e0e0e0e0e0e", "new-secret"
    assert await api.post("_fake/apps", {"appid": app, "secret": secret}) == {"ok": True}
    await api.post("_fake/users", {"appid": app, "openid": "o-x", "unionid": "u-x"})
    await api.post("_fake/templates", {"appid": app, "template_id": "t-1", "keys": ["time2"]})
    code = (await api.post("_fake/codes", {"appid": app, "openid": "o-x"}))["code"]
    token = await api.token(app, secret)
    assert (await api.user_info(token, "o-x"))["unionid"] == "u-x"
    body = {"touser": "o-x", "template_id": "t-1", "data": {"time2": {"value": "10:00"}}}
    assert (await api.send("template", token, body))["errcode"] == 0
    assert (await api.login(code, appid=app, secret=secret))["openid"] == "o-x"
    now = (await api.post("_fake/advance", {"seconds": 7200}))["now"]
    assert now == pytest.approx(api.wechat.now())
    assert (await api.user_info(token, "o-x"))["errcode"] == 42001


@pytest.mark.parametrize(("path", "body"), [
    ("_fake/apps", {"appid": "wx1"}),
    ("_fake/users", {"openid": "o"}),
    ("_fake/templates", {"appid": OA, "template_id": "t", "keys": "thing1"}),
    ("_fake/templates", {"appid": "wx-unknown", "template_id": "t"}),
    ("_fake/consents", {"appid": OA, "openid": "o-nobody", "template_id": TEMPLATE}),
    ("_fake/codes", {"appid": MINI}),
    ("_fake/advance", {"seconds": -1}),
    ("_fake/apps", ["not", "an", "object"]),
])
async def test_bad_control_requests_get_400(api: Api, path: str, body: Any) -> None:
    assert (await api.post(path, body, status=400))["error"]


# --- the command ---


def test_app_option_parsing() -> None:
    assert parse_app("wxabc:s:e:c") == ("wxabc", "s:e:c")
    for bad in ("wxabc", "wxabc:", ":secret"):
        with pytest.raises(ValueError):
            parse_app(bad)
    assert cli_main(["fake-wechat", "--app", "no-secret"]) == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow  # a `dxbot fake-wechat` process
async def test_dxbot_fake_wechat_serves_over_http() -> None:
    port = _free_port()
    command = [str(Path(sys.executable).with_name("dxbot")), "fake-wechat", "--port", str(port),
               "--app", f"{OA}:{OA_SECRET}", "--grace-seconds", "0"]
    if not Path(command[0]).exists():
        command[:1] = [sys.executable, "-m", "bot.cli"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            api = Api(http, base, FakeWeChat())
            for _ in range(100):  # until it listens
                try:
                    first = await api.token()
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("dxbot fake-wechat did not start")
            await api.token()
            await api.post("_fake/users", {"appid": OA, "openid": "o-ann"})
            assert (await api.user_info(first))["errcode"] == 40001  # --grace-seconds 0
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert OA_SECRET.encode() not in stderr
