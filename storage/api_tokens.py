"""Bearer tokens for the admin API, kept as SHA-256 digests: a province admin's (the whole
province) or a commissioner's (their area, read from the commissioner at every request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from flows.commissioners import Scope
from storage.db import Sessions
from storage.models import ApiToken, Commissioner


@dataclass(frozen=True)
class TokenHolder:
    token_id: int
    name: str
    role: str
    commissioner_id: int | None
    scope: Scope | None  # None: the whole province


@dataclass(frozen=True)
class StoredToken:
    id: int
    name: str
    role: str
    commissioner_id: int | None
    created_at: datetime
    revoked_at: datetime | None


async def add(sessions: Sessions, name: str, digest: str, now: datetime, *,
              commissioner_id: int | None = None) -> int:
    async with sessions() as session:
        row = ApiToken(name=name, role="province" if commissioner_id is None else "commissioner",
                       commissioner_id=commissioner_id, digest=digest, created_at=now)
        session.add(row)
        await session.commit()
        return row.id


async def holder(sessions: Sessions, digest: str) -> TokenHolder | None:
    """Who holds the token with this digest, unless it was revoked."""
    async with sessions() as session:
        row = (await session.execute(
            select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.commissioner_id,
                   Commissioner.scope)
            .outerjoin(Commissioner, Commissioner.id == ApiToken.commissioner_id)
            .where(ApiToken.digest == digest, ApiToken.revoked_at.is_(None)))).one_or_none()
    if row is None:
        return None
    if row.role == "commissioner":
        if row.scope is None:
            return None
        return TokenHolder(row.id, row.name, row.role, row.commissioner_id,
                           Scope.from_data(row.scope))
    return TokenHolder(row.id, row.name, row.role, None, None)


async def revoke(sessions: Sessions, token_id: int, now: datetime) -> bool:
    async with sessions() as session:
        result = await session.execute(update(ApiToken).where(
            ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))
        await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def listing(sessions: Sessions) -> list[StoredToken]:
    async with sessions() as session:
        rows = await session.scalars(select(ApiToken).order_by(ApiToken.id))
        return [StoredToken(r.id, r.name, r.role, r.commissioner_id, r.created_at,
                            r.revoked_at) for r in rows]


async def any_active(sessions: Sessions) -> bool:
    async with sessions() as session:
        found = await session.execute(select(ApiToken.id).where(ApiToken.revoked_at.is_(None))
                                      .limit(1))
        return found.first() is not None
