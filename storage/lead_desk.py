"""The lead desk (供需对接 and 一项一档) in the database: the leads and projects of an area,
listed, read and changed by province admins and commissioners, and their statistics.

Scope is applied in every statement: a lead or project outside the caller's area is not found
(the API answers 404), whatever its id. A change names the version it was made on and is
written with a compare-and-set on it, so of two changes made on one version only the first is
kept; the other gets the record as it is now (`Stale`).

A project's "after" is the enterprise's first submission on or after the project's actual end
(Beijing date): the re-assessment links itself, nobody has to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.beijing_time import BEIJING
from flows.commissioners import Scope
from flows.leads import (
    LEAD_STATUSES,
    OPEN_STATUSES,
    Assessed,
    LeadChange,
    LeadStatus,
    ProjectOutcome,
    ProjectPlan,
    as_lead_status,
    outcome,
)
from storage.db import Sessions
from storage.enterprise_status import in_scope
from storage.models import Enterprise, Lead, PoolSolution, Project, ServiceProvider, Submission

EXPORT_BATCH = 1000
GROUPINGS = ("solution", "provider", "scene", "city", "industry")


@dataclass(frozen=True)
class LeadEnterprise:
    credit_code: str
    name: str
    city: str
    county: str
    industry: str
    industry_division: str | None


@dataclass(frozen=True)
class StoredLead:
    id: int
    status: LeadStatus
    version: int
    enterprise: LeadEnterprise
    solution_id: int
    solution_title: str
    solution_lifts: Mapping[str, int]
    provider_id: int
    provider_name: str
    channel: str
    mobile: str
    consented_at: datetime
    closed_reason: str | None
    notified_at: datetime | None
    created_at: datetime
    updated_at: datetime
    project_id: int | None


@dataclass(frozen=True)
class StoredProject:
    id: int
    lead_id: int
    version: int
    enterprise: LeadEnterprise
    solution_id: int
    solution_title: str
    provider_id: int
    provider_name: str
    plan: ProjectPlan
    outcome: ProjectOutcome
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LeadFilter:
    """What a lead list narrows to; None does not narrow."""

    status: LeadStatus | None = None
    open_only: bool = False
    solution_id: int | None = None
    provider_id: int | None = None
    industry: str | None = None  # a section ("C") or a division ("C13")
    q: str | None = None  # part of the enterprise's name, or its credit code


@dataclass(frozen=True)
class Stale:
    """The change was made on an older version: the record as it is now."""

    current: Any  # StoredLead or StoredProject


@dataclass(frozen=True)
class Missing:
    """The change cannot be kept: `reason` is a stable code for the API."""

    reason: str


def _enterprise(row: Any) -> LeadEnterprise:
    return LeadEnterprise(row.credit_code, row.enterprise_name, row.city, row.county,
                          row.industry, row.industry_division)


_ENTERPRISE = (Enterprise.credit_code, Enterprise.name.label("enterprise_name"), Enterprise.city,
               Enterprise.county, Enterprise.industry, Enterprise.industry_division)


def _lead_query(scope: Scope | None) -> Select[Any]:
    return (select(Lead, *_ENTERPRISE, PoolSolution.title, PoolSolution.lifts,
                   PoolSolution.provider_id, ServiceProvider.name.label("provider_name"),
                   Project.id.label("project_id"))
            .join(Enterprise, Enterprise.id == Lead.enterprise_id)
            .join(PoolSolution, PoolSolution.id == Lead.solution_id)
            .join(ServiceProvider, ServiceProvider.id == PoolSolution.provider_id)
            .outerjoin(Project, Project.lead_id == Lead.id)
            .where(in_scope(scope)))


def _stored_lead(row: Any) -> StoredLead:
    lead: Lead = row.Lead
    status = as_lead_status(lead.status)
    assert status is not None, lead.status
    return StoredLead(
        id=lead.id, status=status, version=lead.version, enterprise=_enterprise(row),
        solution_id=lead.solution_id, solution_title=row.title,
        solution_lifts=dict(row.lifts), provider_id=row.provider_id,
        provider_name=row.provider_name, channel=lead.channel, mobile=lead.mobile,
        consented_at=lead.consented_at, closed_reason=lead.closed_reason,
        notified_at=lead.notified_at, created_at=lead.created_at, updated_at=lead.updated_at,
        project_id=row.project_id)


def _industry_condition(industry: str) -> Any:
    if len(industry) == 1:
        return Enterprise.industry == industry
    return (Enterprise.industry == industry[0]) & (
        Enterprise.industry_division == industry)


def _filtered(query: Select[Any], f: LeadFilter) -> Select[Any]:
    if f.status is not None:
        query = query.where(Lead.status == f.status)
    if f.open_only:
        query = query.where(Lead.status != "closed")
    if f.solution_id is not None:
        query = query.where(Lead.solution_id == f.solution_id)
    if f.provider_id is not None:
        query = query.where(PoolSolution.provider_id == f.provider_id)
    if f.industry is not None:
        query = query.where(_industry_condition(f.industry))
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Enterprise.name.like(pattern, escape="\\"),
                                Enterprise.credit_code == f.q.upper()))
    return query


async def lead_list(sessions: Sessions, scope: Scope | None, f: LeadFilter, *, offset: int,
                    limit: int) -> tuple[list[StoredLead], int]:
    """A page of the area's leads, newest first, and how many match in all."""
    query = _filtered(_lead_query(scope), f)
    async with sessions() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await session.execute(
            query.order_by(Lead.created_at.desc(), Lead.id.desc()).offset(offset).limit(limit)
        )).all()
    return [_stored_lead(r) for r in rows], int(total or 0)


