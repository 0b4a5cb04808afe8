"""Links to a submission's report page (`/r/<token>`): only the token's SHA-256 digest is kept,
so the table cannot be turned back into working links; a link stops at its expiry, or at once
when the submission's links are revoked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from storage.db import Sessions, execute_alone
from storage.models import ReportLink


async def add(sessions: Sessions, submission_id: int, digest: str, now: datetime,
              expires_at: datetime) -> None:
    async with sessions() as session:
        session.add(ReportLink(digest=digest, submission_id=submission_id, created_at=now,
                               expires_at=expires_at))
        await session.commit()


async def submission_of(sessions: Sessions, digest: str, now: datetime) -> int | None:
    """The submission the link with this digest opens, unless it expired or was revoked."""
    rows = await execute_alone(sessions, select(ReportLink.submission_id).where(
        ReportLink.digest == digest, ReportLink.revoked_at.is_(None),
        ReportLink.expires_at > now))
    return int(rows[0].submission_id) if rows else None


async def revoke(sessions: Sessions, submission_id: int, now: datetime) -> int:
    """Stop every live link to the submission's report; how many there were."""
    async with sessions() as session:
        result = await session.execute(update(ReportLink).where(
            ReportLink.submission_id == submission_id, ReportLink.revoked_at.is_(None),
            ReportLink.expires_at > now).values(revoked_at=now))
        await session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]
