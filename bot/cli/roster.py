"""`dxbot enterprises import FILE`: the roster of enterprises to transform (CSV or Excel), checked
row by row; valid rows are upserted by credit code, bad rows are reported with their row number
and reason. Exits 0 when every row went in, 2 when some were rejected (the others still went
in), 1 when the file cannot be read at all."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from flows.i18n import Translator
from flows.profile import builtin_reference
from flows.roster import check_roster
from storage import roster
from storage.db import open_archive

MAX_FILE_BYTES = 50 * 1024 * 1024


class UnreadableFile(ValueError):
    """Not a roster file we can read; the message says why."""


def add_enterprise_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="upsert the roster from a CSV or Excel (.xlsx) file "
                              "with a header row")
    load.add_argument("file", type=Path)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a mobile number stored as a number
    return str(value)


def read_table(path: Path) -> Iterable[Sequence[str]]:
    """The file's rows as text cells: .xlsx (first sheet) or .csv (UTF-8, or GB18030 as Excel
    on Chinese Windows saves it)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFile(str(exc)) from None
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise UnreadableFile(f"not an Excel workbook ({type(exc).__name__})") from None
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            return list(csv.reader(io.StringIO(text, newline="")))
        raise UnreadableFile("neither UTF-8 nor GB18030 text")
    raise UnreadableFile("not a .csv or .xlsx file")


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
