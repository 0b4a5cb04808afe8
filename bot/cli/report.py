"""`dxbot report SUBMISSION_ID FILE.pdf [--lang en]`: one submission's 自评报告 as an A4 PDF, the
same document `GET /r/<token>.pdf` gives; `dxbot report SUBMISSION_ID --revoke` stops every link
to its page."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.chat.matching import Matcher
from bot.config import Settings
from bot.report.links import ReportLinks
from bot.report.page import ReportPages
from bot.report.render import render_pdf
from bot.translations import SUPPORTED
from flows.i18n import Translator
from flows.state import Context
from storage import report_links
from storage.db import open_archive


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submission", type=int, metavar="SUBMISSION_ID")
    parser.add_argument("file", type=Path, nargs="?", metavar="FILE.pdf")
    parser.add_argument("--lang", choices=SUPPORTED, help="default: DXBOT_LOCALE")
    parser.add_argument("--revoke", action="store_true",
                        help="stop every link to this submission's report page")


def run(args: argparse.Namespace, settings: Settings, ctx: Context, tr: Translator) -> int:
    return asyncio.run(_run(args, settings, ctx, tr))


async def _run(args: argparse.Namespace, settings: Settings, ctx: Context,
               tr: Translator) -> int:
    _ = tr.gettext
    if args.revoke == (args.file is not None):
        print("dxbot report: " + _("give FILE.pdf, or --revoke"), file=sys.stderr)
        return 2
    if args.file is not None and args.file.suffix.lower() != ".pdf":
        print("dxbot report: " + _("the file name must end in .pdf"), file=sys.stderr)
        return 2
    async with open_archive(settings.database_url) as sessions:
        if args.revoke:
            count = await report_links.revoke(sessions, args.submission,
                                              datetime.fromtimestamp(time.time(), tz=UTC))
            print(_("{n} links to the report of submission {id} revoked").format(
                n=count, id=args.submission))
            return 0
        matcher = Matcher(sessions, ctx.iset(None), clock=time.time)
        links = ReportLinks(sessions, settings.public_base, days=settings.report_link_days,
                            clock=time.time)
        pages = ReportPages(ctx, links, sessions, matcher, default_locale=settings.locale)
        locale = pages.locale(args.lang)
        view = await pages.view(args.submission, locale)
        if view is None:
            print("dxbot report: " + _("there is no submission {id}").format(
                id=args.submission), file=sys.stderr)
            return 1
        html = pages.render("report.html", locale, r=view, pdf=True)
    body = await asyncio.to_thread(render_pdf, html)
    try:
        args.file.write_bytes(body)
    except OSError as exc:
        print("dxbot report: " + _("cannot write {path}: {reason}").format(
            path=args.file, reason=exc.strerror or exc), file=sys.stderr)
        return 1
    print(_("{path}: the report of {name} ({date})").format(
        path=args.file, name=view.enterprise, date=view.date))
    return 0
