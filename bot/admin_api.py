"""The admin API (`/api/admin/...`, bearer `DXBOT_ADMIN_TOKEN`): notices for now.

Create a notice (checked whole; 422 names each bad field), preview its audience size, schedule
or cancel it, list and show notices. Without an admin token configured, every admin endpoint
answers 403: there is no default password.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.json_api import (
    ApiError,
    json_errors,
    json_response,
    path_id,
    problems_error,
    read_object,
)
from flows.i18n import Translator
from flows.notices import Audience, NoticeSpec, parse_notice
from flows.profile import ProfileReference
from storage import deliveries, notices, registrations
from storage.archive import Sessions

PREFIX = "/api/admin"


class AdminAPI:
    def __init__(self, token: str, sessions: Sessions, reference: ProfileReference,
                 tr: Translator, *, max_level: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._token = token.encode()
        self.sessions = sessions
        self.reference = reference
        self.tr = tr
        self.max_level = max_level
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    def authenticate(self, request: web.Request) -> None:
        _ = self.tr.gettext
        if not self._token:
            raise ApiError(403, "admin_disabled", _(
                "The admin API is off: set DXBOT_ADMIN_TOKEN to use it."))
        scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 self._token):
            raise ApiError(401, "unauthorized", _("A valid admin token is required."))


ADMIN_KEY = web.AppKey("admin_api", AdminAPI)


def _admin(request: web.Request) -> AdminAPI:
    admin = request.config_dict[ADMIN_KEY]
    admin.authenticate(request)
    return admin


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
    admin = _admin(request)
    spec = _spec(admin, await read_object(request, admin.tr))
    stored = await notices.create_notice(admin.sessions, spec, admin.now())
    size = await notices.count_audience(admin.sessions, spec.audience)
    return json_response(notice_view(stored, size), status=201)


async def preview_draft(request: web.Request) -> web.Response:
    """The audience size of a notice not stored yet."""
    admin = _admin(request)
    spec = _spec(admin, await read_object(request, admin.tr))
    return json_response({"audience_size": await notices.count_audience(admin.sessions,
                                                                        spec.audience)})


async def listing(request: web.Request) -> web.Response:
    admin = _admin(request)
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
    admin = _admin(request)
    return json_response(await notice_report(admin.sessions, await _stored(request, admin)))


async def notice_report(sessions: Sessions, stored: notices.StoredNotice) -> dict[str, Any]:
    """A notice with what became of it (the admin API's and `dxbot notice show`'s view)."""
    size = await notices.count_audience(sessions, Audience.from_data(stored.audience))
    by_purpose = await deliveries.counts_by_purpose(sessions, stored.id)
    return {**notice_view(stored, size), "deliveries": by_purpose.pop("notice", {}),
            "personal_messages": by_purpose,
            "signups": await registrations.counts(sessions, stored.id)}


async def _change(request: web.Request, status: str) -> web.Response:
    admin = _admin(request)
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


def add_admin_routes(app: web.Application) -> None:
    admin = web.Application(middlewares=[json_errors])
    admin.router.add_post("/notices", create)
    admin.router.add_post("/notices/preview", preview_draft)
    admin.router.add_get("/notices", listing)
    admin.router.add_get("/notices/{id}", show)
    admin.router.add_post("/notices/{id}/schedule", schedule)
    admin.router.add_post("/notices/{id}/cancel", cancel)
    app.add_subapp(PREFIX, admin)
