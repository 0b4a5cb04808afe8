"""One-time binding codes as the province issues them, for commissioners and providers'
contacts alike: drawn here from `secrets`, valid for a number of hours, only the digest
stored; the caller shows the code once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.commissioners import binding_code, code_digest
from flows.i18n import N_
from flows.problems import Problem

MAX_VALID_HOURS = 24 * 30
DEFAULT_VALID_HOURS = 72


@dataclass(frozen=True)
class NewCode:
    code: str  # shown once, never stored
    digest: str
    expires_at: datetime


def check_hours(hours: object) -> int | Problem:
    if isinstance(hours, bool) or not isinstance(hours, int) or not (
            1 <= hours <= MAX_VALID_HOURS):
        return Problem("valid_hours", N_("--valid-hours: from 1 to 720"), "valid_hours")
    return hours


def draw(now: datetime, hours: int) -> NewCode:
    code = binding_code(secrets.token_bytes(32))
    digest = code_digest(code)
    assert digest is not None
    return NewCode(code, digest, now + timedelta(hours=hours))
