"""The enterprise archive (一企一档): record submitted assessments, reuse profiles, read results.

Every function takes the sessionmaker and runs its own transaction; results are frozen dataclasses,
never ORM objects. Database errors propagate unchanged: the shell turns them into "try again".
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Sessions, dialect_of, execute_alone, insert_of
from storage.models import DraftActivity, Enterprise, Person, Submission, utcnow

DIMENSIONS = ("foundation", "management", "effectiveness")
# Only official-account users can message the account, so one we hear from is subscribed.
_CHANNELS_IMPLYING_SUBSCRIPTION = frozenset({"oa"})
_T = TypeVar("_T")


@dataclass(frozen=True)
class Profile:
    """The enterprise profile asked in the chat before the questions."""

    name: str
    credit_code: str  # 统一社会信用代码, 18 characters, already validated
    city: str
    county: str
    industry: str  # GB/T 4754 section code, e.g. "C"
    industry_division: str | None = None  # e.g. "C13"
    employees: int | None = None


@dataclass(frozen=True)
class SubmissionRecord:
    """Everything one submission stores. `result` is `flows.results.assessment_data` output."""

    draft_id: str  # idempotency key: recording the same draft twice stores it once
    person_id: str  # `person_key(channel, openid)`
    channel: str
    indicator_set: str
    profile: Profile
    answers: dict[str, Any]  # code -> "C" | ["B", "D"] | scene level
    figures: dict[str, Decimal]
    total: Decimal
    dimensions: dict[str, Decimal]  # exactly the keys of DIMENSIONS
    level: int
    level_name: str
    scene_levels: dict[str, int]
    result: dict[str, Any]
    started_at: datetime | None
    submitted_at: datetime
    # Whose draft it was across channels ("u:<unionid>"); None: the submitting person's own.
    subject_id: str | None = None

    @property
    def subject(self) -> str:
        return self.subject_id or self.person_id


@dataclass(frozen=True)
class StoredResult:
    """A submission as the history shows it. `enterprise_name` is the name as submitted."""

    submission_id: int
    credit_code: str
    enterprise_name: str
    indicator_set: str
    total: Decimal
    dimensions: dict[str, Decimal]
    level: int
    level_name: str
    result: dict[str, Any]  # as recorded; non-integral numbers come back as Decimal
    submitted_at: datetime


def person_key(channel: str, openid: str) -> str:
    """Our key for a WeChat user: openids are per app, so the channel is part of it."""
    return f"{channel}:{openid}"


# --- writing ---------------------------------------------------------------------------------


async def record_submission(sessions: Sessions, record: SubmissionRecord) -> StoredResult:
    """Store `record` in one transaction and return it as stored.

    Upserts the enterprise by credit code (its profile becomes the submitted one), inserts the
    submission and links the person to the enterprise (creating the person if new). A draft
    that is already stored — also by a concurrent call — is returned as it was stored first.
    """
    draft_id = record.draft_id

    async def stored(session: AsyncSession, _enterprise_id: int) -> StoredResult:
        found = await _stored_by_draft(session, draft_id)
        assert found is not None  # written in this transaction, or by the one that won
        return found

    return await _record(sessions, record, stored)


async def record_with_history(sessions: Sessions, record: SubmissionRecord, *,
                              limit: int = 2) -> tuple[StoredResult, ...]:
    """`record_submission`, returning the enterprise's newest `limit` results once it is stored
    (as `latest_results` by its credit code would), read in the same transaction."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")

    async def history(session: AsyncSession, enterprise_id: int) -> tuple[StoredResult, ...]:
        query = (_stored_query().where(Submission.enterprise_id == enterprise_id)
                 .order_by(Submission.submitted_at.desc(), Submission.id.desc()).limit(limit))
        return tuple(_stored(row) for row in await session.execute(query))

    return await _record(sessions, record, history)