async def _lead(session: AsyncSession, lead_id: int, scope: Scope | None) -> StoredLead | None:
    row = (await session.execute(_lead_query(scope).where(Lead.id == lead_id))).one_or_none()
    return None if row is None else _stored_lead(row)


async def lead_get(sessions: Sessions, lead_id: int, scope: Scope | None) -> StoredLead | None:
    async with sessions() as session:
        return await _lead(session, lead_id, scope)


async def change_lead(sessions: Sessions, lead_id: int, scope: Scope | None,
                      change: LeadChange, now: datetime,
                      ) -> StoredLead | Stale | Missing | None:
    """Keep a checked change of the lead (None: not in `scope` or unknown). Becoming a
    project creates the project in the same transaction, its "before" the enterprise's
    latest submission."""
    async with sessions() as session:
        current = await _lead(session, lead_id, scope)
        if current is None:
            return None
        if current.version != change.version:
            return Stale(current)
        values: dict[str, Any] = {"version": Lead.version + 1, "updated_at": now}
        if change.status is not None:
            values["status"] = change.status
        if change.reason is not None:
            values["closed_reason"] = change.reason
        kept = await session.execute(update(Lead).where(
            Lead.id == lead_id, Lead.version == change.version).values(**values))
        if kept.rowcount != 1:  # type: ignore[attr-defined]  # changed since it was read
            await session.rollback()
            fresh = await _lead(session, lead_id, scope)
            return None if fresh is None else Stale(fresh)
        if change.project is not None:
            enterprise_id = await session.scalar(
                select(Lead.enterprise_id).where(Lead.id == lead_id))
            before = await session.scalar(
                select(Submission.id).where(Submission.enterprise_id == enterprise_id)
                .order_by(Submission.submitted_at.desc(), Submission.id.desc()).limit(1))
            if before is None:  # a lead comes from a result; an archive edited by hand
                await session.rollback()
                return Missing("no_submission")
            p = change.project
            session.add(Project(
                lead_id=lead_id, enterprise_id=enterprise_id, solution_id=current.solution_id,
                scenes=list(p.scenes), planned_start=p.planned_start,
                planned_end=p.planned_end, actual_start=p.actual_start,
                actual_end=p.actual_end, investment=p.investment,
                before_submission_id=before, version=1, created_at=now, updated_at=now))
        await session.commit()
        changed = await _lead(session, lead_id, scope)
    assert changed is not None
    return changed


# --- projects --------------------------------------------------------------------------------


