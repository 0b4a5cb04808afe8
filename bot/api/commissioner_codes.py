"""Registering commissioners and issuing their one-time binding codes, for `dxbot commissioner`
and the admin API alike: the code is drawn here, only its digest is stored, and the caller
shows it once."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.commissioners import binding_code, code_digest, parse_name, parse_scope
from flows.i18n import N_
from flows.problems import Problem
from flows.profile import ProfileReference
from storage import commissioners
from storage.commissioners import StoredCommissioner
from storage.db import Sessions

MAX_VALID_HOURS = 24 * 30
DEFAULT_VALID_HOURS = 72


@dataclass(frozen=True)
class Issued:
    commissioner: StoredCommissioner
    code: str
    expires_at: datetime


def check_hours(hours: object) -> int | Problem:
    if isinstance(hours, bool) or not isinstance(hours, int) or not (
            1 <= hours <= MAX_VALID_HOURS):
        return Problem("valid_hours", N_("--valid-hours: from 1 to 720"), "valid_hours")
    return hours


def _code(now: datetime, hours: int) -> tuple[str, str, datetime]:
    code = binding_code(secrets.token_bytes(32))
    digest = code_digest(code)
    assert digest is not None
    return code, digest, now + timedelta(hours=hours)


async def register(sessions: Sessions, reference: ProfileReference, name: str,
                   cities: Sequence[str], counties: Sequence[str], hours: object,
                   now: datetime) -> Issued | list[Problem]:
    """A new commissioner and their first code, or every problem with what was given."""
    checked_name = parse_name(name)
    scope = parse_scope(cities, counties, reference)
    valid = check_hours(hours)
    if isinstance(checked_name, Problem) or isinstance(scope, list) or isinstance(valid, Problem):
        return ([p for p in (checked_name, valid) if isinstance(p, Problem)]
                + (scope if isinstance(scope, list) else []))
    code, digest, expires = _code(now, valid)
    stored = await commissioners.add(sessions, checked_name, scope, digest, expires, now)
    return Issued(stored, code, expires)


async def renew(sessions: Sessions, commissioner_id: int, hours: object,
                now: datetime) -> Issued | Problem | None:
    """A new code for a commissioner (the old one stops working); None: no such one."""
    valid = check_hours(hours)
    if isinstance(valid, Problem):
        return valid
    found = await commissioners.get(sessions, commissioner_id)
    code, digest, expires = _code(now, valid)
    if found is None or not await commissioners.new_code(sessions, commissioner_id, digest,
                                                         expires):
        return None
    return Issued(found, code, expires)
