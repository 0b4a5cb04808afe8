"""Where the enterprises of an area stand: not started, in progress (answered k of N, last
active) or submitted (latest level and date), counted and listed for a commissioner's scope.

An enterprise has submitted once any submission is archived for it; it is in progress while a
draft naming its credit code was touched within the draft's lifetime; otherwise not started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import aliased

from flows.commissioners import Scope
from flows.statuses import STATUSES, Status
from storage.activity import DRAFT_LIFETIME
from storage.db import Sessions
from storage.models import DraftActivity, Enterprise, Submission


@dataclass(frozen=True)
class ScopeProgress:
    total: int
    by_status: dict[Status, int]  # every status, zero included
    levels: dict[int, int]  # latest preliminary level -> enterprises that submitted


@dataclass(frozen=True)
class EnterpriseStatus:
    credit_code: str
    name: str
    city: str
    county: str
    status: Status
    answered: int | None  # in progress: of `total`
    total: int | None
    last_active_at: datetime | None
    level: int | None  # submitted: the latest
    level_name: str | None
    submitted_at: datetime | None
    contact_name: str | None = None  # from the roster
    contact_mobile: str | None = None


def latest_submission(column: Any) -> Any:
    """`column` of the enterprise's latest submission, as a correlated subquery."""
    return (select(column).where(Submission.enterprise_id == Enterprise.id)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(1).scalar_subquery())


@dataclass(frozen=True)
class _Joined:
    """Enterprises with their latest submission (`s`) and their latest live draft (`d`)
    joined on, each looked up once per enterprise, and the status they give."""

    s: Any
    d: Any
    live_draft: Any  # whose live draft names the enterprise, newest first
    status: Any

    def select(self, *columns: Any) -> Any:
        return (select(*columns).select_from(Enterprise)
                .outerjoin(self.s, self.s.id == latest_submission(Submission.id))
                .outerjoin(self.d, self.d.person_id == self.live_draft))


def _joined(now: datetime) -> _Joined:
    s, d = aliased(Submission), aliased(DraftActivity)
    live_draft = (select(DraftActivity.person_id)
                  .where(DraftActivity.credit_code == Enterprise.credit_code,
                         DraftActivity.last_active_at > now - DRAFT_LIFETIME)
                  .order_by(DraftActivity.last_active_at.desc()).limit(1).scalar_subquery())
    status = case((s.id.is_not(None), "submitted"), (d.person_id.is_not(None), "in_progress"),
                  else_="not_started")
    return _Joined(s, d, live_draft, status)


def in_scope(scope: Scope | None) -> Any:
    """The enterprises of `scope` (None: all)."""
    if scope is None:
        return true()
    condition: ColumnElement[bool] = Enterprise.city.in_(scope.cities)
    if scope.counties:
        condition = and_(condition, Enterprise.county.in_(scope.counties))
    return condition


async def progress(sessions: Sessions, scope: Scope | None, now: datetime) -> ScopeProgress:
    j = _joined(now)
    inner = (j.select(j.status.label("status"), j.s.level.label("level"))
             .where(in_scope(scope)).subquery())
    async with sessions() as session:
        rows = (await session.execute(select(inner.c.status, inner.c.level, func.count())
                                      .group_by(inner.c.status, inner.c.level))).all()
    by_status = dict.fromkeys(STATUSES, 0)
    levels: dict[int, int] = {}
    for status, level, n in rows:
        by_status[status] += n
        if level is not None:
            levels[int(level)] = levels.get(int(level), 0) + n
    return ScopeProgress(sum(by_status.values()), by_status, dict(sorted(levels.items())))


@dataclass(frozen=True)
class Filters:
    """Narrowing a list within its scope: each None (or "") leaves it open."""

    county: str | None = None
    industry: str | None = None  # a section ("C")
    level: int | None = None  # the latest submission's
    search: str | None = None  # part of the name, or the start of the credit code


