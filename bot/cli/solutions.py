"""`dxbot solutions import FILE`: the province's solution pool (CSV or Excel, one row per
solution with its provider's columns), checked row by row; valid rows are upserted (providers
by credit code, solutions by provider and title), bad rows are reported with their row number
and every reason. Exits 0 when every row went in, 2 when some were rejected (the others still
went in), 1 when the file cannot be read at all."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.tables import UnreadableFile, read_table
from bot.config import Settings
from flows.i18n import Translator
from flows.indicators import IndicatorSet
from flows.pool_fields import PoolReference
from flows.pool_file import check_pool
from flows.profile import builtin_reference
from storage import solutions
from storage.db import open_archive


def add_solution_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="upsert solutions and their providers from a CSV "
                              "or Excel (.xlsx) file with a header row")
    load.add_argument("file", type=Path)


def run(args: argparse.Namespace, settings: Settings, iset: IndicatorSet,
        tr: Translator) -> int:
    return asyncio.run(_run(args, settings, iset, tr))


async def _run(args: argparse.Namespace, settings: Settings, iset: IndicatorSet,
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
