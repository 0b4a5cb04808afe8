"""The province's solution pool in the database: providers (by credit code) and their solutions
(by provider and title), imported in batches; listed with filters, read, edited and retired for
the admin API; the live pool that matching is built from, and its version, which every change
raises in the same transaction so that a process keeping the pool in memory knows when to
reload it.

A retired solution keeps its row (the history of what was proposed refers to it) and is never
live again unless an admin brings it back; an import that names it again updates its fields
and leaves it retired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flows.pool_file import PoolRow
from flows.solutions import Deployment, Provider, Solution
from storage.db import Sessions, execute_alone, insert_for
from storage.models import PoolSolution, PoolVersion, ServiceProvider

BATCH = 500
_CHANGEABLE = ("title", "summary", "price", "free_trial", "deployment", "link")


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int
    retired: int  # of the updated, how many are retired (and stay retired)
    providers_added: int
    providers_updated: int


@dataclass(frozen=True)
class StoredSolution:
    id: int
    provider_id: int
    provider: Provider
    title: str
    summary: str
    lifts: dict[str, int]
    industries: tuple[str, ...]
    price: str
    free_trial: bool
    deployment: Deployment
    link: str | None
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime
    provider_contact_bound: bool = False  # the provider's WeChat contact is told of leads

    def solution(self) -> Solution:
        """What matching works on."""
        return Solution(id=self.id, title=self.title, summary=self.summary,
                        provider=self.provider, lifts=self.lifts, industries=self.industries,
                        price=self.price, free_trial=self.free_trial,
                        deployment=self.deployment, link=self.link,
                        retired=self.retired_at is not None)


@dataclass(frozen=True)
class SolutionFilter:
    """What the admin's list narrows to; None does not narrow. `city` and `industry` select
    the solutions that fit an enterprise there, as matching does: a provider without cities
    serves the whole province, a solution without industries fits any, a section's solution
    fits its divisions."""

    scene: str | None = None  # lifts this scene
    city: str | None = None
    industry: str | None = None  # a section ("C") or a division ("C13")
    provider_code: str | None = None
    provider_name: str | None = None  # part of the name
    text: str | None = None  # part of the title or summary
    retired: bool | None = None


class TitleTaken(ValueError):
    """The provider already has a solution of that title."""

    def __init__(self, solution_id: int | None) -> None:
        super().__init__(solution_id)
        self.solution_id = solution_id


def _provider(row: ServiceProvider) -> Provider:
    return Provider(credit_code=row.credit_code, name=row.name, cities=tuple(row.cities),
                    contact_name=row.contact_name, contact_mobile=row.contact_mobile,
                    leading=row.leading)


def _stored(row: PoolSolution, provider: ServiceProvider) -> StoredSolution:
    return StoredSolution(
        id=row.id, provider_id=row.provider_id, provider=_provider(provider), title=row.title,
        summary=row.summary, lifts={code: int(level) for code, level in row.lifts.items()},
        industries=tuple(row.industries), price=row.price, free_trial=row.free_trial,
        deployment=cast(Deployment, row.deployment), link=row.link, retired_at=row.retired_at,
        created_at=row.created_at, updated_at=row.updated_at,
        provider_contact_bound=provider.contact_person_id is not None)


async def _bump(session: AsyncSession) -> None:
    """Raise the pool's version, in the transaction of the change."""
    statement = insert_for(session)(PoolVersion).values(id=1, version=1)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[PoolVersion.id], set_={"version": PoolVersion.version + 1}))


async def pool_version(sessions: Sessions) -> int:
    """A number that grows with every change to the pool (one row read by its key)."""
    rows = await execute_alone(sessions, select(PoolVersion.version).where(PoolVersion.id == 1))
    return rows[0][0] if rows else 0


