"""The admin API (`/api/admin/...`, bearer tokens, see bot.api.admin_access).

Province admins: notices (create, checked whole with 422 naming each bad field; preview the
audience; schedule, cancel, list, show), commissioners (register, issue a binding code), the
solution pool (list with filters, show, change, retire; a provider's contact: issue a binding
code, unbind), and the statistics and export of the whole province or any area. Commissioners:
the statistics, the enterprise lists, the export, the nudges and the lead desk
(`bot.api.lead_desk`: leads and projects) of their own area, and nothing else (403). Without any
valid token, 401; with no admin token configured and none issued, the API is off (403).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.api import binding_codes, commissioner_codes, provider_codes
from bot.api.admin_access import AdminAPI, area_of, caller, province_admin
from bot.api.area_report import area_statistics, export_workbook, statistics_view
from bot.api.json_api import (
    ApiError,
    json_errors,
    json_response,
    path_id,
    problems_error,
    query_page,
    read_object,
)
from bot.api.lead_desk import add_lead_routes
from bot.api.solution_pool import solution_query, solution_view, title_taken
from bot.chat.commissioner_desk import nudge_area
from flows.i18n import N_
from flows.notices import KINDS, Audience, NoticeSpec, parse_notice
from flows.pool_fields import parse_changes
from flows.problems import Problem
from flows.profile import parse_credit_code
from flows.statuses import STATUSES, as_status
from storage import (
    commissioners,
    deliveries,
    enterprise_status,
    notices,
    provider_contacts,
    registrations,
    solutions,
)
from storage.db import Sessions
from storage.provider_contacts import ProviderContact

PREFIX = "/api/admin"


def notice_view(notice: notices.StoredNotice, audience_size: int | None = None,
                ) -> dict[str, Any]:
    view = asdict(notice)
    for name in ("starts_at", "ends_at", "signup_deadline", "send_at", "created_at",
                 "paused_until"):
        value = view[name]
        view[name] = None if value is None else value.isoformat()
    if audience_size is not None:
        view["audience_size"] = audience_size
    return view


def _spec(admin: AdminAPI, body: Any) -> NoticeSpec:
    spec = parse_notice(body, admin.reference, max_level=admin.max_level)
    if isinstance(spec, list):
        raise problems_error(spec, admin.tr)
    return spec


async def create(request: web.Request) -> web.Response:
    admin = await province_admin(request)
    spec = _spec(admin, await read_object(request, admin.tr))
    stored = await notices.create_notice(admin.sessions, spec, admin.now())
    size = await notices.count_audience(admin.reads, spec.audience)
    return json_response(notice_view(stored, size), status=201)


async def preview_draft(request: web.Request) -> web.Response:
    """The audience size of a notice not stored yet."""
    admin = await province_admin(request)
    spec = _spec(admin, await read_object(request, admin.tr))
    return json_response({"audience_size": await notices.count_audience(admin.reads,
                                                                        spec.audience)})


async def listing(request: web.Request) -> web.Response:
    admin = await province_admin(request)
    return json_response({"notices": [notice_view(n)
                                      for n in await notices.list_notices(admin.sessions)]})


async def _stored(request: web.Request, admin: AdminAPI) -> notices.StoredNotice:
    missing = admin.tr.gettext("There is no such notice.")
    stored = await notices.get_notice(admin.sessions, path_id(request, "id", missing))
    if stored is None:
        raise ApiError(404, "not_found", missing)
    return stored


async def show(request: web.Request) -> web.Response:
    """The notice, its audience size now, its deliveries by status (queued, sent, failed,
    skipped, unknown), the registrants' own messages (reminders, promotions, cancellation) by
    purpose and status, and its sign-ups by status."""
    admin = await province_admin(request)
    return json_response(await notice_report(admin.reads, await _stored(request, admin)))


async def notice_report(sessions: Sessions, stored: notices.StoredNotice) -> dict[str, Any]:
    """A notice with what became of it (the admin API's and `dxbot notice show`'s view)."""
    size = (await notices.count_audience(sessions, Audience.from_data(stored.audience))
            if stored.kind in KINDS else None)  # a nudge's people are its deliveries
    by_purpose = await deliveries.counts_by_purpose(sessions, stored.id)
    return {**notice_view(stored, size), "deliveries": by_purpose.pop("notice", {}),
            "personal_messages": by_purpose,
            "signups": await registrations.counts(sessions, stored.id)}


async def _change(request: web.Request, status: str) -> web.Response:
    admin = await province_admin(request)
    stored = await _stored(request, admin)
    body = await read_object(request, admin.tr)
    send_at = None
    if status == "scheduled":
        raw = body.get("send_at")
        send_at = admin.now()
        if raw is not None:
            try:
                send_at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                send_at = None
            if send_at is None or send_at.tzinfo is None:
                raise ApiError(422, "time", admin.tr.gettext(
                    "send_at: a date and time with its offset, such as "
                    "2026-12-01T09:00:00+08:00"), field="send_at")
    try:
        changed = await notices.change_status(admin.sessions, stored.id, status, admin.now(),
                                              send_at=send_at)
    except notices.NoticeStateError:
        raise ApiError(409, "wrong_status", admin.tr.gettext(
            "The notice is {status} and cannot be changed that way.").format(
                status=stored.status)) from None
    return json_response(notice_view(changed))


async def schedule(request: web.Request) -> web.Response:
    return await _change(request, "scheduled")


async def cancel(request: web.Request) -> web.Response:
    return await _change(request, "cancelled")


# --- areas: statistics, lists, export, nudges ------------------------------------------------


async def statistics(request: web.Request) -> web.Response:
    """Progress, levels and the share at 二级 or above by city, county and industry, average
    scores per dimension, and the scenes most often below level 2, for the caller's area."""
    admin, who = await caller(request)
    scope = area_of(admin, who, request)
    now = admin.now()
    stats = await area_statistics(admin.reads, scope, now, admin.report)
    return json_response(statistics_view(stats, scope, now, admin.report))


