"""One enterprise's file (一企一档) as the console shows it: the profile and contact, every
submission, drafts in progress (how far, when; never whose), the latest 催办, the sign-ups of
its people, its leads. Only within a scope: outside it the enterprise does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from flows.commissioners import Scope
from storage.activity import DRAFT_LIFETIME
from storage.db import Sessions
from storage.enterprise_status import in_scope
from storage.models import (
    DraftActivity,
    Enterprise,
    EnterpriseNudge,
    Lead,
    Notice,
    Person,
    PoolSolution,
    Registration,
    Submission,
)


@dataclass(frozen=True)
class FileSubmission:
    id: int
    submitted_at: datetime
    channel: str
    level_name: str
    total: Decimal
    foundation: Decimal
    management: Decimal
    effectiveness: Decimal


@dataclass(frozen=True)
class FileDraft:
    answered: int
    total: int
    last_active_at: datetime


@dataclass(frozen=True)
class FileSignUp:
    title: str
    starts_at: datetime
    status: str  # registered | waitlisted | cancelled


@dataclass(frozen=True)
class FileLead:
    id: int
    solution: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class EnterpriseFile:
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
    submissions: tuple[FileSubmission, ...]  # newest first
    drafts: tuple[FileDraft, ...]  # live ones, the latest first
    nudged_at: datetime | None
    sign_ups: tuple[FileSignUp, ...]
    leads: tuple[FileLead, ...]


async def enterprise_file(sessions: Sessions, credit_code: str, scope: Scope | None,
                          now: datetime) -> EnterpriseFile | None:
    async with sessions() as session:
        e = (await session.execute(select(Enterprise).where(
            Enterprise.credit_code == credit_code, in_scope(scope)))).scalar_one_or_none()
        if e is None:
            return None
        submissions = (await session.execute(
            select(Submission.id, Submission.submitted_at, Submission.channel,
                   Submission.level_name, Submission.total, Submission.foundation,
                   Submission.management, Submission.effectiveness)
            .where(Submission.enterprise_id == e.id)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc()))).all()
        drafts = (await session.execute(
            select(DraftActivity.answered, DraftActivity.total, DraftActivity.last_active_at)
            .where(DraftActivity.credit_code == credit_code,
                   DraftActivity.last_active_at > now - DRAFT_LIFETIME)
            .order_by(DraftActivity.last_active_at.desc()))).all()
        nudged_at = (await session.execute(select(EnterpriseNudge.nudged_at).where(
            EnterpriseNudge.enterprise_id == e.id))).scalar_one_or_none()
        sign_ups = (await session.execute(
            select(Notice.title, Notice.starts_at, Registration.status)
            .join(Notice, Notice.id == Registration.notice_id)
            .join(Person, Person.id == Registration.person_id)
            .where(Person.enterprise_id == e.id)
            .order_by(Notice.starts_at.desc()).limit(50))).all()
        leads = (await session.execute(
            select(Lead.id, PoolSolution.title, Lead.status, Lead.created_at)
            .join(PoolSolution, PoolSolution.id == Lead.solution_id)
            .where(Lead.enterprise_id == e.id).order_by(Lead.created_at.desc()))).all()
    return EnterpriseFile(
        credit_code=e.credit_code, name=e.name, city=e.city, county=e.county,
        industry=e.industry, industry_division=e.industry_division, employees=e.employees,
        contact_name=e.contact_name, contact_mobile=e.contact_mobile, in_roster=e.in_roster,
        submissions=tuple(FileSubmission(*row) for row in submissions),
        drafts=tuple(FileDraft(*row) for row in drafts), nudged_at=nudged_at,
        sign_ups=tuple(FileSignUp(*row) for row in sign_ups),
        leads=tuple(FileLead(*row) for row in leads))