async def import_rows(sessions: Sessions, rows: Sequence[PoolRow], now: datetime) -> Imported:
    """Upsert the rows (already checked: one provider per credit code, no provider's title
    twice): providers by credit code, solutions by provider and title, in batches of one
    transaction each (a batch goes in whole or not at all). A provider's fields become the
    file's; a retired solution stays retired."""
    added = updated = retired = providers_added = providers_updated = 0
    counted: set[str] = set()  # providers counted in an earlier batch
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        providers = {r.provider.credit_code: r.provider for r in batch}
        async with sessions() as session:
            known = set(await session.scalars(select(ServiceProvider.credit_code).where(
                ServiceProvider.credit_code.in_(providers))))
            for code in providers.keys() - counted:
                if code in known:
                    providers_updated += 1
                else:
                    providers_added += 1
            counted.update(providers)
            insert = insert_for(session)
            statement = insert(ServiceProvider)
            await session.execute(statement.on_conflict_do_update(
                index_elements=[ServiceProvider.credit_code],
                set_={name: getattr(statement.excluded, name) for name in (
                    "name", "cities", "contact_name", "contact_mobile", "leading",
                    "updated_at")}),
                [{"credit_code": p.credit_code, "name": p.name, "cities": list(p.cities),
                  "contact_name": p.contact_name, "contact_mobile": p.contact_mobile,
                  "leading": p.leading, "created_at": now, "updated_at": now}
                 for p in providers.values()])
            ids = dict((await session.execute(
                select(ServiceProvider.credit_code, ServiceProvider.id).where(
                    ServiceProvider.credit_code.in_(providers)))).tuples().all())
            wanted = {(ids[r.provider.credit_code], r.title) for r in batch}
            existing = {(pid, title): retired_at for pid, title, retired_at in (
                await session.execute(select(
                    PoolSolution.provider_id, PoolSolution.title, PoolSolution.retired_at)
                    .where(PoolSolution.provider_id.in_(sorted(ids.values())),
                           PoolSolution.title.in_(sorted({r.title for r in batch}))))).tuples()
                if (pid, title) in wanted}
            statement = insert(PoolSolution)
            await session.execute(statement.on_conflict_do_update(
                index_elements=[PoolSolution.provider_id, PoolSolution.title],
                set_={name: getattr(statement.excluded, name) for name in (
                    "summary", "lifts", "industries", "price", "free_trial", "deployment",
                    "link", "updated_at")}),
                [{"provider_id": ids[r.provider.credit_code], "title": r.title,
                  "summary": r.summary, "lifts": dict(r.lifts), "industries": list(r.industries),
                  "price": r.price, "free_trial": r.free_trial, "deployment": r.deployment,
                  "link": r.link, "created_at": now, "updated_at": now} for r in batch])
            await _bump(session)
            await session.commit()
        updated += len(existing)
        added += len(batch) - len(existing)
        retired += sum(1 for at in existing.values() if at is not None)
    return Imported(added, updated, retired, providers_added, providers_updated)


def _joined() -> Select[tuple[PoolSolution, ServiceProvider]]:
    return select(PoolSolution, ServiceProvider).join(
        ServiceProvider, PoolSolution.provider_id == ServiceProvider.id)


async def live_solutions(sessions: Sessions) -> list[Solution]:
    """The solutions that may be proposed (not retired), with their providers, by id: what
    `flows.solutions.Pool.of` is built from."""
    async with sessions() as session:
        rows = await session.execute(_joined().where(PoolSolution.retired_at.is_(None))
                                     .order_by(PoolSolution.id))
        return [_stored(s, p).solution() for s, p in rows.tuples()]


async def get(sessions: Sessions, solution_id: int) -> StoredSolution | None:
    async with sessions() as session:
        found = (await session.execute(_joined().where(PoolSolution.id == solution_id))
                 ).tuples().one_or_none()
        return None if found is None else _stored(*found)