async def listing(sessions: Sessions, scope: Scope | None, status: Status | None,
                  now: datetime, *, offset: int = 0, limit: int = 10,
                  filters: Filters | None = None) -> tuple[list[EnterpriseStatus], int]:
    """One page of the enterprises in `scope` (None: all) with `status` (by name; None: any),
    narrowed by `filters`, and how many there are. The latest submission's and the latest
    draft's facts come in the same query."""
    j = _joined(now)
    inner = j.select(
        Enterprise.credit_code, Enterprise.name, Enterprise.city, Enterprise.county,
        Enterprise.contact_name, Enterprise.contact_mobile, j.status.label("status"),
        j.d.answered, j.d.total, j.d.last_active_at, j.s.level, j.s.level_name,
        j.s.submitted_at,
    ).where(in_scope(scope), *_narrowed(filters or Filters())).subquery()
    chosen = select(inner) if status is None else select(inner).where(inner.c.status == status)
    if filters is not None and filters.level is not None:
        chosen = chosen.where(inner.c.level == filters.level)
    async with sessions() as session:
        total = int((await session.execute(
            select(func.count()).select_from(chosen.subquery()))).scalar_one())
        page = (await session.execute(
            chosen.order_by(inner.c.name, inner.c.credit_code).offset(offset).limit(limit))
                ).all()
    found = []
    for row in page:
        draft = row.status == "in_progress"  # a draft of a submitted enterprise is not shown
        found.append(EnterpriseStatus(
            row.credit_code, row.name, row.city, row.county, row.status,
            answered=row.answered if draft else None, total=row.total if draft else None,
            last_active_at=row.last_active_at if draft else None,
            level=row.level, level_name=row.level_name,
            submitted_at=row.submitted_at, contact_name=row.contact_name,
            contact_mobile=row.contact_mobile))
    return found, total


def _narrowed(filters: Filters) -> list[Any]:
    conditions: list[Any] = []
    if filters.county:
        conditions.append(Enterprise.county == filters.county)
    if filters.industry:
        conditions.append(Enterprise.industry == filters.industry)
    if filters.search:
        text = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(or_(Enterprise.name.like(f"%{text}%", escape="\\"),
                              Enterprise.credit_code.like(f"{text.upper()}%", escape="\\")))
    return conditions


@dataclass(frozen=True)
class EnterpriseDetail:
    """An enterprise with its profile, status and latest submission, for the statistics and
    the export."""

    credit_code: str
    name: str
    city: str
    county: str
    industry: str
    industry_division: str | None
    employees: int | None
    contact_name: str | None
    contact_mobile: str | None
    in_roster: bool
    status: Status
    answered: int | None  # in progress: of `questions`
    questions: int | None
    last_active_at: datetime | None
    level: int | None
    level_name: str | None
    scores: dict[str, Decimal] | None  # total and the three dimensions
    scene_levels: dict[str, int] | None
    started_at: datetime | None  # the latest submission's
    submitted_at: datetime | None
    first_seen_at: datetime


async def details(sessions: Sessions, scope: Scope | None, now: datetime, *,
                  batch: int = 1000) -> AsyncIterator[list[EnterpriseDetail]]:
    """Every enterprise in `scope` (None: all), by credit code, in batches (keyset pages):
    one batch in memory at a time."""
    j = _joined(now)
    s, d = j.s, j.d
    query = j.select(
        Enterprise.credit_code, Enterprise.name, Enterprise.city, Enterprise.county,
        Enterprise.industry, Enterprise.industry_division, Enterprise.employees,
        Enterprise.contact_name, Enterprise.contact_mobile, Enterprise.in_roster,
        Enterprise.created_at, j.status.label("status"), d.answered,
        d.total.label("questions"), d.last_active_at, s.level, s.level_name, s.total,
        s.foundation, s.management, s.effectiveness, s.scene_levels, s.started_at,
        s.submitted_at).where(in_scope(scope))
    after = ""
    while True:
        async with sessions() as session:
            rows = (await session.execute(query.where(Enterprise.credit_code > after)
                                          .order_by(Enterprise.credit_code).limit(batch))).all()
        if not rows:
            return
        yield [_detail(row) for row in rows]
        after = rows[-1].credit_code


def _detail(row: Any) -> EnterpriseDetail:
    submitted = row.submitted_at is not None
    draft = row.status == "in_progress"
    return EnterpriseDetail(
        credit_code=row.credit_code, name=row.name, city=row.city, county=row.county,
        industry=row.industry, industry_division=row.industry_division,
        employees=row.employees, contact_name=row.contact_name,
        contact_mobile=row.contact_mobile, in_roster=bool(row.in_roster), status=row.status,
        answered=row.answered if draft else None, questions=row.questions if draft else None,
        last_active_at=row.last_active_at if draft else None,
        level=row.level, level_name=row.level_name,
        scores={"total": row.total, "foundation": row.foundation,
                "management": row.management, "effectiveness": row.effectiveness}
        if submitted else None,
        scene_levels={k: int(v) for k, v in row.scene_levels.items()} if submitted else None,
        started_at=row.started_at, submitted_at=row.submitted_at,
        first_seen_at=row.created_at)
