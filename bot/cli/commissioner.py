"""`dxbot commissioner add --name NAME --cities CITY[,CITY] [--counties ...]` and `dxbot
commissioner code ID`: register a digital commissioner, or give them a new code, and print the
one-time binding code they send as `绑定 CODE` in the Official Account. Only its digest is
stored; the code works once, before it expires."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from bot.api import binding_codes, commissioner_codes
from bot.config import Settings
from flows.beijing_time import china_minute
from flows.commissioners import area_text, split_names
from flows.i18n import Translator
from flows.problems import Problem
from flows.profile import builtin_reference
from storage.db import open_archive


def add_commissioner_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a commissioner and print their binding code")
    add.add_argument("--name", required=True)
    add.add_argument("--cities", required=True, help="comma-separated, e.g. 济南市,淄博市")
    add.add_argument("--counties", default="", help="comma-separated (optional)")
    add.add_argument("--valid-hours", type=int, default=binding_codes.DEFAULT_VALID_HOURS,
                     help="code lifetime (default 72)")
    code = actions.add_parser("code", help="a new binding code for a commissioner")
    code.add_argument("id", type=int)
    code.add_argument("--valid-hours", type=int,
                      default=binding_codes.DEFAULT_VALID_HOURS)



def run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    return asyncio.run(_run(args, settings, tr))


async def _run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    _ = tr.gettext
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    async with open_archive(settings.database_url) as sessions:
        issued: commissioner_codes.Issued | list[Problem]
        if args.action == "add":
            issued = await commissioner_codes.register(
                sessions, builtin_reference(), args.name, split_names(args.cities),
                split_names(args.counties), args.valid_hours, now)
        else:
            renewed = await commissioner_codes.renew(sessions, args.id, args.valid_hours, now)
            if renewed is None:
                print("dxbot commissioner: " + _("there is no commissioner {id}").format(
                    id=args.id), file=sys.stderr)
                return 1
            issued = [renewed] if isinstance(renewed, Problem) else renewed
    if isinstance(issued, list):
        for problem in issued:
            print("dxbot commissioner: " + problem.render(tr), file=sys.stderr)
        return 2
    stored = issued.commissioner
    print(_("Commissioner {id} {name} ({area}): binding code {code}, valid until {until}. They "
            "send 绑定 {code} in the Official Account.").format(
        id=stored.id, name=stored.name, area=area_text(stored.scope), code=issued.code,
        until=china_minute(issued.expires_at)))
    return 0
