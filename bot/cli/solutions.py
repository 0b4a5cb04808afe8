"""`dxbot solutions import FILE`: the province's solution pool (CSV or Excel, one row per
solution with its provider's columns), checked row by row; valid rows are upserted (providers
by credit code, solutions by provider and title), bad rows are reported with their row number
and every reason. Exits 0 when every row went in, 2 when some were rejected (the others still
went in), 1 when the file cannot be read at all.

`dxbot solutions provider-code CREDIT_CODE`: a one-time code for the provider's WeChat contact,
who sends it as `绑定 CODE` in the Official Account and is then told of every new lead. Exits 1
when there is no such provider, 2 for a bad credit code or lifetime."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.api import binding_codes, provider_codes
from bot.cli.tables import UnreadableFile, read_table
from bot.config import Settings
from flows.beijing_time import china_minute
from flows.i18n import Translator
from flows.indicators import IndicatorSet
from flows.pool_fields import PoolReference
from flows.pool_file import check_pool
from flows.problems import Problem
from flows.profile import builtin_reference, parse_credit_code
from storage import provider_contacts, solutions
from storage.db import open_archive


def add_solution_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="upsert solutions and their providers from a CSV "
                              "or Excel (.xlsx) file with a header row")
    load.add_argument("file", type=Path)
    code = actions.add_parser("provider-code", help="a one-time code that binds a provider's "
                              "WeChat contact, who is then told of every new lead")
    code.add_argument("credit_code", metavar="CREDIT_CODE")
    code.add_argument("--valid-hours", type=int, default=binding_codes.DEFAULT_VALID_HOURS,
                      help="code lifetime (default 72)")


def run(args: argparse.Namespace, settings: Settings, iset: IndicatorSet,
        tr: Translator) -> int:
    if args.action == "provider-code":
        return asyncio.run(_provider_code(args, settings, tr))
    return asyncio.run(_import(args, settings, iset, tr))


async def _provider_code(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    _ = tr.gettext
    credit_code = parse_credit_code(args.credit_code)
    if isinstance(credit_code, Problem):
        print("dxbot solutions: " + credit_code.render(tr), file=sys.stderr)
        return 2
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    async with open_archive(settings.database_url) as sessions:
        found = await provider_contacts.by_credit_code(sessions, credit_code)
        issued = (None if found is None else
                  await provider_codes.issue(sessions, found.provider_id, args.valid_hours, now))
    if isinstance(issued, Problem):
        print("dxbot solutions: " + issued.render(tr), file=sys.stderr)
        return 2
    if issued is None:
        print("dxbot solutions: " + _("there is no provider with the credit code {code}").format(
            code=credit_code), file=sys.stderr)
        return 1
    print(_("Provider {name} ({credit_code}): binding code {code}, valid until {until}. Its "
            "contact sends 绑定 {code} in the Official Account and is then told there of every "
            "new 对接 request.").format(
        name=issued.provider.name, credit_code=issued.provider.credit_code, code=issued.code,
        until=china_minute(issued.expires_at)))
    return 0


async def _import(args: argparse.Namespace, settings: Settings, iset: IndicatorSet,
               tr: Translator) -> int:
    _ = tr.gettext
    try:
        table = read_table(args.file)
    except (UnreadableFile, csv.Error) as exc:
        print("dxbot solutions: " + _("{path}: cannot read the file: {reason}").format(
            path=args.file, reason=exc), file=sys.stderr)
        return 1
    checked = check_pool(table, PoolReference(builtin_reference(), iset))
    async with open_archive(settings.database_url) as sessions:
        done = await solutions.import_rows(sessions, checked.rows,
                                           datetime.fromtimestamp(time.time(), tz=UTC))
    print(_("{path}: {added} solutions added, {updated} updated, {rejected} rows rejected; "
            "providers: {providers_added} added, {providers_updated} updated").format(
        path=args.file, added=done.added, updated=done.updated,
        rejected=len({p.row for p in checked.problems}), providers_added=done.providers_added,
        providers_updated=done.providers_updated))
    if done.retired:
        print(_("{retired} of the updated solutions are retired and stay retired (the admin "
                "API's PATCH /api/admin/solutions/ID with \"retired\": false brings one "
                "back).").format(retired=done.retired))
    for problem in checked.problems:
        print(_("row {row}: {problem}").format(row=problem.row,
                                               problem=problem.problem.render(tr)),
              file=sys.stderr)
    return 2 if checked.problems else 0
