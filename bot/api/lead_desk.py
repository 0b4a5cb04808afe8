"""The lead desk in the admin API: the leads (供需对接) and projects (一项一档) of the caller's
area, listed with filters, read, moved on, and counted. Province admins reach every lead; a
commissioner those of enterprises in their area, and a lead or project outside it is not
found (404), whatever its id.

A change names the `version` it was made on (as the lead or project was shown); a change made
on an older version is refused with 409 and the record as it is now, so two people working on
one lead never overwrite each other unseen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.api.admin_access import AdminAPI, area_of, caller
from bot.api.json_api import (
    ApiError,
    json_response,
    path_id,
    problems_error,
    query_id,
    query_page,
    read_object,
)
from bot.api.lead_report import lead_figures
from flows.beijing_time import BEIJING
from flows.i18n import N_
from flows.leads import (
    LEAD_STATUSES,
    STATUS_TITLES,
    ProjectPlan,
    as_lead_status,
    parse_lead_change,
    parse_project,
    parse_version,
)
from flows.pool_fields import parse_industry
from flows.problems import Problem
from flows.profile import normalize
from storage import lead_desk
from storage.lead_desk import (
    LeadEnterprise,
    LeadFilter,
    LeadStatistics,
    Missing,
    Stale,
    StoredLead,
    StoredProject,
    Tally,
)

QUERY_MAX = 100
AREA = ("cities", "counties")
LEAD_QUERY = ("status", "open", "solution", "provider", "industry", "q", "offset", "limit",
              *AREA)
PAGE_QUERY = ("offset", "limit", *AREA)
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _problem(code: str, message: str, field: str, **params: Any) -> Problem:
    return Problem(code, message, field, {"field": field, **params})


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _unknown(query: Mapping[str, str], known: tuple[str, ...]) -> list[Problem]:
    return [_problem("unknown_field", N_("{field}: there is no such field"), name)
            for name in sorted(set(query) - set(known))]


def lead_query(query: Mapping[str, str], admin: AdminAPI) -> tuple[LeadFilter, int, int]:
    """The list's filter and page from `?status=&open=&solution=&provider=&industry=&q=
    &offset=&limit=` (the area from `cities`/`counties`); every bad one named in one 422."""
    problems = _unknown(query, LEAD_QUERY)
    status = None
    if query.get("status", "").strip():
        status = as_lead_status(query["status"].strip())
        if status is None:
            problems.append(_problem("status", N_("status: one of {allowed}"), "status",
                                     allowed=", ".join(LEAD_STATUSES)))
    open_only = False
    if query.get("open", "").strip():
        flag = query["open"].strip().lower()
        if flag in _TRUE | _FALSE:
            open_only = flag in _TRUE
        else:
            problems.append(_problem("boolean", N_("{field}: true or false"), "open"))
    solution_id = query_id(query, "solution", problems)
    provider_id = query_id(query, "provider", problems)
    industry = None
    if query.get("industry", "").strip():
        industry = parse_industry(normalize(query["industry"]), admin.pool)
        if industry is None:
            problems.append(_problem("industry", N_("industry: {value} is not an industry "
                                                    "section or division"), "industry",
                                     value=query["industry"]))
    q = normalize(query.get("q", "")) or None
    if q is not None and len(q) > QUERY_MAX:
        problems.append(_problem("too_long", N_("{field}: at most {max} characters"), "q",
                                 max=QUERY_MAX))
    offset, limit = query_page(query, problems)
    if problems:
        raise problems_error(problems, admin.tr)
    return LeadFilter(status, open_only, solution_id, provider_id, industry, q), offset, limit


def _enterprise_view(e: LeadEnterprise) -> dict[str, Any]:
    return {"credit_code": e.credit_code, "name": e.name, "city": e.city, "county": e.county,
            "industry": e.industry, "industry_division": e.industry_division}


def _scenes_view(codes: Any, admin: AdminAPI) -> list[dict[str, Any]]:
    names = admin.report.scene_names()
    return [{"code": code, "name": names.get(code)} for code in codes]


def lead_view(lead: StoredLead, admin: AdminAPI) -> dict[str, Any]:
    return {
        "id": lead.id, "status": lead.status,
        "status_title": admin.tr.gettext(STATUS_TITLES[lead.status]), "version": lead.version,
        "enterprise": _enterprise_view(lead.enterprise),
        "solution": {"id": lead.solution_id, "title": lead.solution_title,
                     "lifts": [{**s, "level": lead.solution_lifts[s["code"]]}
                               for s in _scenes_view(lead.solution_lifts, admin)]},
        "provider": {"id": lead.provider_id, "name": lead.provider_name},
        "channel": lead.channel, "mobile": lead.mobile,
        "consented_at": _iso(lead.consented_at), "closed_reason": lead.closed_reason,
        "provider_notified_at": _iso(lead.notified_at), "created_at": _iso(lead.created_at),
        "updated_at": _iso(lead.updated_at), "project_id": lead.project_id,
    }


def project_view(project: StoredProject, admin: AdminAPI) -> dict[str, Any]:
    levels = admin.report.level_names()
    names = admin.report.scene_names()
    o = project.outcome

    def assessed(a: Any) -> dict[str, Any] | None:
        return None if a is None else {"submission_id": a.submission_id, "level": a.level,
                                       "level_name": levels.get(a.level)}

    return {
        "id": project.id, "lead_id": project.lead_id, "version": project.version,
        "enterprise": _enterprise_view(project.enterprise),
        "solution": {"id": project.solution_id, "title": project.solution_title},
        "provider": {"id": project.provider_id, "name": project.provider_name},
        **project.plan.as_data(),
        "scenes": _scenes_view(project.plan.scenes, admin),
        "before": assessed(o.before), "after": assessed(o.after), "moved_up": o.moved_up,
        "scene_changes": [{"code": c.code, "name": names.get(c.code), "before": c.before,
                           "after": c.after} for c in o.scene_changes],
        "created_at": _iso(project.created_at), "updated_at": _iso(project.updated_at),
    }


def _today(admin: AdminAPI) -> Any:
    return admin.now().astimezone(BEIJING).date()


def _scene_codes(admin: AdminAPI) -> list[str]:
    return [s.code for s in admin.report.iset.scenes]


NO_LEAD = N_("There is no such lead in your area.")
NO_PROJECT = N_("There is no such project in your area.")


def _lead_missing(admin: AdminAPI) -> ApiError:
    return ApiError(404, "not_found", admin.tr.gettext(NO_LEAD))


def _project_missing(admin: AdminAPI) -> ApiError:
    return ApiError(404, "not_found", admin.tr.gettext(NO_PROJECT))


def _stale(admin: AdminAPI, view: dict[str, Any]) -> ApiError:
    return ApiError(409, "stale", admin.tr.gettext(
        "Someone changed this since you read it (now version {version}); read it again and "
        "make your change on that.").format(version=view["version"]), field="version",
        extra={"current": view})


async def lead_list(request: web.Request) -> web.Response:
    admin, who = await caller(request)
    f, offset, limit = lead_query(request.query, admin)
    scope = area_of(admin, who, request)
    page, total = await lead_desk.lead_list(admin.sessions, scope, f, offset=offset,
                                            limit=limit)
    return json_response({"total": total, "offset": offset,
                          "leads": [lead_view(lead, admin) for lead in page]})


async def lead_show(request: web.Request) -> web.Response:
    admin, who = await caller(request)
    found = await lead_desk.lead_get(
        admin.sessions, path_id(request, "id", admin.tr.gettext(NO_LEAD)), who.scope)
    if found is None:
        raise _lead_missing(admin)
    return json_response(lead_view(found, admin))


async def lead_change(request: web.Request) -> web.Response:
    """`{"version": 3, "status": "contacted"}`; closing needs a `reason`, becoming a project
    a `project` (`scenes`, `planned_start`, `planned_end`, optionally the actual dates and
    the `investment` in 万元)."""
    admin, who = await caller(request)
    lead_id = path_id(request, "id", admin.tr.gettext(NO_LEAD))
    body = await read_object(request, admin.tr)
    found = await lead_desk.lead_get(admin.sessions, lead_id, who.scope)
    if found is None:
        raise _lead_missing(admin)
    change = parse_lead_change(body, found.status, scenes=_scene_codes(admin),
                               default_scenes=list(found.solution_lifts), today=_today(admin))
    if isinstance(change, list):
        raise problems_error(change, admin.tr)
    kept = await lead_desk.change_lead(admin.sessions, lead_id, who.scope, change, admin.now())
    if kept is None:
        raise _lead_missing(admin)
    if isinstance(kept, Stale):
        raise _stale(admin, lead_view(kept.current, admin))
    if isinstance(kept, Missing):
        raise ApiError(409, kept.reason, admin.tr.gettext(
            "The enterprise has no submission in the archive to start a project from."))
    return json_response(lead_view(kept, admin))


async def project_list(request: web.Request) -> web.Response:
    admin, who = await caller(request)
    problems = _unknown(request.query, PAGE_QUERY)
    offset, limit = query_page(request.query, problems)
    if problems:
        raise problems_error(problems, admin.tr)
    scope = area_of(admin, who, request)
    page, total = await lead_desk.project_list(admin.sessions, scope, _scene_codes(admin),
                                               offset=offset, limit=limit)
    return json_response({"total": total, "offset": offset,
                          "projects": [project_view(p, admin) for p in page]})


async def project_show(request: web.Request) -> web.Response:
    admin, who = await caller(request)
    found = await lead_desk.project_get(
        admin.sessions, path_id(request, "id", admin.tr.gettext(NO_PROJECT)), who.scope,
        _scene_codes(admin))
    if found is None:
        raise _project_missing(admin)
    return json_response(project_view(found, admin))


async def project_change(request: web.Request) -> web.Response:
    """`{"version": 1, "actual_start": "2026-03-01", "actual_end": "2026-06-30",
    "investment": "12.50"}`: only what is given changes; null clears an actual date or the
    investment."""
    admin, who = await caller(request)
    project_id = path_id(request, "id", admin.tr.gettext(NO_PROJECT))
    body = await read_object(request, admin.tr)
    scenes = _scene_codes(admin)
    found = await lead_desk.project_get(admin.sessions, project_id, who.scope, scenes)
    if found is None:
        raise _project_missing(admin)
    version = parse_version(body.get("version"))
    plan = parse_project(body, scenes=scenes, default_scenes=(), today=_today(admin),
                         current=found.plan)
    problems = [version] if isinstance(version, Problem) else []
    if isinstance(plan, list):
        problems += plan
    if problems:
        raise problems_error(problems, admin.tr)
    assert isinstance(version, int) and isinstance(plan, ProjectPlan)
    kept = await lead_desk.change_project(admin.sessions, project_id, who.scope, plan,
                                          version, admin.now(), scenes)
    if kept is None:
        raise _project_missing(admin)
    if isinstance(kept, Stale):
        raise _stale(admin, project_view(kept.current, admin))
    return json_response(project_view(kept, admin))


def tally_view(t: Tally) -> dict[str, Any]:
    return {"key": t.key, "name": t.name, "leads": t.leads, "open": t.open,
            "by_status": dict(t.by_status), "projects": t.projects,
            "reassessed": t.reassessed, "moved_up": t.moved_up,
            "investment": f"{t.investment:.2f}"}


def statistics_view(stats: LeadStatistics) -> dict[str, Any]:
    return {"total": tally_view(stats.total),
            "enterprises_with_projects": stats.enterprises_with_projects,
            "enterprises_moved_up": stats.enterprises_moved_up,
            "by": {g: [tally_view(t) for t in tallies] for g, tallies in stats.groups.items()}}


async def lead_statistics(request: web.Request) -> web.Response:
    """Leads and projects by solution, provider, scene, city and industry, and how many
    enterprises moved up a level after a project, for the caller's area."""
    admin, who = await caller(request)
    problems = _unknown(request.query, AREA)
    if problems:
        raise problems_error(problems, admin.tr)
    scope = area_of(admin, who, request)
    _leads, _projects, stats = await lead_figures(admin.reads, scope, admin.report)
    return json_response(statistics_view(stats))


def add_lead_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/leads", lead_list)
    router.add_get("/leads/stats", lead_statistics)  # before /leads/{id}, which is numeric
    router.add_get("/leads/{id}", lead_show)
    router.add_patch("/leads/{id}", lead_change)
    router.add_get("/projects", project_list)
    router.add_get("/projects/{id}", project_show)
    router.add_patch("/projects/{id}", project_change)
