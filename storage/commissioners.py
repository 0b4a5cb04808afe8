"""Digital commissioners in the database: added with a one-time binding code, bound to a
WeChat person by that code (once, before it expires), looked up by person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from flows.commissioners import Scope
from storage import binding_codes
from storage.db import Sessions, execute_alone
from storage.models import Commissioner


@dataclass(frozen=True)
class StoredCommissioner:
    id: int
    name: str
    scope: Scope
    person_id: str | None
    bound_at: datetime | None


def _stored(row: Commissioner) -> StoredCommissioner:
    return StoredCommissioner(row.id, row.name, Scope.from_data(row.scope), row.person_id,
                              row.bound_at)


async def add(sessions: Sessions, name: str, scope: Scope, digest: str, expires_at: datetime,
              now: datetime) -> StoredCommissioner:
    async with sessions() as session:
        row = Commissioner(name=name, scope=scope.as_data(), code_digest=digest,
                           code_expires_at=expires_at, created_at=now)
        session.add(row)
        await session.commit()
        return _stored(row)


async def new_code(sessions: Sessions, commissioner_id: int, digest: str,
                   expires_at: datetime) -> bool:
    """A fresh code for (re)binding, e.g. after a phone change; the old one stops working."""
    async with sessions() as session:
        found = await binding_codes.set_code(session, Commissioner, commissioner_id, digest,
                                             expires_at)
        await session.commit()
        return found


async def bind(sessions: Sessions, digest: str, person_id: str,
               now: datetime) -> StoredCommissioner | None:
    """Use a code: the commissioner now bound to `person_id`, or None when no unexpired code
    has this digest. A person is one commissioner at most: an earlier binding of theirs ends."""
    async with sessions() as session:
        found = await binding_codes.claim(session, Commissioner, Commissioner.person_id, digest,
                                          person_id, now, bound={"bound_at": now},
                                          unbound={"bound_at": None})
        if found is None:
            await session.rollback()
            return None
        await session.commit()
        row = await session.get(Commissioner, found)
        assert row is not None
        return _stored(row)


async def of_person(sessions: Sessions, person_id: str) -> StoredCommissioner | None:
    async with sessions() as session:
        row = (await session.scalars(select(Commissioner).where(
            Commissioner.person_id == person_id))).one_or_none()
        return None if row is None else _stored(row)


async def get(sessions: Sessions, commissioner_id: int) -> StoredCommissioner | None:
    async with sessions() as session:
        row = await session.get(Commissioner, commissioner_id)
        return None if row is None else _stored(row)


async def bound_people(sessions: Sessions) -> set[str]:
    rows = await execute_alone(sessions, select(Commissioner.person_id).where(
        Commissioner.person_id.is_not(None)))
    return {row[0] for row in rows}


async def listing(sessions: Sessions) -> list[StoredCommissioner]:
    async with sessions() as session:
        return [_stored(row) for row in await session.scalars(
            select(Commissioner).order_by(Commissioner.id))]