def _project_query(scope: Scope | None) -> Select[Any]:
    return (select(Project, *_ENTERPRISE, PoolSolution.title, PoolSolution.provider_id,
                   ServiceProvider.name.label("provider_name"),
                   Submission.level.label("before_level"),
                   Submission.scene_levels.label("before_scenes"))
            .join(Enterprise, Enterprise.id == Project.enterprise_id)
            .join(PoolSolution, PoolSolution.id == Project.solution_id)
            .join(ServiceProvider, ServiceProvider.id == PoolSolution.provider_id)
            .join(Submission, Submission.id == Project.before_submission_id)
            .where(in_scope(scope)))


def _beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING)


async def _afters(session: AsyncSession, projects: Sequence[Project],
                  ) -> dict[int, Assessed]:
    """Each finished project's re-assessment: the first submission of its enterprise on or
    after its actual end, by project id."""
    finished = [p for p in projects if p.actual_end is not None]
    if not finished:
        return {}
    by_enterprise: dict[int, list[Any]] = defaultdict(list)
    enterprise_ids = sorted({p.enterprise_id for p in finished})
    for start in range(0, len(enterprise_ids), EXPORT_BATCH):
        rows = await session.execute(
            select(Submission.id, Submission.enterprise_id, Submission.submitted_at,
                   Submission.level, Submission.scene_levels)
            .where(Submission.enterprise_id.in_(enterprise_ids[start:start + EXPORT_BATCH]))
            .order_by(Submission.submitted_at, Submission.id))
        for row in rows:
            by_enterprise[row.enterprise_id].append(row)
    afters: dict[int, Assessed] = {}
    for p in finished:
        assert p.actual_end is not None
        since = _beijing_midnight(p.actual_end)
        first = next((s for s in by_enterprise[p.enterprise_id]
                      if s.submitted_at >= since and s.id != p.before_submission_id), None)
        if first is not None:
            afters[p.id] = Assessed(first.id, first.level, _levels(first.scene_levels))
    return afters


def _levels(raw: Mapping[str, Any]) -> dict[str, int]:
    return {code: int(level) for code, level in raw.items()}


def _plan(p: Project) -> ProjectPlan:
    return ProjectPlan(tuple(p.scenes), p.planned_start, p.planned_end, p.actual_start,
                       p.actual_end, p.investment)


async def _projects(session: AsyncSession, query: Select[Any], scenes: Sequence[str],
                    ) -> list[StoredProject]:
    rows = (await session.execute(query)).all()
    afters = await _afters(session, [r.Project for r in rows])
    found = []
    for r in rows:
        p: Project = r.Project
        before = Assessed(p.before_submission_id, r.before_level, _levels(r.before_scenes))
        found.append(StoredProject(
            id=p.id, lead_id=p.lead_id, version=p.version, enterprise=_enterprise(r),
            solution_id=p.solution_id, solution_title=r.title, provider_id=r.provider_id,
            provider_name=r.provider_name, plan=_plan(p),
            outcome=outcome(before, afters.get(p.id), scenes), created_at=p.created_at,
            updated_at=p.updated_at))
    return found


async def project_list(sessions: Sessions, scope: Scope | None, scenes: Sequence[str], *,
                       offset: int, limit: int) -> tuple[list[StoredProject], int]:
    """A page of the area's projects, newest first, with what each changed."""
    query = _project_query(scope)
    async with sessions() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        found = await _projects(session, query.order_by(
            Project.created_at.desc(), Project.id.desc()).offset(offset).limit(limit), scenes)
    return found, int(total or 0)


async def project_get(sessions: Sessions, project_id: int, scope: Scope | None,
                      scenes: Sequence[str]) -> StoredProject | None:
    async with sessions() as session:
        found = await _projects(session, _project_query(scope).where(Project.id == project_id),
                                scenes)
    return found[0] if found else None


