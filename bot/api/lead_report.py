"""The lead desk's figures of an area (供需对接 and 一项一档), for the admin API's statistics and
the export's three sheets: the leads, the projects with what they changed, and the counts by
solution, provider, scene, city and industry."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook

from bot.api.sheet_cells import china_time, row_cells
from flows.commissioners import Scope
from flows.leads import LEAD_STATUSES, STATUS_TITLES
from storage import lead_desk
from storage.db import Sessions
from storage.lead_desk import LeadStatistics, StoredLead, StoredProject

if TYPE_CHECKING:  # area_report writes these sheets into its workbook
    from bot.api.area_report import ReportContext


async def lead_figures(sessions: Sessions, scope: Scope | None, rc: ReportContext,
                       ) -> tuple[list[StoredLead], list[StoredProject], LeadStatistics]:
    """The area's leads and projects, and their counts."""
    scenes = [s.code for s in rc.iset.scenes]
    leads = await lead_desk.every_lead(sessions, scope)
    projects = await lead_desk.every_project(sessions, scope, scenes)
    stats = lead_desk.lead_statistics(leads, projects, scene_names=rc.scene_names(),
                                      industry_names=rc.industry_names())
    return leads, projects, stats


def _lead_row(lead: StoredLead, rc: ReportContext, industries: dict[str, str]) -> list[Any]:
    _ = rc.tr.gettext
    e = lead.enterprise
    return [lead.id, e.name, e.credit_code, e.city, e.county,
            f"{e.industry} {industries.get(e.industry, '')}".strip(), lead.solution_title,
            lead.provider_name, _(STATUS_TITLES[lead.status]), lead.mobile,
            china_time(lead.consented_at), china_time(lead.notified_at),
            china_time(lead.created_at), china_time(lead.updated_at), lead.closed_reason,
            lead.project_id]


def _project_row(p: StoredProject, rc: ReportContext) -> list[Any]:
    _ = rc.tr.gettext
    e, o, plan = p.enterprise, p.outcome, p.plan
    scenes = rc.scene_names()
    changes = "、".join(f"{scenes.get(c.code, c.code)} {c.before}→{c.after}"
                       for c in o.scene_changes)
    return [p.id, p.lead_id, e.name, e.credit_code, e.city, e.county, p.solution_title,
            p.provider_name, "、".join(scenes.get(code, code) for code in plan.scenes),
            plan.planned_start, plan.planned_end, plan.actual_start, plan.actual_end,
            None if plan.investment is None else float(plan.investment),
            rc.iset.level_name(o.before.level),
            None if o.after is None else rc.iset.level_name(o.after.level),
            None if o.after is None else (_("yes") if o.moved_up else _("no")),
            changes or None, china_time(p.created_at)]


def _statistics_rows(stats: LeadStatistics, rc: ReportContext,
                     ) -> list[tuple[bool, list[Any]]]:
    _ = rc.tr.gettext
    head = [_("Leads"), _("Open"), *(_(STATUS_TITLES[s]) for s in LEAD_STATUSES),
            _("Projects"), _("Re-assessed after the project"), _("Moved up a level"),
            _("Investment (10,000 yuan)")]

    def tally(t: lead_desk.Tally) -> list[Any]:
        return [t.leads, t.open, *(t.by_status[s] for s in LEAD_STATUSES), t.projects,
                t.reassessed, t.moved_up, float(t.investment)]

    out: list[tuple[bool, list[Any]]] = [
        (True, [_("Overall"), *head]), (False, [_("All"), *tally(stats.total)]),
        (False, [_("Enterprises with a project"), stats.enterprises_with_projects]),
        (False, [_("Enterprises that moved up a level after a project"),
                 stats.enterprises_moved_up])]
    titles = {"solution": _("Solution"), "provider": _("Provider"), "scene": _("Scene"),
              "city": _("City"), "industry": _("Industry")}
    for grouping, tallies in stats.groups.items():
        out += [(False, []), (True, [titles[grouping], *head])]
        out += [(False, [t.name, *tally(t)]) for t in tallies]
    return out


async def write_lead_sheets(book: Workbook, sessions: Sessions, scope: Scope | None,
                            rc: ReportContext) -> None:
    _ = rc.tr.gettext
    leads, projects, stats = await lead_figures(sessions, scope, rc)
    industries = rc.industry_names()

    def write() -> None:
        sheet = book.create_sheet(_("Leads"))
        sheet.append(row_cells(sheet, [
            _("Lead"), _("Enterprise"), _("Unified social credit code"), _("City"),
            _("County"), _("Industry"), _("Solution"), _("Provider"), _("Status"),
            _("Mobile"), _("Consented at"), _("Provider told at"), _("Created at"),
            _("Updated at"), _("Reason closed"), _("Project")], bold=True))
        for lead in leads:
            sheet.append(row_cells(sheet, _lead_row(lead, rc, industries)))
        sheet = book.create_sheet(_("Projects"))
        sheet.append(row_cells(sheet, [
            _("Project"), _("Lead"), _("Enterprise"), _("Unified social credit code"),
            _("City"), _("County"), _("Solution"), _("Provider"), _("Scenes targeted"),
            _("Planned start"), _("Planned end"), _("Actual start"), _("Actual end"),
            _("Investment (10,000 yuan)"), _("Level before"), _("Level after"),
            _("Moved up a level"), _("Scene levels changed"), _("Created at")], bold=True))
        for project in projects:
            sheet.append(row_cells(sheet, _project_row(project, rc)))
        sheet = book.create_sheet(_("Lead statistics"))
        for heading, values in _statistics_rows(stats, rc):
            sheet.append(row_cells(sheet, values, bold=heading))

    await asyncio.to_thread(write)
