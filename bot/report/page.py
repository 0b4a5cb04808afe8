"""`GET /r/<token>`: the owner's report page, rendered on the server from the archive.

No login: the link is the key (opened inside WeChat's browser, forwarded to a boss or a bank).
So the page shows one submission only, never names of other enterprises (peers are counts of
at least `flows.report.MIN_PEERS`), answers 404 alike for every link that does not work, and
asks browsers not to keep it, index it or pass it on as a referrer. Every asset is the bot's own.
"""

from __future__ import annotations

import dataclasses
import logging

from aiohttp import web

from bot.chat.matching import Matcher, enterprise_of
from bot.report import STATIC, TEMPLATES
from bot.report.links import ReportLinks
from bot.report.render import Renderer
from bot.templating import Templates, page_headers
from bot.translations import SUPPORTED, translator
from flows import report
from flows.beijing_time import china_day
from flows.i18n import Translator
from flows.solutions import MAX_LISTED
from flows.state import Context
from storage import reports
from storage.db import Sessions
from storage.reports import PeerGroup, ReportSubmission

log = logging.getLogger(__name__)

REPORT_PAGES: web.AppKey[ReportPages] = web.AppKey("report_pages")

_HEADERS = page_headers(forms=False)


class ReportPages:
    def __init__(self, ctx: Context, links: ReportLinks, reads: Sessions, matcher: Matcher, *,
                 default_locale: str, renderer: Renderer | None = None) -> None:
        self.ctx = ctx
        self.links = links
        self.reads = reads
        self.matcher = matcher
        self.default_locale = default_locale
        self.renderer = Renderer() if renderer is None else renderer
        self.templates = Templates(TEMPLATES)

    def locale(self, asked: str | None) -> str:
        return asked if asked in SUPPORTED else self.default_locale

    async def view(self, submission_id: int, locale: str) -> report.ReportView | None:
        found = await reports.submission(self.reads, submission_id)
        if found is None:
            return None
        tr = translator(locale)
        ctx = dataclasses.replace(self.ctx, tr=tr)
        previous = await reports.previous(self.reads, found)
        peers = await self._peers(tr, found)
        matches = await self.matcher.best(found.result, enterprise_of(found.profile),
                                          limit=MAX_LISTED)
        return report.build(
            ctx, profile=found.profile, credit_code=found.credit_code, result=found.result,
            answers=found.answers, date=china_day(found.submitted_at),
            previous=None if previous is None else previous.result,
            previous_date="" if previous is None else china_day(previous.submitted_at),
            peers=peers, matches=matches)

    def render(self, template: str, locale: str, *, pdf: bool = False, **values: object) -> str:
        return self.templates.render(template, locale, pdf=pdf, **values)

    async def _peers(self, tr: Translator, of: ReportSubmission) -> list[report.PeerInput]:
        """The groups to compare with, the narrowest that has enough enterprises first: the
        same city and industry section; the same industry (division, else section) in the
        province; the same county, else city, in any industry."""
        _ = tr.gettext
        profile = of.profile
        section = str(profile.get("industry", ""))
        division = profile.get("industry_division")
        city, county = str(profile.get("city", "")), str(profile.get("county", ""))
        name = self.ctx.reference.industry_name
        candidates: list[tuple[str, list[tuple[str, PeerGroup]]]] = [
            ("city-industry", [(_("{industry} in {place}").format(
                industry=name(section), place=city), PeerGroup(section, city))]),
            ("industry", [(_("{industry} in the province").format(
                industry=name(section, code)), PeerGroup(code))
                for code in ((division, section) if division else (section,))
                if code]),
            ("place", [(_("All industries in {place}").format(place=county),
                        PeerGroup(None, city, county)),
                       (_("All industries in {place}").format(place=city),
                        PeerGroup(None, city))]),
        ]
        every = [group for _kind, options in candidates for _label, group in options]
        counted = dict(zip(every, await reports.peer_counts(self.reads, of, every),
                           strict=True))
        chosen = []
        for _kind, options in candidates:
            for label, group in options:
                counts = counted[group]
                if counts.size >= report.MIN_PEERS:
                    chosen.append(report.PeerInput(label, counts.by_level, counts.below))
                    break
        return chosen


async def report_page(request: web.Request) -> web.Response:
    pages, locale, view = await _view(request)
    if view is None:
        return _not_found(pages, locale)
    return web.Response(text=pages.render("report.html", locale, r=view),
                        content_type="text/html", charset="utf-8", headers=_HEADERS)


async def report_pdf(request: web.Request) -> web.Response:
    pages, locale, view = await _view(request)
    if view is None:
        return _not_found(pages, locale)
    try:
        body = await pages.renderer.pdf(pages.render("report.html", locale, r=view, pdf=True))
    except Exception:  # e.g. no pango or fonts on this machine: the page still works
        log.exception("could not render the PDF of a report")
        return web.Response(status=503, text=pages.render("no_pdf.html", locale),
                            content_type="text/html", charset="utf-8", headers=_HEADERS)
    name = f"report-{view.credit_code}-{view.date}.pdf"
    return web.Response(body=body, content_type="application/pdf", headers={
        **_HEADERS, "Content-Disposition": f'inline; filename="{name}"'})


async def _view(request: web.Request) -> tuple[ReportPages, str, report.ReportView | None]:
    pages = request.app[REPORT_PAGES]
    submission_id = await pages.links.submission_of(request.match_info["token"])
    locale = pages.locale(request.query.get("lang"))
    view = None if submission_id is None else await pages.view(submission_id, locale)
    return pages, locale, view


def _not_found(pages: ReportPages, locale: str) -> web.Response:
    # One answer for every link that does not work: malformed, unknown, expired, revoked.
    return web.Response(status=404, text=pages.render("not_found.html", locale),
                        content_type="text/html", charset="utf-8", headers=_HEADERS)



def add_report_routes(app: web.Application) -> None:
    app.router.add_get("/r/{token}.pdf", report_pdf)
    app.router.add_get("/r/{token}", report_page)
    app.router.add_static("/r/static/", STATIC, append_version=False)
