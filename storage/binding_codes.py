"""One-time binding codes in the database, whatever they bind a WeChat person to: a digital
commissioner, or a provider of the solution pool (its contact). A row keeps only the code's
SHA-256 digest and when it expires; using the code is one statement, so two people with the
same code cannot both bind, and a used code is gone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.db import Sessions
from storage.models import Commissioner, ServiceProvider

Coded: TypeAlias = type[Commissioner] | type[ServiceProvider]
CODED: tuple[Coded, ...] = (Commissioner, ServiceProvider)


async def set_code(session: AsyncSession, model: Coded, row_id: int, digest: str,
                   expires_at: datetime) -> bool:
    """A fresh code for the row (the old one stops working); False: no such row."""
    result = await session.execute(update(model).where(model.id == row_id).values(
        code_digest=digest, code_expires_at=expires_at))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim(session: AsyncSession, model: Coded, person: InstrumentedAttribute[str | None],
                digest: str, person_id: str, now: datetime, *,
                bound: Mapping[str, Any] | None = None,
                unbound: Mapping[str, Any] | None = None) -> int | None:
    """Use the code: the row whose unexpired code has `digest` is now `person_id`'s (its
    `person` column, and the `bound` values), and the code is spent. Returns the row's id, or
    None when there is no such code; the caller then rolls back, since a person holds one row
    of a kind at most and their earlier one (which `unbound` clears) ended first."""
    await session.execute(update(model).where(
        person == person_id, or_(model.code_digest.is_(None), model.code_digest != digest))
        .values({person.key: None, **(unbound or {})}))
    result = await session.execute(
        update(model).where(model.code_digest == digest, model.code_expires_at > now)
        .values({person.key: person_id, "code_digest": None, "code_expires_at": None,
                 **(bound or {})})
        .returning(model.id))
    return result.scalar_one_or_none()


async def expired(sessions: Sessions, digest: str, now: datetime) -> bool:
    """Whether `digest` is of a code that was issued and has run out (rather than one mistyped,
    used or replaced): the person is then told to ask for a new one."""
    async with sessions() as session:
        for model in CODED:
            found = await session.scalar(select(model.id).where(
                model.code_digest == digest, model.code_expires_at <= now))
            if found is not None:
                return True
    return False
