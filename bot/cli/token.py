"""`dxbot token add --name NAME [--commissioner ID]`, `dxbot token revoke ID`, `dxbot token
list`: bearer tokens for the admin API. Without --commissioner the token is a province
admin's; with it, that commissioner's (their area only). A token is printed once; only its
digest is stored."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from bot.api.admin_access import new_token, token_digest
from bot.config import Settings
from flows.beijing_time import china_minute
from flows.commissioners import parse_name
from flows.i18n import Translator
from flows.problems import Problem
from storage import api_tokens, commissioners
from storage.db import open_archive


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="issue a token and print it (once)")
    add.add_argument("--name", required=True, help="whose it is, e.g. 省厅 张三 or 王专员的电脑")
    add.add_argument("--commissioner", type=int, metavar="ID",
                     help="a commissioner's token, limited to their area")
    revoke = actions.add_parser("revoke", help="stop a token at once")
    revoke.add_argument("id", type=int)
    actions.add_parser("list", help="the tokens issued (never the tokens themselves)")


def run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    return asyncio.run(_run(args, settings, tr))


async def _run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    _ = tr.gettext
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    async with open_archive(settings.database_url) as sessions:
        if args.action == "list":
            for t in await api_tokens.listing(sessions):
                state = (_("revoked {time}").format(time=china_minute(t.revoked_at))
                         if t.revoked_at else _("active"))
                who = (_("commissioner {id}").format(id=t.commissioner_id)
                       if t.commissioner_id is not None else _("province admin"))
                print(f"{t.id}\t{t.name}\t{who}\t{china_minute(t.created_at)}\t{state}")
            return 0
        if args.action == "revoke":
            if not await api_tokens.revoke(sessions, args.id, now):
                print("dxbot token: " + _("there is no active token {id}").format(id=args.id),
                      file=sys.stderr)
                return 1
            print(_("Token {id} is revoked.").format(id=args.id))
            return 0
        name = parse_name(args.name)
        if isinstance(name, Problem):
            print("dxbot token: " + name.render(tr), file=sys.stderr)
            return 2
        if args.commissioner is not None and await commissioners.get(
                sessions, args.commissioner) is None:
            print("dxbot token: " + _("there is no commissioner {id}").format(
                id=args.commissioner), file=sys.stderr)
            return 1
        token = new_token()
        token_id = await api_tokens.add(sessions, name, token_digest(token), now,
                                        commissioner_id=args.commissioner)
    print(_("Token {id} for {name}: {token}\nKeep it secret; it is not shown again. Send it as "
            "Authorization: Bearer <token>.").format(id=token_id, name=name, token=token))
    return 0
