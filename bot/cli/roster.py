"""`dxbot enterprises import FILE`: the roster of enterprises to transform (CSV or Excel), checked
row by row; valid rows are upserted by credit code, bad rows are reported with their row number
and reason. Exits 0 when every row went in, 2 when some were rejected (the others still went
in), 1 when the file cannot be read at all."""

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
from flows.profile import builtin_reference
from flows.roster import check_roster
from storage import roster
from storage.db import open_archive


def add_enterprise_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="upsert the roster from a CSV or Excel (.xlsx) file "
                              "with a header row")
    load.add_argument("file", type=Path)


def run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    return asyncio.run(_run(args, settings, tr))


async def _run(args: argparse.Namespace, settings: Settings, tr: Translator) -> int:
    _ = tr.gettext
    try:
        table = read_table(args.file)
    except (UnreadableFile, csv.Error) as exc:
        print("dxbot enterprises: " + _("{path}: cannot read the file: {reason}").format(
            path=args.file, reason=exc), file=sys.stderr)
        return 1
    checked = check_roster(table, builtin_reference())
    async with open_archive(settings.database_url) as sessions:
        done = await roster.import_rows(sessions, checked.rows,
                                        datetime.fromtimestamp(time.time(), tz=UTC))
    print(_("{path}: {added} enterprises added, {updated} updated, {rejected} rows "
            "rejected").format(path=args.file, added=done.added, updated=done.updated,
                               rejected=len({p.row for p in checked.problems})))
    for problem in checked.problems:
        print(_("row {row}: {problem}").format(row=problem.row,
                                               problem=problem.problem.render(tr)),
              file=sys.stderr)
    return 2 if checked.problems else 0
