"""Who calls the admin API, from their bearer token: a province admin (DXBOT_ADMIN_TOKEN, or a
token from `dxbot token add`) sees and manages everything; a commissioner's token
(`dxbot token add --commissioner ID`) reaches their area's figures, export and nudges only.
Tokens are random; only their SHA-256 digests are stored, and a revoked one stops at once.
Every handler starts from `caller` (anyone with a valid token), `province_admin`, and for an
area `area_of`, which keeps a commissioner inside theirs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from bot.api.area_report import ReportContext
from bot.api.json_api import ApiError, problems_error
from flows.commissioners import Scope, area_text, parse_scope, split_names
from flows.i18n import Translator
from flows.pool_fields import PoolReference
from flows.profile import ProfileReference
from storage import api_tokens
from storage.db import Sessions

TOKEN_PREFIX = "dxt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    name: str
    scope: Scope | None  # None: the whole province
    commissioner_id: int | None = None

    @property
    def province(self) -> bool:
        return self.scope is None


async def principal_of(given: str, admin_token: str, sessions: Sessions) -> Principal | None:
    """The holder of `given`, or None when it is no valid token."""
    if admin_token and hmac.compare_digest(given.encode(), admin_token.encode()):
        return Principal("admin", None)
    if not given.startswith(TOKEN_PREFIX):
        return None
    holder = await api_tokens.holder(sessions, token_digest(given))
    if holder is None:
        return None
    return Principal(holder.name, holder.scope, holder.commissioner_id)


class AdminAPI:
    def __init__(self, token: str, sessions: Sessions, reference: ProfileReference,
                 tr: Translator, *, max_level: int, report: ReportContext,
                 reads: Sessions | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._token = token
        self.sessions = sessions
        # Figures, lists, files and audience counts (storage.db.create_read_engine).
        self.reads = sessions if reads is None else reads
        self.reference = reference
        self.tr = tr
        self.max_level = max_level
        self.report = report
        self.pool = PoolReference(reference, report.iset)
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    async def principal(self, request: web.Request) -> Principal:
        _ = self.tr.gettext
        scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
        found = (await principal_of(given.strip(), self._token, self.sessions)
                 if scheme.lower() == "bearer" and given.strip() else None)
        if found is not None:
            return found
        if not self._token and not await api_tokens.any_active(self.sessions):
            raise ApiError(403, "admin_disabled", _(
                "The admin API is off: set DXBOT_ADMIN_TOKEN to use it."))
        raise ApiError(401, "unauthorized", _("A valid admin token is required."))


ADMIN_KEY = web.AppKey("admin_api", AdminAPI)


async def caller(request: web.Request) -> tuple[AdminAPI, Principal]:
    admin = request.config_dict[ADMIN_KEY]
    return admin, await admin.principal(request)


async def province_admin(request: web.Request) -> AdminAPI:
    """The API for a province admin only."""
    admin, who = await caller(request)
    if not who.province:
        raise ApiError(403, "forbidden", admin.tr.gettext(
            "This is for province admins; a commissioner's token reaches their area's figures, "
            "lists, leads, export and nudges."))
    return admin


def area_of(admin: AdminAPI, who: Principal, request: web.Request) -> Scope | None:
    """The area asked for (`?cities=…&counties=…`), within the caller's: by default all of
    theirs. A commissioner asking beyond their area gets 403."""
    _ = admin.tr.gettext
    cities = split_names(request.query.get("cities", ""))
    counties = split_names(request.query.get("counties", ""))
    if not cities and not counties:
        return who.scope
    if not cities and who.scope is not None:
        cities = list(who.scope.cities)
    parsed = parse_scope(cities, counties, admin.reference)
    if isinstance(parsed, list):
        raise problems_error(parsed, admin.tr)
    if who.scope is not None and not who.scope.includes(parsed):
        raise ApiError(403, "outside_area", _("That is outside your area ({area}).").format(
            area=area_text(who.scope)))
    return parsed