async def change_project(sessions: Sessions, project_id: int, scope: Scope | None,
                         plan: ProjectPlan, version: int, now: datetime,
                         scenes: Sequence[str]) -> StoredProject | Stale | None:
    """Keep a project's checked fields, made on `version` (None: not in scope or unknown)."""
    async with sessions() as session:
        found = await _projects(session, _project_query(scope).where(Project.id == project_id),
                                scenes)
        if not found:
            return None
        if found[0].version != version:
            return Stale(found[0])
        kept = await session.execute(update(Project).where(
            Project.id == project_id, Project.version == version).values(
                scenes=list(plan.scenes), planned_start=plan.planned_start,
                planned_end=plan.planned_end, actual_start=plan.actual_start,
                actual_end=plan.actual_end, investment=plan.investment,
                version=Project.version + 1, updated_at=now))
        if kept.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            fresh = await _projects(
                session, _project_query(scope).where(Project.id == project_id), scenes)
            return Stale(fresh[0]) if fresh else None
        await session.commit()
        changed = await _projects(
            session, _project_query(scope).where(Project.id == project_id), scenes)
    return changed[0]


# --- the whole of an area, for statistics and the export -------------------------------------


async def every_lead(sessions: Sessions, scope: Scope | None) -> list[StoredLead]:
    async with sessions() as session:
        rows = (await session.execute(
            _lead_query(scope).order_by(Lead.created_at, Lead.id))).all()
    return [_stored_lead(r) for r in rows]


async def every_project(sessions: Sessions, scope: Scope | None,
                        scenes: Sequence[str]) -> list[StoredProject]:
    async with sessions() as session:
        return await _projects(session, _project_query(scope).order_by(
            Project.created_at, Project.id), scenes)


@dataclass
class Tally:
    """Leads and projects of one group (a solution, provider, scene, city or industry)."""

    key: str
    name: str
    leads: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEAD_STATUSES, 0))
    projects: int = 0
    reassessed: int = 0  # projects ended and re-assessed since
    moved_up: int = 0  # of those, the enterprise's level went up
    investment: Decimal = Decimal("0.00")  # 万元, of the projects that give it

    @property
    def open(self) -> int:
        return sum(self.by_status[s] for s in OPEN_STATUSES)


@dataclass(frozen=True)
class LeadStatistics:
    total: Tally
    groups: Mapping[str, list[Tally]]  # by grouping: the tallies, the most leads first
    enterprises_with_projects: int
    enterprises_moved_up: int  # enterprises whose level went up after one of their projects


def lead_statistics(leads: Iterable[StoredLead], projects: Iterable[StoredProject], *,
                    scene_names: Mapping[str, str], industry_names: Mapping[str, str],
                    ) -> LeadStatistics:
    """Leads and projects counted by solution, provider, scene (what the solution lifts; for
    projects, the scenes targeted), city and industry section."""
    total = Tally("", "")
    groups: dict[str, dict[str, Tally]] = {g: {} for g in GROUPINGS}

    def tally(grouping: str, key: str, name: str) -> Tally:
        found = groups[grouping].get(key)
        if found is None:
            found = groups[grouping][key] = Tally(key, name)
        return found

    def keys_of(e: LeadEnterprise, solution: tuple[int, str], provider: tuple[int, str],
                scenes: Iterable[str]) -> list[Tally]:
        return [tally("solution", str(solution[0]), solution[1]),
                tally("provider", str(provider[0]), provider[1]),
                *(tally("scene", code, scene_names.get(code, code)) for code in scenes),
                tally("city", e.city, e.city),
                tally("industry", e.industry, industry_names.get(e.industry, e.industry))]

    for lead in leads:
        for t in (total, *keys_of(lead.enterprise, (lead.solution_id, lead.solution_title),
                                  (lead.provider_id, lead.provider_name),
                                  lead.solution_lifts)):
            t.leads += 1
            t.by_status[lead.status] += 1
    with_projects: set[str] = set()
    moved_up: set[str] = set()
    for project in projects:
        with_projects.add(project.enterprise.credit_code)
        if project.outcome.moved_up:
            moved_up.add(project.enterprise.credit_code)
        for t in (total, *keys_of(project.enterprise,
                                  (project.solution_id, project.solution_title),
                                  (project.provider_id, project.provider_name),
                                  project.plan.scenes)):
            t.projects += 1
            t.reassessed += project.outcome.after is not None
            t.moved_up += project.outcome.moved_up
            t.investment += project.plan.investment or 0
    ordered = {g: sorted(found.values(), key=lambda t: (-t.leads, -t.projects, t.key))
               for g, found in groups.items()}
    return LeadStatistics(total, ordered, len(with_projects), len(moved_up))
