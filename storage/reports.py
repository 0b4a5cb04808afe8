"""What an owner's report is made of: one submission as stored, the enterprise's submission
before it, and how the enterprise's peers stand (counts only: never a name, never a row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import aliased

from storage.db import Sessions, dialect_of, execute_alone
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
    their total is below `of`'s), from the archive's current profiles: one pass over the
    enterprises of every group together. Each one's latest submission is looked up by its index
    on SQLite, in process; PostgreSQL picks it with a window instead, where a lookup per
    enterprise costs twice as much (10,000 enterprises: 42 ms against 20 ms, SQLite 24 ms
    against 33 ms)."""
    if not groups:
        return []
    anywhere = or_(*(_member(group, Enterprise) for group in groups))
    profile = (Enterprise.city, Enterprise.county, Enterprise.industry,
               Enterprise.industry_division)
    if dialect_of(sessions) == "postgresql":
        newest_first = func.row_number().over(
            partition_by=Submission.enterprise_id,
            order_by=(Submission.submitted_at.desc(), Submission.id.desc()))
        candidates = (
            select(Submission.level, Submission.total, *profile, newest_first.label("rank"))
            .join(Enterprise, Enterprise.id == Submission.enterprise_id)
            .where(Enterprise.id != of.enterprise_id, anywhere).subquery())
        latest_only = candidates.c.rank == 1
    else:
        mine = aliased(Submission)  # the enterprise's own submissions, for its latest
        latest = (select(mine.id).where(mine.enterprise_id == Enterprise.id)
                  .order_by(mine.submitted_at.desc(), mine.id.desc())
                  .limit(1).correlate(Enterprise).scalar_subquery())
        candidates = (
            select(Submission.level, Submission.total, *profile).select_from(Enterprise)
            .join(Submission, Submission.id == latest)
            .where(Enterprise.id != of.enterprise_id, anywhere).subquery())
        latest_only = true()
    c = candidates.c
    below = c.total < of.total
    columns = []
    for group in groups:
        member = _member(group, c)
        columns += [func.sum(case((member, 1), else_=0)),
                    func.sum(case((member & below, 1), else_=0))]
    rows = await execute_alone(sessions, select(c.level, *columns).where(latest_only)
                               .group_by(c.level))
    return [PeerCounts(by_level={int(r[0]): int(r[1 + 2 * i]) for r in rows
                                 if int(r[1 + 2 * i])},
                       below=sum(int(r[2 + 2 * i]) for r in rows))
            for i in range(len(groups))]


def _member(group: PeerGroup, columns: Any) -> Any:
    """Whether a row of `columns` (the enterprises' table, or a subquery with its columns)
    is an enterprise of `group`."""
    conditions: list[Any] = []
    if group.industry is not None:
        conditions.append((columns.industry_division if len(group.industry) > 1
                           else columns.industry) == group.industry)
    if group.city is not None:
        conditions.append(columns.city == group.city)
    if group.county is not None:
        conditions.append(columns.county == group.county)
    return and_(true(), *conditions)


def _submission(row: Any) -> ReportSubmission:
    return ReportSubmission(
        id=row.id, enterprise_id=row.enterprise_id, credit_code=row.credit_code,
        profile=row.profile, indicator_set=row.indicator_set, answers=row.answers,
        total=row.total, level=row.level, level_name=row.level_name, result=row.result,
        submitted_at=row.submitted_at)
