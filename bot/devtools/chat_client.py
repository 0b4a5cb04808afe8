"""`dxbot chat`: talk to a running `dxbot serve` from the terminal, through the same signed (and,
with an AES key, encrypted) callback requests WeChat's servers make.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Final, Literal, TextIO

import aiohttp

from bot.config import Settings
from bot.devtools.simulator import ReplyTimeout, WeChatSimulator, WeChatSimulatorError
from flows.i18n import Translator

EXIT_OK = 0
EXIT_UNREACHABLE = 1
EXIT_INTERRUPTED = 130

_PROMPT = "> "
_UNSAFE_OPENID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def add_chat_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `dxbot chat`."""
    parser.add_argument(
        "--url", help="callback URL of the server (default: http://HOST:PORT/wechat from settings)")
    parser.add_argument(
        "--openid", help="the user to chat as (default: chat-<your user name>)")
    parser.add_argument(
        "--subscribe", action="store_true", help="start by following the account (subscribe event)")


def chat_main(args: argparse.Namespace, settings: Settings, tr: Translator | None = None) -> int:
    """Run `dxbot chat` with parsed `args`; the exit status."""
    if tr is None:
        from bot.translations import translator

        tr = translator(settings.locale)
    try:
        return asyncio.run(run_chat(
            settings, url=args.url or default_url(settings), openid=args.openid or default_openid(),
            subscribe=args.subscribe, tr=tr))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED


def default_url(settings: Settings) -> str:
    """Where `dxbot serve` listens with these settings."""
    host = settings.host
    if host in ("", "0.0.0.0", "::"):  # listening everywhere; connect over loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/wechat"


def default_openid() -> str:
    """A stable openid per local user, so each person keeps their own conversation."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (e.g. some containers)
        user = ""
    return "chat-" + (_UNSAFE_OPENID_CHARS.sub("", user) or "user")


async def run_chat(
    settings: Settings,
    *,
    url: str,
    openid: str,
    subscribe: bool = False,
    input_stream: TextIO | None = None,
    output_stream: TextIO | None = None,
    error_stream: TextIO | None = None,
    tr: Translator | None = None,
) -> int:
    """Send each input line as a text message from `openid` and print the replies; lines starting
    with "/" are commands (/help). Ends at EOF or /quit; the exit status."""
    stdin = sys.stdin if input_stream is None else input_stream
    out = sys.stdout if output_stream is None else output_stream
    err = sys.stderr if error_stream is None else error_stream
    if tr is None:
        from flows.i18n import PLAIN

        tr = PLAIN
    _ = tr.gettext
    interactive = stdin.isatty() and out.isatty()

    def say(text: str, stream: TextIO = out) -> None:
        print(text, file=stream, flush=True)

    unreachable = _(
        "Cannot connect to {url}. Start the server first, in another terminal: dxbot serve"
    ).format(url=url)
    async with WeChatSimulator(url, token=settings.wechat_token, appid=settings.wechat_appid,
                               aes_key=settings.wechat_aes_key) as wechat:
        try:
            # What WeChat does when the URL is saved in the console; it also catches a token
            # that differs from the server's before the first message is lost.
            await wechat.verify_url()
        except aiohttp.ClientConnectionError:
            say(unreachable, err)
            return EXIT_UNREACHABLE
        except WeChatSimulatorError as exc:
            say(_("The server at {url} failed WeChat's URL check ({reason}). Check the URL, and"
                  " that DXBOT_WECHAT_TOKEN is the same for the server and this client.")
                .format(url=url, reason=exc), err)
            return EXIT_UNREACHABLE
        if interactive:
            say(_("Chatting with {url} as {openid}. Type /help for the commands, /quit to leave.")
                .format(url=url, openid=openid))

        pending = ["/subscribe"] if subscribe else []
        read = _line_reader(stdin, interactive)
        while True:
            line = pending.pop(0) if pending else await read()
            if not line:  # EOF
                if interactive:
                    say("")  # Ctrl-D leaves the cursor after the prompt
                return EXIT_OK
            line = line.rstrip("\r\n")
            if not line.strip():
                continue  # WeChat does not let anyone send an empty message
            send = _command(wechat, openid, line, tr, say)
            if isinstance(send, str):
                if send == _QUIT:
                    return EXIT_OK
                continue
            try:
                reply = await send()
            except aiohttp.ClientConnectionError:
                say(unreachable, err)
                return EXIT_UNREACHABLE
            except ReplyTimeout:
                say(_("No answer after {count} deliveries of {seconds} seconds each; WeChat would"
                      " now tell the user the account is unavailable.")
                    .format(count=wechat.retries, seconds=f"{wechat.timeout:g}"), err)
                continue
            except WeChatSimulatorError as exc:
                say(_("WeChat would not accept the server's answer: {reason}").format(reason=exc),
                    err)
                continue
            say(_("(no reply)") if reply is None else reply)


_Send = Callable[[], Awaitable[str | None]]
_DONE: Final = "done"  # the line was dealt with locally
_QUIT: Final = "quit"


def _command(wechat: WeChatSimulator, openid: str, line: str, tr: Translator,
             say: Callable[[str], None]) -> _Send | Literal["done", "quit"]:
    """What to do with an input line: a function that sends it, `_DONE` or `_QUIT`."""
    _ = tr.gettext
    if not line.startswith("/"):
        return lambda: wechat.send_text(openid, line)
    if line.startswith("//"):  # a text message that itself starts with "/"
        return lambda: wechat.send_text(openid, line[1:])
    command, _sep, argument = line.partition(" ")
    argument = argument.strip()
    if command == "/quit":
        return _QUIT
    if command == "/help":
        say(_("Each line you type is sent as a text message. Commands:\n"
              "  /subscribe       follow the account\n"
              "  /unsubscribe     unfollow the account\n"
              "  /click KEY       tap the menu item KEY\n"
              "  /image           send a picture\n"
              "  /voice           send a voice message\n"
              "  /location        send a location\n"
              "  /quit            leave (so does end of input)\n"
              "  //text           send text that starts with \"/\""))
        return _DONE
    if command in ("/subscribe", "/unsubscribe"):
        return lambda: wechat.send_event(openid, command[1:])
    if command == "/click":
        if not argument:
            say(_("Usage: /click KEY"))
            return _DONE
        return lambda: wechat.send_event(openid, "click", argument)
    if command in ("/image", "/voice", "/location"):
        return lambda: wechat.send_other(openid, command[1:])
    say(_("Unknown command {command}; type /help for the list.").format(command=command))
    return _DONE


def _line_reader(stream: TextIO, interactive: bool) -> Callable[[], asyncio.Future[str]]:
    """An awaitable readline that returns "" at EOF.

    Each read runs on its own daemon thread: the event loop stays free, Ctrl-C interrupts the
    wait at once (a read blocking the loop thread would swallow the first Ctrl-C), and a read still
    blocked at exit does not keep the process alive (executor threads would).
    """
    def read_line() -> str:
        if interactive and stream is sys.stdin:
            try:
                return input(_PROMPT) + "\n"  # input() gives line editing on a terminal
            except EOFError:
                return ""
        return stream.readline()

    def read() -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()

        def settle(result: str | None, error: BaseException | None) -> None:
            if future.done():  # the chat was cancelled meanwhile
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result or "")

        def work() -> None:
            try:
                line, error = read_line(), None
            except Exception as exc:
                line, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting any more
                loop.call_soon_threadsafe(settle, line, error)

        threading.Thread(target=work, name="dxbot-chat-input", daemon=True).start()
        return future

    return read