async def export(request: web.Request) -> web.Response:
    admin, who = await caller(request)
    scope = area_of(admin, who, request)
    now = admin.now()
    body = await export_workbook(admin.reads, scope, now, admin.report)
    name = f"dx-export-{now.strftime('%Y%m%d-%H%M')}.xlsx"
    return web.Response(body=body, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": f'attachment; filename="{name}"'})


async def enterprise_list(request: web.Request) -> web.Response:
    """`?status=not_started|in_progress|submitted&offset=&limit=`: the enterprises of the
    caller's area with that status, by name."""
    admin, who = await caller(request)
    _ = admin.tr.gettext
    scope = area_of(admin, who, request)
    status = as_status(request.query.get("status", ""))
    if status is None:
        raise ApiError(422, "status", _("status: one of {allowed}").format(
            allowed=", ".join(STATUSES)), field="status")
    problems: list[Problem] = []
    offset, limit = query_page(request.query, problems)
    if problems:
        raise problems_error(problems, admin.tr)
    page, total = await enterprise_status.listing(
        admin.reads, scope, status, admin.now(),
        offset=offset, limit=limit)
    return json_response({"status": status, "total": total, "offset": offset, "enterprises": [
        {**asdict(e), "last_active_at": _iso(e.last_active_at),
         "submitted_at": _iso(e.submitted_at)} for e in page]})


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


async def nudge(request: web.Request) -> web.Response:
    """A commissioner's 催办 over the API: `{}` for every unfinished enterprise of their area,
    `{"credit_code": …}` for one."""
    admin, who = await caller(request)
    _ = admin.tr.gettext
    body = await read_object(request, admin.tr)
    if who.commissioner_id is None or who.scope is None:
        raise ApiError(403, "forbidden", _("Nudges are sent by a commissioner, for their area."))
    raw = body.get("credit_code")
    credit_code = None
    if raw is not None:
        parsed = parse_credit_code(raw) if isinstance(raw, str) else Problem(
            "credit_code", N_("credit_code: expected text"), "credit_code")
        if isinstance(parsed, Problem):
            raise problems_error([parsed], admin.tr)
        credit_code = parsed
    found = await commissioners.get(admin.sessions, who.commissioner_id)
    assert found is not None  # the token's holder was just read with it
    done = await nudge_area(admin.sessions, found, credit_code, admin.now())
    if not done.found:
        raise ApiError(404, "not_found", _(
            "No enterprise with the credit code {code} is in your area.").format(
                code=credit_code))
    return json_response({"nudged": done.nudged, "people": done.people, "skipped": {
        "recent": done.recent, "no_contact": done.no_contact, "submitted": done.submitted}})


# --- commissioners ---------------------------------------------------------------------------

def _issued(issued: commissioner_codes.Issued) -> dict[str, Any]:
    c = issued.commissioner
    return {"id": c.id, "name": c.name, "area": c.scope.as_data(), "code": issued.code,
            "code_expires_at": issued.expires_at.isoformat()}


async def commissioner_add(request: web.Request) -> web.Response:
    """`{"name", "cities": [...], "counties": [...], "valid_hours"}`: a commissioner and their
    one-time binding code (shown this once)."""
    admin = await province_admin(request)
    body = await read_object(request, admin.tr)
    lists = {field: body.get(field, []) for field in ("cities", "counties")}
    wrong = [Problem("list", N_("{field}: a list of names"), field, {"field": field})
             for field, value in lists.items()
             if not isinstance(value, list) or not all(isinstance(v, str) for v in value)]
    if wrong:  # never narrowed or widened silently: an area is given exactly or refused
        raise problems_error(wrong, admin.tr)
    issued = await commissioner_codes.register(
        admin.sessions, admin.reference, str(body.get("name", "")), lists["cities"],
        lists["counties"], body.get("valid_hours", binding_codes.DEFAULT_VALID_HOURS),
        admin.now())
    if isinstance(issued, list):
        raise problems_error(issued, admin.tr)
    return json_response(_issued(issued), status=201)


async def commissioner_code(request: web.Request) -> web.Response:
    admin = await province_admin(request)
    body = await read_object(request, admin.tr)
    missing = admin.tr.gettext("there is no commissioner {id}")
    commissioner_id = path_id(request, "id", missing)
    issued = await commissioner_codes.renew(
        admin.sessions, commissioner_id,
        body.get("valid_hours", binding_codes.DEFAULT_VALID_HOURS), admin.now())
    if isinstance(issued, Problem):
        raise problems_error([issued], admin.tr)
    if issued is None:
        raise ApiError(404, "not_found", missing.format(id=commissioner_id))
    return json_response(_issued(issued))


async def commissioner_list(request: web.Request) -> web.Response:
    admin = await province_admin(request)
    return json_response({"commissioners": [
        {"id": c.id, "name": c.name, "area": c.scope.as_data(), "bound": c.person_id is not None,
         "bound_at": _iso(c.bound_at)} for c in await commissioners.listing(admin.sessions)]})


# --- the solution pool ------------------------------------------------------------------------


async def solution_list(request: web.Request) -> web.Response:
    """`?scene=&city=&industry=&provider=&q=&retired=&offset=&limit=`: a page of the pool, by
    id, and how many solutions the filters select."""
    admin = await province_admin(request)
    chosen, offset, limit = solution_query(request.query, admin.pool, admin.tr)
    page, total = await solutions.listing(admin.sessions, chosen, offset=offset, limit=limit)
    return json_response({"total": total, "offset": offset, "limit": limit,
                          "solutions": [solution_view(s, admin.pool) for s in page]})


async def _solution(request: web.Request, admin: AdminAPI) -> solutions.StoredSolution:
    missing = admin.tr.gettext("There is no such solution.")
    found = await solutions.get(admin.sessions, path_id(request, "id", missing))
    if found is None:
        raise ApiError(404, "not_found", missing)
    return found


async def solution_show(request: web.Request) -> web.Response:
    admin = await province_admin(request)
    return json_response(solution_view(await _solution(request, admin), admin.pool))


async def solution_change(request: web.Request) -> web.Response:
    """The fields to change, checked as the import checks its columns; every bad or unknown
    field named in one 422, and then nothing is changed. `"retired": false` brings a retired
    solution back."""
    admin = await province_admin(request)
    stored = await _solution(request, admin)
    changes = parse_changes(await read_object(request, admin.tr), admin.pool)
    if isinstance(changes, list):
        raise problems_error(changes, admin.tr)
    try:
        changed = await solutions.update_solution(admin.sessions, stored.id, changes,
                                                  admin.now())
    except solutions.TitleTaken as taken:
        raise title_taken(changes["title"], taken.solution_id, admin.tr) from None
    if changed is None:  # removed meanwhile (nothing removes solutions today)
        raise ApiError(404, "not_found", admin.tr.gettext("There is no such solution."))
    return json_response(solution_view(changed, admin.pool))


async def solution_retire(request: web.Request) -> web.Response:
    """Never proposed again; kept, and shown with its retired_at. Again: no change."""
    admin = await province_admin(request)
    stored = await _solution(request, admin)
    retired = await solutions.retire(admin.sessions, stored.id, admin.now())
    assert retired is not None  # solutions are never deleted
    return json_response(solution_view(retired, admin.pool))


def provider_view(p: ProviderContact) -> dict[str, Any]:
    """A provider and whether a WeChat contact is bound (never who: the openid stays here)."""
    return {"id": p.provider_id, "credit_code": p.credit_code, "name": p.name,
            "wechat_contact_bound": p.person_id is not None}


async def provider_code(request: web.Request) -> web.Response:
    """`{"valid_hours"}` (optional, as for commissioners): a one-time code that binds the
    provider's WeChat contact, shown this once; an earlier code stops working."""
    admin = await province_admin(request)
    body = await read_object(request, admin.tr)
    missing = admin.tr.gettext("There is no such provider.")
    issued = await provider_codes.issue(
        admin.sessions, path_id(request, "id", missing),
        body.get("valid_hours", binding_codes.DEFAULT_VALID_HOURS), admin.now())
    if isinstance(issued, Problem):
        raise problems_error([issued], admin.tr)
    if issued is None:
        raise ApiError(404, "not_found", missing)
    return json_response({"provider": provider_view(issued.provider), "code": issued.code,
                          "code_expires_at": issued.expires_at.isoformat()})


async def provider_unbind(request: web.Request) -> web.Response:
    """The provider's WeChat contact is no longer told of leads (they wait in the list)."""
    admin = await province_admin(request)
    missing = admin.tr.gettext("There is no such provider.")
    found = await provider_contacts.unbind(admin.sessions, path_id(request, "id", missing))
    if found is None:
        raise ApiError(404, "not_found", missing)
    return json_response(provider_view(found))


def add_admin_routes(app: web.Application) -> None:
    admin = web.Application(middlewares=[json_errors])
    admin.router.add_post("/notices", create)
    admin.router.add_post("/notices/preview", preview_draft)
    admin.router.add_get("/notices", listing)
    admin.router.add_get("/notices/{id}", show)
    admin.router.add_post("/notices/{id}/schedule", schedule)
    admin.router.add_post("/notices/{id}/cancel", cancel)
    admin.router.add_get("/stats", statistics)
    admin.router.add_get("/export.xlsx", export)
    admin.router.add_get("/enterprises", enterprise_list)
    admin.router.add_post("/nudges", nudge)
    admin.router.add_get("/commissioners", commissioner_list)
    admin.router.add_post("/commissioners", commissioner_add)
    admin.router.add_post("/commissioners/{id}/code", commissioner_code)
    admin.router.add_get("/solutions", solution_list)
    admin.router.add_get("/solutions/{id}", solution_show)
    admin.router.add_patch("/solutions/{id}", solution_change)
    admin.router.add_post("/solutions/{id}/retire", solution_retire)
    admin.router.add_post("/providers/{id}/binding-code", provider_code)
    admin.router.add_delete("/providers/{id}/contact", provider_unbind)
    add_lead_routes(admin.router)
    app.add_subapp(PREFIX, admin)
