"""`dxbot export FILE.xlsx [--cities …] [--counties …] [--commissioner ID]`: the export of the
whole province, of an area, or of a commissioner's area, as the admin API gives it."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.api.area_report import ReportContext, export_workbook
from bot.config import Settings
from flows.commissioners import Scope, area_text, parse_scope, split_names
from flows.i18n import Translator
from flows.indicators import IndicatorSet
from flows.profile import builtin_reference
from storage import commissioners
from storage.db import open_archive


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.xlsx")
    parser.add_argument("--cities", default="", help="comma-separated (default: all)")
    parser.add_argument("--counties", default="", help="comma-separated (optional)")
    parser.add_argument("--commissioner", type=int, metavar="ID",
                        help="the area of this commissioner")



def run(args: argparse.Namespace, settings: Settings, iset: IndicatorSet,
        tr: Translator) -> int:
    return asyncio.run(_run(args, settings, iset, tr))


async def _run(args: argparse.Namespace, settings: Settings, iset: IndicatorSet,
               tr: Translator) -> int:
    _ = tr.gettext
    reference = builtin_reference()
    scope: Scope | None = None
    if args.cities or args.counties:
        parsed = parse_scope(split_names(args.cities), split_names(args.counties), reference)
        if isinstance(parsed, list):
            for problem in parsed:
                print("dxbot export: " + problem.render(tr), file=sys.stderr)
            return 2
        scope = parsed
    if args.file.suffix.lower() != ".xlsx":
        print("dxbot export: " + _("the file name must end in .xlsx"), file=sys.stderr)
        return 2
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    async with open_archive(settings.database_url) as sessions:
        if args.commissioner is not None:
            found = await commissioners.get(sessions, args.commissioner)
            if found is None:
                print("dxbot export: " + _("there is no commissioner {id}").format(
                    id=args.commissioner), file=sys.stderr)
                return 1
            scope = found.scope
        body = await export_workbook(sessions, scope, now, ReportContext(iset, reference, tr))
    try:
        args.file.write_bytes(body)
    except OSError as exc:
        print("dxbot export: " + _("cannot write {path}: {reason}").format(
            path=args.file, reason=exc.strerror or exc), file=sys.stderr)
        return 1
    print(_("{path}: the export of {area}").format(
        path=args.file, area=_("the whole province") if scope is None else area_text(scope)))
    return 0
