"""What an owner's report is made of: one submission as stored, the enterprise's submission
before it, and how the enterprise's peers stand (counts only: never a name, never a row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from storage.db import Sessions, execute_alone
from storage.enterprise_status import latest_submission
from storage.models import Enterprise, Submission


@dataclass(frozen=True)
class ReportSubmission:
    id: int
    enterprise_id: int
    credit_code: str
    profile: dict[str, Any]  # as submitted: name, city, county, industry, division, employees
    indicator_set: str
    answers: dict[str, Any]
    total: Decimal
    level: int
    level_name: str
    result: dict[str, Any]  # flows.results.assessment_data, as stored
    submitted_at: datetime


@dataclass(frozen=True)
class PeerCounts:
    """The latest submissions of a group's other enterprises: how many at each level, and how
    many of them scored less than this submission."""

    by_level: dict[int, int]
    below: int

    @property
    def size(self) -> int:
        return sum(self.by_level.values())


@dataclass(frozen=True)
class PeerGroup:
    """Enterprises sharing `industry` (a section or division code; None: any) and where they are
    (`city`, and `county` within it; None: anywhere)."""

    industry: str | None = None
    city: str | None = None
    county: str | None = None


_COLUMNS = (Submission.id, Submission.enterprise_id, Enterprise.credit_code, Submission.profile,
            Submission.indicator_set, Submission.answers, Submission.total, Submission.level,
            Submission.level_name, Submission.result, Submission.submitted_at)


async def submission(sessions: Sessions, submission_id: int) -> ReportSubmission | None:
    rows = await execute_alone(sessions, select(*_COLUMNS).join(
        Enterprise, Enterprise.id == Submission.enterprise_id).where(
        Submission.id == submission_id))
    return _submission(rows[0]) if rows else None


async def previous(sessions: Sessions, of: ReportSubmission) -> ReportSubmission | None:
    """The enterprise's submission just before `of` (None: it was the first)."""
    earlier = (Submission.submitted_at < of.submitted_at) | (
        (Submission.submitted_at == of.submitted_at) & (Submission.id < of.id))
    rows = await execute_alone(sessions, select(*_COLUMNS).join(
        Enterprise, Enterprise.id == Submission.enterprise_id).where(
        Submission.enterprise_id == of.enterprise_id, earlier).order_by(
        Submission.submitted_at.desc(), Submission.id.desc()).limit(1))
    return _submission(rows[0]) if rows else None


async def peer_counts(sessions: Sessions, of: ReportSubmission,
                      groups: Sequence[PeerGroup]) -> list[PeerCounts]:
    """For each group, the other enterprises' latest submissions (their level, and whether
    their total is below `of`'s), from the archive's current profiles."""
    counted = []
    for group in groups:
        latest_total = latest_submission(Submission.total)
        members = select(latest_total.label("total"),
                         latest_submission(Submission.level).label("level")).where(
            Enterprise.id != of.enterprise_id)
        if group.industry is not None:
            column = (Enterprise.industry_division if len(group.industry) > 1
                      else Enterprise.industry)
            members = members.where(column == group.industry)
        if group.city is not None:
            members = members.where(Enterprise.city == group.city)
        if group.county is not None:
            members = members.where(Enterprise.county == group.county)
        inner = members.subquery()
        rows = await execute_alone(sessions, select(
            inner.c.level, func.count(), func.sum(case((inner.c.total < of.total, 1), else_=0)),
        ).where(inner.c.level.is_not(None)).group_by(inner.c.level))
        counted.append(PeerCounts(by_level={int(r[0]): int(r[1]) for r in rows},
                                  below=sum(int(r[2] or 0) for r in rows)))
    return counted


def _submission(row: Any) -> ReportSubmission:
    return ReportSubmission(
        id=row.id, enterprise_id=row.enterprise_id, credit_code=row.credit_code,
        profile=row.profile, indicator_set=row.indicator_set, answers=row.answers,
        total=row.total, level=row.level, level_name=row.level_name, result=row.result,
        submitted_at=row.submitted_at)
