"""Registering commissioners and issuing their one-time binding codes, for `dxbot commissioner`
and the admin API alike: the code is drawn by `bot.api.binding_codes`, only its digest is
stored, and the caller shows it once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.api.binding_codes import check_hours, draw
from flows.commissioners import parse_name, parse_scope
from flows.problems import Problem
from flows.profile import ProfileReference
from storage import commissioners
from storage.commissioners import StoredCommissioner
from storage.db import Sessions


@dataclass(frozen=True)
class Issued:
    commissioner: StoredCommissioner
    code: str
    expires_at: datetime


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
    new = draw(now, valid)
    stored = await commissioners.add(sessions, checked_name, scope, new.digest, new.expires_at,
                                     now)
    return Issued(stored, new.code, new.expires_at)


async def renew(sessions: Sessions, commissioner_id: int, hours: object,
                now: datetime) -> Issued | Problem | None:
    """A new code for a commissioner (the old one stops working); None: no such one."""
    valid = check_hours(hours)
    if isinstance(valid, Problem):
        return valid
    found = await commissioners.get(sessions, commissioner_id)
    new = draw(now, valid)
    if found is None or not await commissioners.new_code(sessions, commissioner_id, new.digest,
                                                         new.expires_at):
        return None
    return Issued(found, new.code, new.expires_at)