async def _record(sessions: Sessions, record: SubmissionRecord,
                     read: Callable[[AsyncSession, int], Awaitable[_T]]) -> _T:
    """Write `record` and `read` what the caller returns, in one session: the read runs in the
    write's transaction (before its commit), or after a lost race in a new one."""
    if set(record.dimensions) != set(DIMENSIONS):
        raise ValueError(
            f"dimensions must be {', '.join(DIMENSIONS)}, got {', '.join(record.dimensions)}")
    openid = _openid(record.person_id, record.channel)
    statements = _writes(dialect_of(sessions))
    async with sessions() as session:
        now = utcnow()
        try:
            enterprise_id = (await session.execute(
                statements.enterprise, _enterprise_values(record.profile, now))).scalar_one()
            await session.execute(statements.submission, _submission_values(record,
                                                                            enterprise_id))
            await session.execute(statements.person, {
                "id": record.person_id, "channel": record.channel, "openid": openid,
                "subscribed": record.channel in _CHANNELS_IMPLYING_SUBSCRIPTION,
                "enterprise_id": enterprise_id, "created_at": now})
            # The draft is no longer in progress (storage.activity's rows).
            await session.execute(statements.activity_done, {"draft_id": record.draft_id})
            # Read back rather than echo `record`: the caller sees exactly what later reads
            # return. Committed before anyone is told.
            found = await read(session, enterprise_id)
            await session.commit()
            return found
        except IntegrityError:
            # The draft is stored already (a retried or concurrent submit): draft_id is unique.
            await session.rollback()
            first = (await session.execute(select(Submission.enterprise_id).where(
                Submission.draft_id == record.draft_id))).scalar_one_or_none()
            if first is None:
                raise
            return await read(session, first)


@dataclass(frozen=True)
class _Writes:
    enterprise: Any
    submission: Any
    person: Any
    activity_done: Any


_ENTERPRISE_FIELDS = ("name", "city", "county", "industry", "industry_division", "employees")


@functools.cache
def _writes(dialect: str) -> _Writes:
    """A submission's statements, built once per dialect (Core, on the tables: a statement built
    on every call is compiled on every call, and the ORM's unit of work is not needed here)."""
    insert = insert_of(dialect)
    enterprises = cast(Table, Enterprise.__table__)
    enterprise = insert(enterprises)
    # The submitted profile is the latest truth: every field is overwritten, None included.
    enterprise = enterprise.on_conflict_do_update(
        index_elements=[enterprises.c.credit_code],
        set_={name: enterprise.excluded[name] for name in (*_ENTERPRISE_FIELDS, "updated_at")},
    ).returning(enterprises.c.id)
    people = cast(Table, Person.__table__)
    person = insert(people)
    person = person.on_conflict_do_update(
        index_elements=[people.c.id], set_={"enterprise_id": person.excluded.enterprise_id})
    activity = cast(Table, DraftActivity.__table__)
    return _Writes(
        enterprise=enterprise,
        submission=insert(cast(Table, Submission.__table__)),
        person=person,
        activity_done=delete(activity).where(activity.c.draft_id == bindparam("draft_id")),
    )


async def set_subscribed(
    sessions: Sessions,
    person_id: str,
    channel: str,
    openid: str,
    subscribed: bool,
    at: datetime,
    *,
    unionid: str | None = None,
) -> None:
    """Record a subscribe (`subscribed=True`) or unsubscribe event at `at`, creating the person."""
    _check_person(person_id, channel, openid)
    stamp = "subscribed_at" if subscribed else "unsubscribed_at"
    changes: dict[str, Any] = {"subscribed": subscribed, stamp: at}
    if unionid is not None:
        changes["unionid"] = unionid
    await _upsert_person(sessions, person_id, channel, openid, subscribed=subscribed,
                         changes=changes)


async def touch_person(
    sessions: Sessions,
    person_id: str,
    channel: str,
    openid: str,
    at: datetime,
    *,
    unionid: str | None = None,
) -> None:
    """Note that the person sent a message at `at`, creating the person if new."""
    _check_person(person_id, channel, openid)
    changes: dict[str, Any] = {"last_message_at": at}
    if unionid is not None:
        changes["unionid"] = unionid
    await _upsert_person(sessions, person_id, channel, openid,
                         subscribed=channel in _CHANNELS_IMPLYING_SUBSCRIPTION, changes=changes)


# --- reading ---------------------------------------------------------------------------------


async def enterprise_profile(sessions: Sessions, credit_code: str) -> Profile | None:
    """The archived profile for `credit_code`, or None when the enterprise has no archive yet."""
    rows = await execute_alone(sessions, _profile_query(), {"credit_code": credit_code})
    return Profile(credit_code=credit_code, **rows[0]._asdict()) if rows else None


@functools.cache
def _profile_query() -> Select[Any]:
    # Columns, not the ORM entity: nothing here needs an identity map.
    return select(*(getattr(Enterprise, name) for name in _ENTERPRISE_FIELDS)).where(
        Enterprise.credit_code == bindparam("credit_code"))


