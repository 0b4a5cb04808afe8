"""`dxbot console-link --name NAME [--commissioner ID]`: a one-time sign-in link to the web
console (10 minutes, used once): a province admin's, or a commissioner's (their area only)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import Settings
from bot.console.links import sign_in_url
from flows.i18n import Translator
from storage import commissioners
from storage.console_sessions import LINK_TTL, ConsoleStore, ConsoleUser
from storage.db import open_archive
from storage.redis_server import RedisStartError, open_redis


def add_console_link_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="who signs in (shown in the console)")
    parser.add_argument("--commissioner", type=int, metavar="ID",
                        help="a commissioner's link (their area only); default: province admin")


def run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    return asyncio.run(_run(args, settings, tr))


async def _run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    _ = tr.gettext
    name = args.name.strip()
    if not name or len(name) > 40:
        print("dxbot console-link: " + _("--name: 1 to 40 characters"), file=sys.stderr)
        return 2
    if args.commissioner is not None:
        async with open_archive(settings.database_url) as sessions:
            found = await commissioners.get(sessions, args.commissioner)
        if found is None:
            print("dxbot console-link: " + _("there is no commissioner {id}").format(
                id=args.commissioner), file=sys.stderr)
            return 1
    try:
        redis, close = await open_redis(settings)
    except RedisStartError as exc:
        print(f"dxbot console-link: {exc}", file=sys.stderr)
        return 1
    try:
        token = await ConsoleStore(redis).new_link(ConsoleUser(name, args.commissioner))
    finally:
        await close()
    print(sign_in_url(settings.public_base, token))
    print(_("Valid for {minutes} minutes, once.").format(minutes=LINK_TTL // 60),
          file=sys.stderr)
    return 0
