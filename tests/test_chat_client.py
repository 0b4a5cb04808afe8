"""`dxbot chat` against a real callback server with a scripted responder, fed piped input."""

from __future__ import annotations

import argparse
import io
import socket
from collections.abc import Awaitable, Callable
from gettext import NullTranslations
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config import Settings
from bot.devtools.chat_client import (
    add_chat_arguments,
    chat_main,
    default_openid,
    default_url,
    run_chat,
)
from bot.wechat.callback import RESPONDER_KEY, InboundMessage, add_wechat_routes

TOKEN = "chat-test-token"
APPID = "wx0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "chat-tester"


class Script:
    """The bot's side: fixed answers, and a log of what arrived."""

    def __init__(self) -> None:
        self.calls: list[InboundMessage] = []

    async def __call__(self, message: InboundMessage) -> str | None:
        self.calls.append(message)
        if message.msg_type == "event":
            return {"subscribe": "Welcome!\nTap a menu item to begin.",
                    "click": f"Menu {message.event_key}"}.get(message.event)
        if message.msg_type == "text":
            return f"You said: {message.content}"
        return f"Sorry, a {message.msg_type} is not an answer."


def settings(tmp_path: Path, aes_key: str | None = None, token: str = TOKEN) -> Settings:
    return Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite://", wechat_token=token,
                    wechat_appid=APPID, wechat_aes_key=aes_key)


Serve = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve(aiohttp_server: Any) -> Serve:
    async def go(script: Script, aes_key: str | None = None) -> str:
        app = web.Application()
        add_wechat_routes(app, token=TOKEN, appid=APPID, aes_key=aes_key,
                          responder_key=RESPONDER_KEY)
        app[RESPONDER_KEY] = script
        server = await aiohttp_server(app)
        return str(server.make_url("/wechat"))

    return go


async def chat(config: Settings, url: str, lines: str, **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = await run_chat(config, url=url, openid=OPENID, input_stream=io.StringIO(lines),
                            output_stream=out, error_stream=err, **kwargs)
    return status, out.getvalue(), err.getvalue()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("aes_key", [None, AES_KEY], ids=["plaintext", "safe-mode"])
async def test_piped_script(serve: Serve, tmp_path: Path, aes_key: str | None) -> None:
    script = Script()
    url = await serve(script, aes_key)
    status, out, err = await chat(settings(tmp_path, aes_key), url,
                                  "/subscribe\n/click start\n/image\n你好\n")
    assert (status, err) == (0, "")
    assert out == ("Welcome!\nTap a menu item to begin.\n"
                   "Menu start\n"
                   "Sorry, a image is not an answer.\n"
                   "You said: 你好\n")
    assert [(m.msg_type, m.event, m.event_key, m.content) for m in script.calls] == [
        ("event", "subscribe", "", ""),
        ("event", "click", "start", ""),
        ("image", "", "", ""),
        ("text", "", "", "你好"),
    ]
    assert {m.from_user for m in script.calls} == {OPENID}


async def test_subscribe_option_sends_subscribe_first(serve: Serve, tmp_path: Path) -> None:
    script = Script()
    url = await serve(script)
    status, out, _ = await chat(settings(tmp_path), url, "hi\n", subscribe=True)
    assert status == 0
    assert out == "Welcome!\nTap a menu item to begin.\nYou said: hi\n"
    assert [m.event for m in script.calls] == ["subscribe", ""]


async def test_without_the_option_nothing_is_sent_first(serve: Serve, tmp_path: Path) -> None:
    script = Script()
    url = await serve(script)
    assert await chat(settings(tmp_path), url, "") == (0, "", "")
    assert script.calls == []


async def test_commands(serve: Serve, tmp_path: Path) -> None:
    script = Script()
    url = await serve(script)
    lines = "\n".join([
        "/help", "", "   ", "/click", "/frobnicate", "//slash", "/unsubscribe", "/voice",
        "/location", "/quit", "not sent",
    ]) + "\n"
    status, out, err = await chat(settings(tmp_path), url, lines)
    assert (status, err) == (0, "")
    help_text, rest = out.split("//text", 1)
    assert "/click KEY" in help_text and "/subscribe" in help_text and "/quit" in help_text
    assert rest.splitlines()[1:] == [
        "Usage: /click KEY",
        "Unknown command /frobnicate; type /help for the list.",
        "You said: /slash",
        "(no reply)",  # the script says nothing to an unsubscribe
        "Sorry, a voice is not an answer.",
        "Sorry, a location is not an answer.",
    ]
    assert [m.msg_type for m in script.calls] == ["text", "event", "voice", "location"]


async def test_messages_go_through_the_translator(serve: Serve, tmp_path: Path) -> None:
    class Marked(NullTranslations):
        def gettext(self, message: str) -> str:
            return "[zh] " + message

    url = await serve(Script())
    status, out, _ = await chat(settings(tmp_path), url, "/unsubscribe\n/nope\n", tr=Marked())
    assert status == 0
    assert out.splitlines() == ["[zh] (no reply)",
                                "[zh] Unknown command /nope; type /help for the list."]


async def test_connection_refused(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/wechat"
    status, out, err = await chat(settings(tmp_path), url, "hello\n")
    assert status == 1
    assert out == ""
    assert err == f"Cannot connect to {url}. Start the server first, in another terminal: " \
                  "dxbot serve\n"


async def test_token_mismatch_is_reported_before_chatting(serve: Serve, tmp_path: Path) -> None:
    script = Script()
    url = await serve(script)
    status, out, err = await chat(settings(tmp_path, token="another-token"), url, "hello\n")
    assert status == 1
    assert out == ""
    assert "HTTP 403" in err and "DXBOT_WECHAT_TOKEN" in err and len(err.splitlines()) == 1
    assert script.calls == []


def test_chat_main_wiring(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_chat_arguments(parser)
    url = f"http://127.0.0.1:{closed_port()}/wechat"
    args = parser.parse_args(["--url", url, "--openid", "o-1", "--subscribe"])
    assert (args.url, args.openid, args.subscribe) == (url, "o-1", True)
    assert chat_main(args, settings(tmp_path), NullTranslations()) == 1
    defaults = parser.parse_args([])
    assert (defaults.url, defaults.openid, defaults.subscribe) == (None, None, False)


def test_defaults(tmp_path: Path) -> None:
    config = settings(tmp_path)
    assert default_url(config) == "http://127.0.0.1:8080/wechat"
    wildcard = Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite://", host="0.0.0.0",
                        port=9000)
    assert default_url(wildcard) == "http://127.0.0.1:9000/wechat"
    v6 = Settings(data_dir=tmp_path, database_url="sqlite+aiosqlite://", host="::1", port=9000)
    assert default_url(v6) == "http://[::1]:9000/wechat"
    openid = default_openid()
    assert openid.startswith("chat-") and len(openid) > len("chat-")
