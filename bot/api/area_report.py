"""An area's statistics and its export (one row per enterprise, then the statistics), for the
admin API, `dxbot export` and the commissioners. The enterprises are streamed from the archive
in batches; the workbook is written row by row (openpyxl's write-only mode), so memory stays
flat in the number of enterprises, apart from the file itself. Every text is written as a
text cell (what people typed is never a formula) and every moment as a date cell in Beijing
time."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from bot.api.lead_report import write_lead_sheets
from bot.api.sheet_cells import china_time, row_cells
from flows.beijing_time import BEIJING, china_minute
from flows.commissioners import Scope, area_text
from flows.i18n import Translator
from flows.indicators import IndicatorSet
from flows.profile import ProfileReference
from flows.statistics import DIMENSIONS, EnterpriseFacts, Statistics, statistics_data, summarize
from flows.statuses import STATUS_TITLES, STATUSES
from storage import enterprise_status
from storage.db import Sessions
from storage.enterprise_status import EnterpriseDetail


@dataclass(frozen=True)
class ReportContext:
    """What names the codes: the indicator set (levels, scenes) and the profile lists."""

    iset: IndicatorSet
    reference: ProfileReference
    tr: Translator

    def level_names(self) -> dict[int, str]:
        return {level: self.iset.level_name(level)
                for level in range(len(self.iset.level_rules) + 1)}

    def scene_names(self) -> dict[str, str]:
        return {s.code: s.name for s in self.iset.scenes}

    def dimension_names(self) -> dict[str, str]:
        """The total and each dimension, named as the indicator set names them."""
        return {"total": self.tr.gettext("Total score"),
                **{d.code: d.title for d in self.iset.dimensions}}

    def industry_names(self) -> dict[str, str]:
        return {s.code: s.name for s in self.reference.sections}


def _facts(e: EnterpriseDetail) -> EnterpriseFacts:
    return EnterpriseFacts(e.city, e.county, e.industry, e.status, e.level, e.scores,
                           e.scene_levels)


async def area_statistics(sessions: Sessions, scope: Scope | None, now: datetime,
                          rc: ReportContext) -> Statistics:
    facts: list[EnterpriseFacts] = []
    async for batch in enterprise_status.details(sessions, scope, now):
        facts.extend(_facts(e) for e in batch)  # small records; the rows themselves go
    return summarize(facts, [s.code for s in rc.iset.scenes])


def statistics_view(stats: Statistics, scope: Scope | None, now: datetime,
                    rc: ReportContext) -> dict[str, Any]:
    return {"area": None if scope is None else scope.as_data(),
            "as_of": now.isoformat(),
            **statistics_data(stats, level_names=rc.level_names(),
                              scene_names=rc.scene_names(),
                              industry_names=rc.industry_names())}


# --- the workbook ----------------------------------------------------------------------------

def _number(value: Decimal | None) -> float | None:
    # Excel keeps doubles; scores have at most four decimals, which a double holds exactly
    # enough for display and sums.
    return None if value is None else float(value)


def _status_names(tr: Translator) -> dict[str, str]:
    _ = tr.gettext
    return {status: tr.gettext(title) for status, title in STATUS_TITLES.items()}


def _headings(rc: ReportContext) -> list[str]:
    _ = rc.tr.gettext
    return [_("Enterprise"), _("Unified social credit code"), _("City"), _("County"),
            _("Industry"), _("Industry division"), _("Employees"), _("Contact"), _("Mobile"),
            _("In the roster"), _("Status"), _("Answered"), _("Last active"),
            _("Latest level"), *(rc.dimension_names()[d] for d in DIMENSIONS),
            *(f"{s.code} {s.name}" for s in rc.iset.scenes),
            _("Started"), _("Submitted at"), _("First recorded")]


def _widths(columns: int) -> list[int]:
    """Column widths in characters: the name and the credit code wide, the rest narrow."""
    return [34, 22, 10, 12, 18] + [12] * (columns - 5)


def _row(e: EnterpriseDetail, rc: ReportContext, statuses: dict[str, str],
         industries: dict[str, str]) -> list[Any]:
    _ = rc.tr.gettext
    scores = e.scores or {}
    scenes = e.scene_levels or {}
    answered = f"{e.answered}/{e.questions}" if e.answered is not None else None
    return [e.name, e.credit_code, e.city, e.county,
            f"{e.industry} {industries.get(e.industry, '')}".strip(), e.industry_division,
            e.employees, e.contact_name, e.contact_mobile, _("yes") if e.in_roster else _("no"),
            statuses[e.status], answered,
            china_time(e.last_active_at),
            e.level_name, *(_number(scores.get(d)) for d in DIMENSIONS),
            *((scenes.get(s.code) if e.scene_levels is not None else None)
              for s in rc.iset.scenes),
            china_time(e.started_at), china_time(e.submitted_at),
            e.first_seen_at.astimezone(BEIJING).date()]


def _statistics_rows(view: dict[str, Any], rc: ReportContext,
                     ) -> Iterator[tuple[bool, list[Any]]]:
    """(a heading?, the cells) of the statistics sheet."""
    _ = rc.tr.gettext
    levels = [level["name"] for level in view["overall"]["levels"]]
    statuses = _status_names(rc.tr)
    tally_head = [_("Enterprises"), *(statuses[status] for status in STATUSES),
                  _("Completion rate (%)"), *levels, _("Level 2 or above"),
                  _("Share at level 2 or above (%)")]

    def tally(t: dict[str, Any]) -> list[Any]:
        return [t["enterprises"], t["not_started"], t["in_progress"], t["submitted"],
                _float(t["completion_rate"]), *(lv["enterprises"] for lv in t["levels"]),
                t["at_level2_or_above"], _float(t["share_level2_or_above"])]

    yield True, [_("Overall"), *tally_head]
    yield False, [_("All"), *tally(view["overall"])]
    yield False, []
    yield True, [_("City"), *tally_head]
    for t in view["by_city"]:
        yield False, [t["city"], *tally(t)]
    yield False, []
    yield True, [_("City"), _("County"), *tally_head]
    for t in view["by_county"]:
        yield False, [t["city"], t["county"], *tally(t)]
    yield False, []
    yield True, [_("Industry"), *tally_head]
    for t in view["by_industry"]:
        yield False, [f"{t['industry']} {t['name']}", *tally(t)]
    yield False, []
    names = rc.dimension_names()
    yield True, [_("Average scores of the latest submissions"), _("Average")]
    for name, value in view["dimension_averages"].items():
        yield False, [names[name], _float(value)]
    yield False, []
    yield True, [_("Scenes below level 2"), _("Submissions"), _("Share (%)")]
    for scene in view["scenes_below_level2"]:
        yield False, [f"{scene['code']} {scene['name']}", scene["submissions"],
               _float(scene["share"])]


def _float(text: str | None) -> float | None:
    return None if text is None else float(text)


async def export_workbook(sessions: Sessions, scope: Scope | None, now: datetime,
                          rc: ReportContext) -> bytes:
    """The area's workbook: the enterprises, the statistics, then the lead desk's sheets
    (`bot.api.lead_report`)."""
    _ = rc.tr.gettext
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Enterprises"))
    sheet.freeze_panes = "C2"  # the name and credit code stay in view
    headings = _headings(rc)
    for index, width in enumerate(_widths(len(headings)), 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append(row_cells(sheet, headings, bold=True))
    statuses, industries = _status_names(rc.tr), rc.industry_names()
    facts: list[EnterpriseFacts] = []

    def write(batch: list[EnterpriseDetail]) -> None:
        for e in batch:
            sheet.append(row_cells(sheet, _row(e, rc, statuses, industries)))
            facts.append(_facts(e))

    # The writing is CPU work: in a thread, batch by batch (one at a time, so the sheet is
    # never shared), while the event loop goes on answering WeChat.
    async for batch in enterprise_status.details(sessions, scope, now):
        await asyncio.to_thread(write, batch)
    stats = summarize(facts, [s.code for s in rc.iset.scenes])
    view = statistics_view(stats, scope, now, rc)
    summary = book.create_sheet(_("Statistics"))
    area = _("The whole province") if scope is None else area_text(scope)
    summary.append(row_cells(summary, [_("Area: {area}; as of {time}").format(
        area=area, time=china_minute(now))], bold=True))
    for heading, values in _statistics_rows(view, rc):
        summary.append(row_cells(summary, values, bold=heading))
    await write_lead_sheets(book, sessions, scope, rc)
    out = io.BytesIO()
    await asyncio.to_thread(book.save, out)
    return out.getvalue()
