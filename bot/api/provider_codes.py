"""Issuing the one-time code that binds a provider's WeChat contact, for `dxbot solutions
provider-code` and the admin API alike: drawn by `bot.api.binding_codes` (valid as long as a
commissioner's), only its digest stored, a new code replacing the old; the caller shows it
once, and the contact sends it as `绑定 CODE` in the Official Account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.api.binding_codes import check_hours, draw
from flows.problems import Problem
from storage import provider_contacts
from storage.db import Sessions
from storage.provider_contacts import ProviderContact


@dataclass(frozen=True)
class Issued:
    provider: ProviderContact
    code: str
    expires_at: datetime


async def issue(sessions: Sessions, provider_id: int, hours: object,
                now: datetime) -> Issued | Problem | None:
    """A code for the provider's contact (an earlier one stops working); None: no such
    provider."""
    valid = check_hours(hours)
    if isinstance(valid, Problem):
        return valid
    found = await provider_contacts.get(sessions, provider_id)
    new = draw(now, valid)
    if found is None or not await provider_contacts.new_code(sessions, provider_id, new.digest,
                                                             new.expires_at):
        return None
    return Issued(found, new.code, new.expires_at)