async def latest_results(
    sessions: Sessions,
    *,
    person_id: str | None = None,
    subject_id: str | None = None,
    credit_code: str | None = None,
    limit: int = 2,
) -> list[StoredResult]:
    """The newest `limit` results of one enterprise, newest first.

    Give exactly one of `person_id` or `subject_id` (the enterprise that person, or whoever
    holds that cross-channel subject, last submitted for, so results of colleagues are
    included) or `credit_code`. Unknown person, subject or code: an empty list.
    """
    if sum(x is not None for x in (person_id, subject_id, credit_code)) != 1:
        raise ValueError("give exactly one of person_id, subject_id and credit_code")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    query = _stored_query()
    if person_id is not None or subject_id is not None:
        who = (Submission.person_id == person_id if person_id is not None
               else Submission.subject_id == subject_id)
        last_enterprise = (
            select(Submission.enterprise_id)
            .where(who)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(Submission.enterprise_id == last_enterprise)
    else:
        query = query.where(Enterprise.credit_code == credit_code)
    query = query.order_by(Submission.submitted_at.desc(), Submission.id.desc()).limit(limit)
    return [_stored(row) for row in await execute_alone(sessions, query)]


# --- helpers ---------------------------------------------------------------------------------




def _openid(person_id: str, channel: str) -> str:
    prefix = person_key(channel, "")
    if not person_id.startswith(prefix) or len(person_id) == len(prefix):
        raise ValueError(f"person id {person_id!r} is not of the form {prefix}<openid>")
    return person_id[len(prefix):]


def _check_person(person_id: str, channel: str, openid: str) -> None:
    if person_id != person_key(channel, openid):
        raise ValueError(f"person id {person_id!r} does not match {person_key(channel, openid)!r}")


def _enterprise_values(profile: Profile, now: datetime) -> dict[str, Any]:
    return {"credit_code": profile.credit_code, "created_at": now, "updated_at": now,
            **{name: getattr(profile, name) for name in _ENTERPRISE_FIELDS}}


async def _upsert_person(sessions: Sessions, person_id: str, channel: str, openid: str, *,
                         subscribed: bool, changes: dict[str, Any]) -> None:
    # `subscribed` is for a new row only; `changes` apply to both a new and an existing row.
    insert = insert_of(dialect_of(sessions))
    values = {"id": person_id, "channel": channel, "openid": openid,
              "subscribed": subscribed, "created_at": utcnow(), **changes}
    statement = insert(Person).values(**values)
    await execute_alone(sessions, statement.on_conflict_do_update(
        index_elements=[Person.id], set_=changes))


def _submission_values(record: SubmissionRecord, enterprise_id: int) -> dict[str, Any]:
    return {
        "draft_id": record.draft_id,
        "enterprise_id": enterprise_id,
        "person_id": record.person_id,
        "subject_id": record.subject,
        "channel": record.channel,
        "indicator_set": record.indicator_set,
        "answers": record.answers,
        # Text, not JSON numbers: figures may have more digits than a float carries.
        "figures": {name: format(value, "f") for name, value in record.figures.items()},
        "profile": asdict(record.profile),
        "total": record.total,
        **{name: record.dimensions[name] for name in DIMENSIONS},
        "level": record.level,
        "level_name": record.level_name,
        "scene_levels": record.scene_levels,
        "result": record.result,
        "started_at": record.started_at,
        "submitted_at": record.submitted_at,
    }


def _stored_query() -> Select[Any]:
    return select(
        Submission.id, Enterprise.credit_code, Submission.profile, Submission.indicator_set,
        Submission.total, Submission.foundation, Submission.management, Submission.effectiveness,
        Submission.level, Submission.level_name, Submission.result, Submission.submitted_at,
    ).join(Enterprise, Submission.enterprise_id == Enterprise.id)


async def _stored_by_draft(session: AsyncSession, draft_id: str) -> StoredResult | None:
    row = (await session.execute(
        _stored_query().where(Submission.draft_id == draft_id))).one_or_none()
    return None if row is None else _stored(row)


def _stored(row: Any) -> StoredResult:
    return StoredResult(
        submission_id=row.id,
        credit_code=row.credit_code,
        enterprise_name=row.profile["name"],
        indicator_set=row.indicator_set,
        total=row.total,
        dimensions={name: getattr(row, name) for name in DIMENSIONS},
        level=row.level,
        level_name=row.level_name,
        result=row.result,
        submitted_at=row.submitted_at,
    )