def _array_has(dialect: str, column: Any, value: str) -> ColumnElement[bool]:
    """The JSON list in `column` holds `value`."""
    if dialect == "postgresql":
        return sql_cast(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return select(literal(1)).select_from(items).where(items.c.value == value).exists()


def _has_key(dialect: str, column: Any, key: str) -> ColumnElement[bool]:
    """The JSON object in `column` has `key` (a scene code: letters and digits)."""
    if dialect == "postgresql":
        return sql_cast(column, JSONB).has_key(key)
    return func.json_type(column, f'$."{key}"').is_not(None)


def _conditions(dialect: str, f: SolutionFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if f.scene is not None:
        found.append(_has_key(dialect, PoolSolution.lifts, f.scene))
    if f.city is not None:
        found.append(or_(func.json_array_length(ServiceProvider.cities) == 0,
                         _array_has(dialect, ServiceProvider.cities, f.city)))
    if f.industry is not None:
        fitting = {f.industry, f.industry[0]}  # the division's section fits it too
        found.append(or_(func.json_array_length(PoolSolution.industries) == 0,
                         *(_array_has(dialect, PoolSolution.industries, code)
                           for code in sorted(fitting))))
    if f.provider_code is not None:
        found.append(ServiceProvider.credit_code == f.provider_code)
    if f.provider_name is not None:
        found.append(ServiceProvider.name.icontains(f.provider_name, autoescape=True))
    if f.text is not None:
        found.append(or_(PoolSolution.title.icontains(f.text, autoescape=True),
                         PoolSolution.summary.icontains(f.text, autoescape=True)))
    if f.retired is not None:
        found.append(PoolSolution.retired_at.is_not(None) if f.retired
                     else PoolSolution.retired_at.is_(None))
    return found


async def listing(sessions: Sessions, f: SolutionFilter, *, offset: int = 0,
                  limit: int = 50) -> tuple[list[StoredSolution], int]:
    """One page of the solutions `f` selects, by id, and how many it selects."""
    async with sessions() as session:
        where = _conditions(session.get_bind().dialect.name, f)
        total = await session.scalar(select(func.count()).select_from(PoolSolution).join(
            ServiceProvider, PoolSolution.provider_id == ServiceProvider.id).where(*where))
        rows = await session.execute(_joined().where(*where).order_by(PoolSolution.id)
                                     .offset(offset).limit(limit))
        return [_stored(s, p) for s, p in rows.tuples()], int(total or 0)


async def update_solution(sessions: Sessions, solution_id: int, changes: Mapping[str, Any],
                          now: datetime) -> StoredSolution | None:
    """Apply `changes` (checked by `flows.pool_fields.parse_changes`; `retired` false brings a
    retired solution back). None: no such solution. Raises TitleTaken when the provider has
    another solution of the new title. Nothing changed, nothing written."""
    async with sessions() as session:
        row = await session.get(PoolSolution, solution_id)
        if row is None:
            return None
        title = changes.get("title", row.title)
        if title != row.title:
            other = await session.scalar(select(PoolSolution.id).where(
                PoolSolution.provider_id == row.provider_id, PoolSolution.title == title))
            if other is not None:
                raise TitleTaken(other)
        values: dict[str, Any] = {name: changes[name] for name in _CHANGEABLE if name in changes}
        if "lifts" in changes:
            values["lifts"] = dict(changes["lifts"])
        if "industries" in changes:
            values["industries"] = list(changes["industries"])
        if "retired" in changes and changes["retired"] != (row.retired_at is not None):
            values["retired_at"] = now if changes["retired"] else None
        values = {name: value for name, value in values.items() if getattr(row, name) != value}
        if values:
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            await _bump(session)
            try:
                await session.commit()
            except IntegrityError:  # the title taken meanwhile by another admin's change
                raise TitleTaken(None) from None
    return await get(sessions, solution_id)


async def retire(sessions: Sessions, solution_id: int, now: datetime) -> StoredSolution | None:
    """Retire a solution: never live again, kept with its row. Idempotent: retiring it again
    keeps the first time. None: no such solution."""
    async with sessions() as session:
        result = await session.execute(
            update(PoolSolution)
            .where(PoolSolution.id == solution_id, PoolSolution.retired_at.is_(None))
            .values(retired_at=now, updated_at=now))
        if result.rowcount:  # type: ignore[attr-defined]
            await _bump(session)
        await session.commit()
    return await get(sessions, solution_id)
