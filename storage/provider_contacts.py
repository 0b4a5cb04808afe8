"""A provider's WeChat contact: the person of the Official Account told of every new 对接 lead
for the provider's solutions. Bound as commissioners are, with a one-time code the province
issues (only its digest kept, used once, before it expires); a person is the contact of one
provider at most, so a second provider's code moves them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from storage import binding_codes
from storage.db import Sessions
from storage.models import ServiceProvider


@dataclass(frozen=True)
class ProviderContact:
    provider_id: int
    credit_code: str
    name: str
    person_id: str | None  # None: no WeChat contact bound


def _stored(row: ServiceProvider) -> ProviderContact:
    return ProviderContact(row.id, row.credit_code, row.name, row.contact_person_id)


async def get(sessions: Sessions, provider_id: int) -> ProviderContact | None:
    async with sessions() as session:
        row = await session.get(ServiceProvider, provider_id)
        return None if row is None else _stored(row)


async def by_credit_code(sessions: Sessions, credit_code: str) -> ProviderContact | None:
    async with sessions() as session:
        row = (await session.scalars(select(ServiceProvider).where(
            ServiceProvider.credit_code == credit_code))).one_or_none()
        return None if row is None else _stored(row)


async def new_code(sessions: Sessions, provider_id: int, digest: str,
                   expires_at: datetime) -> bool:
    """A code for binding the provider's contact; an earlier code stops working (the contact
    bound so far stays until someone uses this one)."""
    async with sessions() as session:
        found = await binding_codes.set_code(session, ServiceProvider, provider_id, digest,
                                             expires_at)
        await session.commit()
        return found


async def bind(sessions: Sessions, digest: str, person_id: str,
               now: datetime) -> ProviderContact | None:
    """Use a code: the provider whose contact `person_id` now is, or None when no unexpired
    provider's code has this digest (nothing changed then)."""
    async with sessions() as session:
        found = await binding_codes.claim(session, ServiceProvider,
                                          ServiceProvider.contact_person_id, digest, person_id,
                                          now)
        if found is None:
            await session.rollback()
            return None
        await session.commit()
        row = await session.get(ServiceProvider, found)
        assert row is not None
        return _stored(row)


async def unbind(sessions: Sessions, provider_id: int) -> ProviderContact | None:
    """The provider without a WeChat contact (new leads wait in the list); None: no such
    provider. Unbinding again changes nothing."""
    async with sessions() as session:
        await session.execute(update(ServiceProvider).where(
            ServiceProvider.id == provider_id, ServiceProvider.contact_person_id.is_not(None))
            .values(contact_person_id=None))
        await session.commit()
    return await get(sessions, provider_id)
